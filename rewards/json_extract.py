"""Pull exactly one JSON value out of model text (fenced or bare, prose around it allowed).

Shared by `json_schema` and `tool_call`. Strict JSON only: a Python dict literal (single quotes, True/None)
is not JSON. Bounded work: the text is capped, nesting depth is measured by a linear scan before decoding
(a nesting bomb is refused in microseconds), and at most `MAX_TRIES` start positions are tried.
It does not repair JSON.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["extract_json", "JsonExtractError", "max_depth"]

MAX_CHARS = 200_000
MAX_TRIES = 200
_FENCE = re.compile(r"```(?:json|JSON)?[ \t]*\n(.*?)```", re.S)
_DECODER = json.JSONDecoder()


class JsonExtractError(ValueError):
    """Why no single JSON value was found; `reason` is a short code for Score.info."""

    def __init__(self, reason: str, detail: str = "") -> None:
        self.reason, self.detail = reason, detail
        super().__init__(f"{reason}: {detail}" if detail else reason)


def max_depth(text: str) -> int:
    """Bracket nesting depth outside JSON strings (linear scan)."""
    depth = best = 0
    in_str = esc = False
    for c in text:
        if in_str:
            if esc:
                esc = False
            elif c == "\\":
                esc = True
            elif c == '"':
                in_str = False
        elif c == '"':
            in_str = True
        elif c in "[{":
            depth += 1
            best = max(best, depth)
        elif c in "]}":
            depth -= 1
    return best


def _values(text: str) -> list[tuple[Any, int, int]]:
    """Decodable JSON objects/arrays found left to right, non-overlapping: (value, start, end)."""
    found, pos, tries = [], 0, 0
    while tries < MAX_TRIES:
        starts = [i for i in (text.find("{", pos), text.find("[", pos)) if i >= 0]
        if not starts:
            break
        i = min(starts)
        tries += 1
        try:
            value, end = _DECODER.raw_decode(text, i)
        except (ValueError, RecursionError):
            pos = i + 1
            continue
        found.append((value, i, end))
        pos = end
    return found


def extract_json(text: str, max_nesting: int = 64) -> Any:
    """The one JSON value in `text`, or JsonExtractError(reason) with reason in
    {"too_long", "too_deep", "no_json", "several_values", "invalid_json"}.

    >>> extract_json('Here you go: {"a": [1, 2]} hope it helps')
    {'a': [1, 2]}
    """
    if len(text) > MAX_CHARS:
        raise JsonExtractError("too_long", f"{len(text)} chars > {MAX_CHARS}")
    fences = _FENCE.findall(text)
    if len(fences) > 1:
        raise JsonExtractError("several_values", f"{len(fences)} fenced blocks")
    body = fences[0] if fences else text
    if max_depth(body) > max_nesting:
        raise JsonExtractError("too_deep", f"nesting deeper than {max_nesting}")
    stripped = body.strip()
    try:
        return json.loads(stripped)
    except (ValueError, RecursionError):
        pass
    values = _values(body)
    if not values:
        bad = "{" in body or "[" in body
        raise JsonExtractError("invalid_json" if bad else "no_json")
    if len(values) > 1:
        raise JsonExtractError("several_values", f"{len(values)} top-level JSON values")
    value, start, end = values[0]
    if fences and (body[:start].strip() or body[end:].strip()):
        raise JsonExtractError("invalid_json", "extra text inside the fenced block")
    return value
