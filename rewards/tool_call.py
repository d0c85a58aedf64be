"""The `tool_call` verifier: did the completion make exactly the expected tool calls?

Parses Hermes/Qwen `<tool_call>{...}</tool_call>` blocks, else one bare or fenced JSON object/list (also
OpenAI's `{"type": "function", "function": {...}}` and a `{"tool_calls": [...]}` wrapper); `arguments` may be
an object or a JSON string, `parameters` is accepted as an alias. Each call must name a tool in the row's
`tools` (OpenAI function schemas) and its arguments must validate against that tool's parameters schema;
then predicted and expected calls (`answer`) must match as a multiset with type-aware equality (the string
"3" is not the integer 3; True is not 1). Extra, missing or duplicate calls score 0.
It does not execute tools or give partial credit.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import jsonschema

from .base import Score, Verifier
from .json_extract import JsonExtractError, extract_json
from .json_schema import validator_for
from .registry import register

__all__ = ["ToolCallVerifier", "parse_tool_calls", "same_value"]

_HERMES = re.compile(r"<tool_call>(.*?)(?:</tool_call>|$)", re.S)


class _Bad(ValueError):
    def __init__(self, reason: str, detail: str = "") -> None:
        self.reason, self.detail = reason, detail
        super().__init__(reason)


def _normalize_call(obj: Any) -> dict[str, Any]:
    if not isinstance(obj, Mapping):
        raise _Bad("malformed_call", f"a call must be an object, got {type(obj).__name__}")
    if obj.get("type") == "function" and isinstance(obj.get("function"), Mapping):
        obj = obj["function"]
    name = obj.get("name")
    if not isinstance(name, str):
        raise _Bad("malformed_call", "a call needs a string 'name'")
    args = obj.get("arguments", obj.get("parameters", {}))
    if isinstance(args, str):
        try:
            args = json.loads(args)
        except ValueError as exc:
            raise _Bad("malformed_arguments", f"{name}: arguments string is not JSON ({exc})") from None
    if not isinstance(args, Mapping):
        raise _Bad("malformed_arguments", f"{name}: arguments must be an object")
    return {"name": name, "arguments": dict(args)}


def _as_list(value: Any) -> list[Any]:
    if isinstance(value, Mapping) and isinstance(value.get("tool_calls"), list):
        return value["tool_calls"]
    return value if isinstance(value, list) else [value]


def parse_tool_calls(text: str) -> list[dict[str, Any]]:
    """[{"name", "arguments"}] from model text; raises ValueError (with `.reason`) when unparseable.

    >>> parse_tool_calls('<tool_call>{"name": "f", "arguments": "{\\\\"x\\\\": 1}"}</tool_call>')
    [{'name': 'f', 'arguments': {'x': 1}}]
    """
    blocks = _HERMES.findall(text)
    raw: list[Any] = []
    try:
        if blocks:
            for block in blocks:
                raw.extend(_as_list(extract_json(block)))
        else:
            raw = _as_list(extract_json(text))
    except JsonExtractError as exc:
        reason = "no_tool_call" if exc.reason == "no_json" else exc.reason
        raise _Bad(reason, exc.detail) from None
    return [_normalize_call(obj) for obj in raw]


def same_value(a: Any, b: Any) -> bool:
    """Type-aware JSON equality: bools only equal bools, numbers only numbers, strings only strings.

    >>> same_value(3, 3.0), same_value("3", 3), same_value(True, 1)
    (True, False, False)
    """
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(same_value(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


def _tool_schemas(tools: Any) -> dict[str, Any]:
    if isinstance(tools, str):
        tools = json.loads(tools)
    out = {}
    for tool in tools or []:
        fn = tool.get("function", tool) if isinstance(tool, Mapping) else {}
        if "name" not in fn:
            raise ValueError(f"a tool needs a name: {tool!r}")
        out[fn["name"]] = fn.get("parameters") or {"type": "object"}
    return out


def _unmatched(pred: list[dict], expected: list[dict]) -> tuple[list[dict], list[dict]]:
    """Multiset matching: (predicted calls left over, expected calls left over)."""
    left = list(expected)
    extra = []
    for call in pred:
        for j, want in enumerate(left):
            if call["name"] == want["name"] and same_value(call["arguments"], want["arguments"]):
                del left[j]
                break
        else:
            extra.append(call)
    return extra, left


@register("tool_call")
class ToolCallVerifier(Verifier):
    """Reward 1.0 when the predicted tool calls equal the expected ones (as a multiset), else 0.0.

    >>> tools = [{"type": "function", "function": {"name": "add", "parameters": {"type": "object",
    ...     "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}, "required": ["a", "b"]}}}]
    >>> v = ToolCallVerifier()
    >>> v.score('<tool_call>{"name": "add", "arguments": {"a": 1, "b": 2}}</tool_call>',
    ...         tools=tools, answer=[{"name": "add", "arguments": {"a": 1, "b": 2}}]).reward
    1.0
    """

    name = "tool_call"
    required_fields = ("tools", "answer")

    def score(self, completion: str, **row: Any) -> Score:
        schemas = _tool_schemas(row["tools"])
        expected = row["answer"]
        expected = [_normalize_call(c) for c in (json.loads(expected) if isinstance(expected, str) else expected)]
        try:
            pred = parse_tool_calls(completion) if (expected or "{" in completion) else []
        except _Bad as exc:
            if exc.reason == "no_tool_call" and not expected:
                return Score(1.0, {"reason": "no_call_expected"})
            return Score(0.0, {"reason": exc.reason, "detail": exc.detail})
        if not pred and not expected:
            return Score(1.0, {"reason": "no_call_expected"})
        for call in pred:
            if call["name"] not in schemas:
                return Score(0.0, {"reason": "unknown_tool", "detail": call["name"]})
            error = jsonschema.exceptions.best_match(validator_for(schemas[call["name"]]).iter_errors(call["arguments"]))
            if error is not None:
                return Score(0.0, {"reason": "invalid_arguments", "detail": f"{call['name']}: {error.message[:200]}"})
        extra, missing = _unmatched(pred, expected)
        if not extra and not missing:
            return Score(1.0, {"reason": "match", "calls": len(pred)})
        reason = "extra_call" if len(pred) > len(expected) else "missing_call" if len(pred) < len(expected) else "wrong_call"
        return Score(0.0, {"reason": reason, "unmatched": [c["name"] for c in extra + missing][:10]})
