"""BFCL (Berkeley Function Calling Leaderboard, `bfcl-eval` wheel) -> `tool_call` rows.

BFCL lists, per argument, every value it accepts (`"unit": ["units", ""]`: "units", or left out); the
`tool_call` verifier compares one expected call set exactly. A row is shipped only when every answer BFCL
accepts is one call set (so "every possible answer scores 1" holds with today's verifier); the others are
counted as `several_answers`. Each row keeps BFCL's own alternatives as `answer_allowed`
([{"name", "arguments": {arg: [allowed values]}}], "" meaning "may be left out") for a verifier that learns
BFCL's matching. BFCL's `"type": "dict"` is JSON Schema "object" (also float -> number, tuple -> array,
any -> no type).

What this module does NOT do: import `bfcl_eval` (its checker pulls every vendor SDK), or read the live,
multi-turn, memory and web-search splits (they need history, state or the network).
"""

from __future__ import annotations

import itertools
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["SPLITS", "bfcl_rows", "expand_allowed", "to_json_schema"]

SPLITS = ("simple_python", "multiple", "parallel", "parallel_multiple", "irrelevance")
_TYPES = {"dict": "object", "float": "number", "tuple": "array"}
MAX_ANSWERS = 256  # call sets enumerated per row before it counts as too many to check


def to_json_schema(schema: Any) -> Any:
    """BFCL's parameter schema as JSON Schema (recursively; descriptions and the rest kept)."""
    if isinstance(schema, list):
        return [to_json_schema(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {}
    for key, value in schema.items():
        if key == "type" and isinstance(value, str):
            if value == "any":
                continue
            out[key] = _TYPES.get(value, value)
        elif key == "properties" and isinstance(value, dict):
            out[key] = {name: to_json_schema(sub) for name, sub in value.items()}
        else:
            out[key] = to_json_schema(value) if key in ("items", "additionalProperties") else value
    return out


_OMIT = object()


def _value_options(value: Any) -> list[Any]:
    """The concrete values one allowed BFCL value stands for (a dict's keys carry allowed lists too)."""
    if isinstance(value, dict):
        keys = list(value)
        per_key = [[_OMIT if v == "" else v for alt in value[k] for v in _value_options(alt)]
                   if isinstance(value[k], list) else [value[k]] for k in keys]
        return [{k: v for k, v in zip(keys, combo, strict=True) if v is not _OMIT}
                for combo in itertools.product(*per_key)]
    if isinstance(value, list) and value and all(isinstance(x, dict) for x in value):
        return [list(combo) for combo in itertools.product(*(_value_options(x) for x in value))]
    return [value]


def _call_options(call: dict) -> Iterator[dict]:
    args = call["arguments"]
    names = list(args)
    per_arg = [[_OMIT if alt == "" else v for alt in args[n] for v in ([alt] if alt == "" else _value_options(alt))]
               for n in names]
    for combo in itertools.product(*per_arg):
        yield {"name": call["name"],
               "arguments": {n: v for n, v in zip(names, combo, strict=True) if v is not _OMIT}}


def expand_allowed(allowed: list[dict], limit: int = MAX_ANSWERS) -> list[list[dict]]:
    """Every call set `allowed` accepts (up to `limit + 1`, so a caller can tell "too many").

    >>> expand_allowed([{"name": "f", "arguments": {"x": [1], "u": ["cm", ""]}}])
    [[{'name': 'f', 'arguments': {'x': 1, 'u': 'cm'}}], [{'name': 'f', 'arguments': {'x': 1}}]]
    """
    return list(itertools.islice((list(c) for c in itertools.product(*map(_call_options, allowed))), limit + 1))


def _tools(functions: list[dict]) -> list[dict]:
    return [{"type": "function", "function": {"name": f["name"], "description": f.get("description", ""),
                                              "parameters": to_json_schema(f["parameters"])}}
            for f in functions]


def _read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def bfcl_rows(data_dir: str | Path, split: str, check_row=None) -> tuple[list[dict], Counter]:
    """(rows, excluded-by-reason) for one BFCL split; `check_row(row)` raises ValueError to exclude a row.

    `data_dir` is `bfcl_eval/data` from the wheel. A row: id, category, question (the user's request with
    the tools spelled out), tools (OpenAI function specs), answer (the one expected call set; [] for
    irrelevance), answer_allowed (BFCL's alternatives).
    """
    if split not in SPLITS:
        raise ValueError(f"BFCL split {split!r} is not supported (multi-turn/live/network); use one of {SPLITS}")
    data_dir = Path(data_dir)
    items = _read(data_dir / f"BFCL_v4_{split}.json")
    answers = {} if split == "irrelevance" else {
        a["id"]: a["ground_truth"] for a in _read(data_dir / "possible_answer" / f"BFCL_v4_{split}.json")}
    rows, excluded = [], Counter()
    for item in items:
        turns = item["question"]
        if len(turns) != 1 or len(turns[0]) != 1 or turns[0][0]["role"] != "user":
            excluded["not_one_user_turn"] += 1
            continue
        tools = _tools(item["function"])
        allowed = [{"name": name, "arguments": args} for call in answers.get(item["id"], []) for name, args in call.items()]
        options = expand_allowed(allowed)
        if len(options) != 1:
            excluded["several_answers" if len(options) <= MAX_ANSWERS else "too_many_answers"] += 1
            continue
        request = turns[0][0]["content"]
        row = {"id": item["id"], "category": split,
               "question": f"{request}\nAvailable tools: {json.dumps(tools, ensure_ascii=False)}",
               "tools": tools, "answer": options[0], "answer_allowed": allowed}
        if check_row is not None:
            try:
                check_row(row)
            except ValueError as exc:
                excluded[f"invalid: {str(exc)[:60]}"] += 1
                continue
        rows.append(row)
    return rows, excluded
