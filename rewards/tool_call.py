"""The `tool_call` verifier: did the completion make exactly the expected tool calls, and nothing else?

Every call in the answer is seen (grading policy table in `rewards/README.md`, "tool_call"):
- The answer region is the text outside the leading think block (`json_extract.runtime_region`): drafts in
  reasoning are neither paid nor punished; a later think block is answer text, as a tool runtime reads it.
- Hermes/Qwen `<tool_call>...</tool_call>` blocks (a final block may lack its closing tag, as vLLM's Hermes
  parser allows): the block holds exactly one strict JSON value, a call or a non-empty list of calls, as a
  tool runtime's `json.loads` would need. An empty block, prose, a fence or garbage inside a block refuses.
- Everywhere else (prose, fences, between blocks) every top-level JSON span is looked at: a *call-shaped*
  object (keys `function`, `tool_calls`, `arguments` or `parameters`, or a `name` that is one of the row's
  tools) or a list holding one is a call; broken JSON that looks like a call (a quoted `"name":`,
  `"arguments":` ... key) refuses; any other JSON or bracket is prose (a `{` in prose never refuses a
  correct "no call"). A stray `}`/`]` right after a call refuses.
- A call is strict: keys `name` + `arguments` (or the alias `parameters`, not both unless equal), optional
  `id`/`call_id`/`type` ("function"); OpenAI's `{"type": "function", "function": {...}}` whose top-level
  `name`/`arguments`, if present, must agree; `{"tool_calls": [...]}` (optionally with `role`/`content`).
  Unknown keys (an `alternative`, a `note`) and duplicate keys anywhere refuse: a verifier and a runtime
  must never read different tool names. `arguments` may be an object or a JSON string of one.
Then each call must name a tool in the row's `tools` (OpenAI function schemas), its arguments must validate
against that tool's parameters schema (ECMA-262 patterns), and predicted and expected calls (`answer`)
must match as a multiset with type-aware equality (the string "3" is not the integer 3; True is not 1).
Extra, missing or duplicate calls score 0. It does not execute tools or give partial credit.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import jsonschema

from .base import Score, Verifier
from .json_extract import MAX_CHARS, JsonExtractError, loads_strict, runtime_region, scan
from .json_schema import validator_for

__all__ = ["ToolCallVerifier", "parse_tool_calls", "same_value"]

_BLOCK = re.compile(r"<tool_call>(.*?)(?:</tool_call>|$)", re.S)
_CALLISH = re.compile(r"""["'](?:name|arguments|parameters|function|tool_calls)["']\s*:""")
_CALL_KEYS = frozenset({"function", "tool_calls", "arguments", "parameters"})
_FLAT_KEYS = frozenset({"name", "arguments", "parameters", "type", "id", "call_id"})
_WRAP_KEYS = frozenset({"type", "function", "id", "call_id"})
_MESSAGE_KEYS = frozenset({"tool_calls", "role", "content"})


class _Bad(ValueError):
    def __init__(self, reason: str, detail: str = "") -> None:
        self.reason, self.detail = reason, detail
        super().__init__(reason)


def _loads(text: str) -> Any:
    try:
        return loads_strict(text)
    except JsonExtractError as exc:
        raise _Bad(exc.reason, exc.detail) from None


def _arguments(obj: Mapping[str, Any], name: str) -> dict[str, Any]:
    if "arguments" in obj and "parameters" in obj and not same_value(obj["arguments"], obj["parameters"]):
        raise _Bad("conflicting_call", f"{name}: 'arguments' and 'parameters' differ")
    args = obj.get("arguments", obj.get("parameters", {}))
    if isinstance(args, str):
        try:
            args = loads_strict(args)
        except JsonExtractError as exc:
            reason = exc.reason if exc.reason != "invalid_json" else "malformed_arguments"
            raise _Bad(reason, f"{name}: arguments string is not strict JSON ({exc.detail})") from None
    if not isinstance(args, Mapping):
        raise _Bad("malformed_arguments", f"{name}: arguments must be an object")
    return dict(args)


def _flat_call(obj: Mapping[str, Any], allowed: frozenset[str]) -> dict[str, Any]:
    unknown = sorted(set(obj) - allowed)
    if unknown:
        raise _Bad("unknown_key", f"a call may not carry {unknown[:5]}")
    if obj.get("type", "function") not in ("function", "function_call"):
        raise _Bad("malformed_call", f"call type {obj.get('type')!r}")
    name = obj.get("name")
    if not isinstance(name, str) or not name:
        raise _Bad("malformed_call", "a call needs a non-empty string 'name'")
    return {"name": name, "arguments": _arguments(obj, name)}


def _normalize_call(obj: Any) -> dict[str, Any]:
    """One strict call -> {"name", "arguments"}; _Bad on anything a runtime could read differently."""
    if not isinstance(obj, Mapping):
        raise _Bad("malformed_call", f"a call must be an object, got {type(obj).__name__}")
    for key in ("id", "call_id"):  # an id is a label, never a place to put another object (or a call)
        if key in obj and not isinstance(obj[key], str):
            raise _Bad("malformed_call", f"{key} must be a string, got {type(obj[key]).__name__}")
    if "function" not in obj:
        return _flat_call(obj, _FLAT_KEYS)
    if not isinstance(obj["function"], Mapping):
        raise _Bad("malformed_call", "'function' must be an object")
    if obj.get("type", "function") != "function":
        raise _Bad("malformed_call", f"wrapper type {obj.get('type')!r}")
    call = _flat_call(obj["function"], frozenset({"name", "arguments", "parameters"}))
    outer = set(obj) - _WRAP_KEYS
    if outer - {"name", "arguments", "parameters"}:
        raise _Bad("unknown_key", f"a call may not carry {sorted(outer)[:5]}")
    if "name" in outer and obj["name"] != call["name"]:
        raise _Bad("conflicting_call", f"wrapper names {obj['name']!r}, function names {call['name']!r}")
    if outer & {"arguments", "parameters"} and not same_value(_arguments(obj, call["name"]), call["arguments"]):
        raise _Bad("conflicting_call", f"{call['name']}: wrapper and function arguments differ")
    return call


def _calls_of(value: Any) -> list[dict[str, Any]]:
    """The calls in one decoded value: a call, a list of calls, or an assistant message with `tool_calls`."""
    if isinstance(value, list):
        return [_normalize_call(item) for item in value]
    if isinstance(value, Mapping) and "tool_calls" in value:
        unknown = sorted(set(value) - _MESSAGE_KEYS)
        if unknown or value.get("role", "assistant") != "assistant":
            raise _Bad("unknown_key", f"a tool_calls message may not carry {unknown[:5] or ['role']}")
        content = value.get("content")
        if not isinstance(value["tool_calls"], list) or not (content is None or isinstance(content, str)):
            raise _Bad("malformed_call", "'tool_calls' must be a list and 'content' a string or null")
        return [_normalize_call(c) for c in value["tool_calls"]] + _prose_calls(content or "", None)
    return [_normalize_call(value)]


def _call_shaped(value: Any, tool_names: frozenset[str] | None) -> bool:
    if isinstance(value, list):
        return any(_call_shaped(v, tool_names) for v in value)
    if not isinstance(value, Mapping):
        return False
    if _CALL_KEYS & set(value):
        return True
    name = value.get("name")
    return "name" in value and (tool_names is None or (isinstance(name, str) and name in tool_names))


def _prose_calls(text: str, tool_names: frozenset[str] | None) -> list[dict[str, Any]]:
    """Calls found in text outside `<tool_call>` blocks: every call-shaped JSON span (fenced or bare)."""
    calls: list[dict[str, Any]] = []
    try:
        spans = scan(text)
    except JsonExtractError as exc:  # a nesting bomb in prose
        raise _Bad(exc.reason, exc.detail) from None
    for k, span in enumerate(spans):
        body = text[span.start:span.end]
        if span.kind == "value" and _call_shaped(span.value, tool_names):
            calls.extend(_calls_of(span.value))
            later = spans[k + 1] if k + 1 < len(spans) else None
            if later is not None and later.kind == "stray" and not text[span.end:later.start].strip(" \t\r\n,"):
                raise _Bad("invalid_json", f"stray {text[later.start]!r} right after a call")
        elif span.kind in ("broken", "open") and _CALLISH.search(body):
            raise _Bad(span.reason or "invalid_json", span.detail or f"broken call: {body[:60]!r}")
    return calls


def parse_tool_calls(text: str, tool_names: Any = None) -> list[dict[str, Any]]:
    """[{"name", "arguments"}] from the answer region of model text; [] when it makes no call; raises
    ValueError (with `.reason`) on anything malformed. `tool_names` (the row's tools) lets a bare object whose
    only call key is `name` count as a call when it names a tool.

    >>> parse_tool_calls('<tool_call>{"name": "f", "arguments": "{\\\\"x\\\\": 1}"}</tool_call>')
    [{'name': 'f', 'arguments': {'x': 1}}]
    >>> parse_tool_calls('No call needed: {braces} and {"a": 1} are prose.')
    []
    """
    if len(text) > MAX_CHARS:
        raise _Bad("too_long", f"{len(text)} chars > {MAX_CHARS}")
    names = None if tool_names is None else frozenset(tool_names)
    region = runtime_region(text)
    calls, prose, pos = [], [], 0
    for m in _BLOCK.finditer(region):
        prose.append(region[pos:m.start()])
        pos = m.end()
        body = m.group(1)
        if not body.strip():
            raise _Bad("empty_tool_call", "an empty <tool_call> block")
        found = _calls_of(_loads(body))
        if not found:
            raise _Bad("empty_tool_call", "a <tool_call> block with no call")
        calls.extend(found)
    prose.append(region[pos:])
    for part in prose:
        if "</tool_call>" in part:
            raise _Bad("malformed_call", "a </tool_call> without its <tool_call>")
        calls.extend(_prose_calls(part, names))
    return calls


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


def _gold_call(obj: Any) -> dict[str, Any]:
    """An expected call from the dataset (trusted): name and arguments, other keys ignored."""
    if isinstance(obj, Mapping) and isinstance(obj.get("function"), Mapping):
        obj = obj["function"]
    args = obj.get("arguments", obj.get("parameters", {}))
    return {"name": obj["name"], "arguments": json.loads(args) if isinstance(args, str) else dict(args)}


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
        expected = [_gold_call(c) for c in (json.loads(expected) if isinstance(expected, str) else expected)]
        try:
            pred = parse_tool_calls(completion, schemas)
        except _Bad as exc:
            return Score(0.0, {"reason": exc.reason, "detail": exc.detail})
        if not pred:
            return Score(1.0, {"reason": "no_call_expected"}) if not expected else Score(0.0, {"reason": "no_tool_call"})
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
