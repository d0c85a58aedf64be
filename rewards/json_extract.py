"""Strict JSON out of model text: RFC 8259 values, the answer region outside `<think>`, and a bracket scan
that finds every JSON-looking span so that nothing hides beside the value that is graded.

Shared by `json_schema` and `tool_call`. What it guarantees:
- **Strict values** (`loads_strict`): RFC 8259 only. No NaN/Infinity, no number that overflows to infinity,
  no duplicate key anywhere (a verifier and a consumer must never read different values), no Python or
  JavaScript literals, no comments, no trailing commas.
- **The answer region** (`runtime_region`): the leading think block is reasoning, not the answer: from its
  `<think>` (or from the start, for chat templates that open it in the prompt) to the first `</think>`; an
  unclosed `<think>` makes everything after it reasoning. Everything else is the answer, a later think block
  included (a tool runtime reads all text after the first `</think>`). The removed block leaves a NUL in its
  place, so no JSON value can be stitched together across it.
- **Every span seen** (`scan`): one linear, string-aware pass lists each top-level `{...}`/`[...]` span as a
  decoded value, a broken span, an unclosed span, or a stray closing bracket. Callers decide what prose may
  hold; the decoder never keeps "the one object that decodes" out of broken text around it.
- **Exactly one value** (`extract_json`): the policy of the `json_schema` verifier, written out in
  `rewards/README.md` ("Grading policy").
- Bounded work: the text is capped at `MAX_CHARS`; nesting deeper than `max_nesting` is refused while
  scanning, before any decoder recurses.

It does not repair JSON, and it does not look inside strings for JSON (a value whose string holds `<think>`
is cut at that tag, a documented limit).
"""

from __future__ import annotations

import json
import math
import re
from decimal import Decimal
from typing import Any

__all__ = ["extract_json", "JsonExtractError", "max_depth", "loads_strict", "runtime_region", "scan", "Span",
           "json_fences", "MAX_CHARS"]

MAX_CHARS = 200_000
MAX_DECODES = 2_000  # JSON-looking spans decoded per text; more is refused (bounded work), never skipped
_JSON_TAGS = ("", "json", "JSON")
_FENCE_OPEN = re.compile(r"```[ \t]*([\w+.-]*)[ \t]*\r?\n")
_PROSE_STOP = re.compile(r"[\[\]{}]")
_STRAYS = re.compile(r"[\]}]+")
_OPENERS = re.compile(r"[\[{]+")
_SPAN_STOP = re.compile(r'["\[\]{}]')
_STRING_STOP = re.compile(r'["\\]')
# A broken span that looks like JSON rather than prose: a quoted key, or a bracket opening a JSON value.
_JSONISH = re.compile(r"""["'][^"'\n]{0,200}["']\s*:|^[\[{]\s*(?:["'{\[\d-]|true\b|false\b|null\b)""")
_GLUE_BEFORE = re.compile(r'(?:["\d\]}]|true|false|null)\s*,\s*$')
_CAN_START = re.compile(r'\{\s*["}]|\[\s*(?:["{\[\]\d-]|true|false|null|NaN|Infinity)')
_VALUE_START = re.compile(r'\s*(?:$|["{\[\d-]|true\b|false\b|null\b)')


class JsonExtractError(ValueError):
    """Why no single JSON value was found; `reason` is a short code for Score.info."""

    def __init__(self, reason: str, detail: str = "") -> None:
        self.reason, self.detail = reason, detail
        super().__init__(f"{reason}: {detail}" if detail else reason)


class _Refused(Exception):
    """Raised from inside the decoder's hooks (not a ValueError, so the decoder cannot swallow it)."""

    def __init__(self, reason: str, detail: str) -> None:
        self.reason, self.detail = reason, detail


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        dup = next(k for k, _ in pairs if k in seen or seen.add(k))
        raise _Refused("duplicate_key", f"key {dup[:80]!r} appears twice")
    return out


def _constant(name: str) -> Any:
    raise _Refused("non_finite_number", f"{name} is not JSON")


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Refused("non_finite_number", f"{text[:40]} overflows to infinity")
    if value.is_integer() and (exact := Decimal(text)) != exact.to_integral_value():
        # 3.0000000000000001 rounds to the integer 3.0: a schema's "integer" and an expected 3 would pass a
        # value the text does not hold (a consumer with exact decimals reads 3.0000000000000001)
        raise _Refused("inexact_number", f"{text[:40]} is not an integer, but a double rounds it to one")
    return value


def _surrogates_ok(value: Any) -> None:
    """A lone UTF-16 surrogate escape decodes to a str no UTF-8 consumer can encode (RFC 8259 8.2)."""
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, str):
            try:
                v.encode("utf-8")
            except UnicodeEncodeError:
                raise _Refused("invalid_json", "a lone surrogate escape") from None
        elif isinstance(v, dict):
            stack.extend(v)
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_STRICT = json.JSONDecoder(object_pairs_hook=_pairs, parse_constant=_constant, parse_float=_float)


def loads_strict(text: str) -> Any:
    """One RFC 8259 value spanning all of `text` (JSON whitespace around it allowed), else JsonExtractError
    with reason "duplicate_key", "non_finite_number" or "invalid_json".

    >>> loads_strict(' {"a": [1, 2.5, null]} ')
    {'a': [1, 2.5, None]}
    >>> loads_strict('{"a": 1, "a": 2}')
    Traceback (most recent call last):
    ...
    rewards.json_extract.JsonExtractError: duplicate_key: key 'a' appears twice
    """
    try:
        value = _STRICT.decode(text)
        if _SURROGATE_ESCAPE.search(text):
            _surrogates_ok(value)
        return value
    except _Refused as exc:
        raise JsonExtractError(exc.reason, exc.detail) from None
    except RecursionError:
        raise JsonExtractError("too_deep", "the decoder ran out of stack") from None
    except ValueError as exc:  # JSONDecodeError, and int() past its digit limit
        if "integer string conversion" in str(exc):  # RFC 8259 6 lets a parser limit numbers; Python's: 4300 digits
            raise JsonExtractError("too_long", "an integer of more than 4300 digits") from None
        raise JsonExtractError("invalid_json", str(exc)[:200]) from None


def runtime_region(text: str) -> str:
    """`text` as a tool runtime reads it (named apart from `final_text.answer_region`, which reads as a person
    does: every think block, comment and hidden span removed), without its reasoning: the first think block (from its `<think>`, or from the start when the
    template opened it in the prompt, to the first `</think>`) or an unclosed `<think>` and all after it.
    Text before the block stays (joined to the rest by a NUL, so no JSON value spans the gap), and so does a
    later think block: tool runtimes read everything after the first `</think>`, so the verifier must too.

    >>> runtime_region("<think>{draft}</think> final"), runtime_region("reasoning</think>final")
    (' final', 'final')
    >>> runtime_region("a<think>b</think>c<think>d</think>e"), runtime_region("final<think>unfinished")
    ('a\\x00c<think>d</think>e', 'final')
    """
    close = text.find("</think>")
    if close < 0:
        start = text.find("<think>")
        return text if start < 0 else text[:start]
    start = text.rfind("<think>", 0, close)
    head, tail = (text[:start] if start >= 0 else ""), text[close + len("</think>"):]
    return head + "\0" + tail if head.strip() else tail


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


class Span:
    """A top-level bracket span of a text: kind is "value" (decoded strictly), "broken" (balanced but not
    strict JSON; `reason` says why), "open" (never closed) or "stray" (a closing bracket with no opener)."""

    __slots__ = ("kind", "start", "end", "value", "reason", "detail")

    def __init__(self, kind: str, start: int, end: int, value: Any = None, reason: str = "",
                 detail: str = "") -> None:
        self.kind, self.start, self.end = kind, start, end
        self.value, self.reason, self.detail = value, reason, detail

    def jsonish(self, text: str) -> bool:
        """Does this broken or open span look like JSON (a quoted key, a JSON value after the bracket, or a
        bracket that opens at the very end: a second value cut off)?"""
        body = text[self.start:self.end]
        return self.kind == "stray" or self.reason in ("duplicate_key", "non_finite_number") \
            or (self.kind == "open" and not body[1:].strip()) or bool(_JSONISH.search(body))


def _close(text: str, i: int, max_nesting: int) -> int:
    """End (exclusive) of the span opened at text[i], or -1 when it never closes. String-aware."""
    depth, pos = 0, i
    while True:
        m = _SPAN_STOP.search(text, pos)
        if m is None:
            return -1
        c, pos = m.group(), m.end()
        if c == '"':
            while True:
                s = _STRING_STOP.search(text, pos)
                if s is None:
                    return -1
                pos = s.end() + (1 if s.group() == "\\" else 0)
                if s.group() == '"':
                    break
        elif c in "[{":  # a run of openers in one step ("{" * 50_000 of prose costs one match)
            run = _OPENERS.match(text, pos - 1).end()
            depth, pos = depth + run - (pos - 1), run
            if depth > max_nesting:
                raise JsonExtractError("too_deep", f"nesting deeper than {max_nesting}")
        else:  # a run of closers: the span ends at the one that brings the depth to 0
            run = _STRAYS.match(text, pos - 1).end()
            if run - (pos - 1) >= depth:
                return pos - 1 + depth
            depth, pos = depth - (run - (pos - 1)), run


def scan(text: str, max_nesting: int = 64, max_values: int = 0) -> list[Span]:
    """Every top-level bracket span of `text`, left to right (linear time); stops early once `max_values`
    (if > 0) values are found. More than `MAX_DECODES` JSON-looking spans raise "too_long".

    >>> [(s.kind, s.value) for s in scan('see {name} then {"a": 1} ]')]
    [('broken', None), ('value', {'a': 1}), ('stray', None)]
    """
    spans, pos, decodes, values = [], 0, 0, 0
    while (m := _PROSE_STOP.search(text, pos)) is not None and (not max_values or values < max_values):
        i = m.start()
        if m.group() in "]}":
            run = _STRAYS.match(text, i).end()  # a run of closers is one span
            spans.append(Span("stray", i, run))
            pos = run
            continue
        can_start = _CAN_START.match(text, i) is not None  # "{{{..": prose, however deep
        end = _close(text, i, max_nesting if can_start else len(text))
        if end < 0:
            spans.append(Span("open", i, len(text)))
            break
        if not can_start:  # "[a]", "{name}": prose, no need to run the decoder
            spans.append(Span("broken", i, end, reason="invalid_json"))
        else:
            decodes += 1
            if decodes > MAX_DECODES:
                raise JsonExtractError("too_long", f"more than {MAX_DECODES} JSON-looking spans")
            try:
                spans.append(Span("value", i, end, loads_strict(text[i:end])))
                values += 1
            except JsonExtractError as exc:
                spans.append(Span("broken", i, end, reason=exc.reason, detail=exc.detail))
        pos = end
    return spans


def _fence_close(text: str, body_start: int) -> int:
    """The ``` that closes a JSON fence: the first one before which the body is one JSON value (a string in
    the value may hold ```), else the first one; -1 when none. At most 8 are tried."""
    first = close = text.find("```", body_start)
    for _ in range(8):
        if close < 0:
            break
        if _is_json(text[body_start:close]):
            return close
        close = text.find("```", close + 3)
    return first


def json_fences(text: str) -> list[tuple[int, int, int, int]]:
    """Closed ``` fences tagged json/JSON, or untagged with a body that opens an object or array:
    (fence start, body start, body end, fence end). Other fences are prose."""
    out, pos = [], 0
    while (m := _FENCE_OPEN.search(text, pos)) is not None:
        tag, first = m.group(1), text[m.end():m.end() + 200].lstrip()[:1]
        is_json = tag in _JSON_TAGS and (tag or first in ("{", "["))
        close = _fence_close(text, m.end()) if is_json else text.find("```", m.end())
        if close < 0:
            break
        if is_json:
            out.append((m.start(), m.end(), close, close + 3))
        pos = close + 3
    return out


def _is_json(text: str) -> bool:
    """Is `text` one JSON value? (NaN and duplicate keys count: they are a second value too, only broken.)"""
    try:
        loads_strict(text)
    except JsonExtractError as exc:
        return exc.reason != "invalid_json"
    return True


def _check_prose(before: str, after: str, max_nesting: int) -> None:
    """Text around the one value may be prose, never JSON: no second value, no broken or unclosed JSON, no
    stray bracket, no comma or key that glues the value into a larger structure."""
    for part in (before, after):
        if part.strip() and _is_json(part):
            raise JsonExtractError("several_values", "a second JSON value beside the first")
        for span in scan(part, max_nesting):
            if span.kind == "value":
                raise JsonExtractError("several_values", "another JSON value beside the answer")
            if span.jsonish(part):
                raise JsonExtractError("invalid_json", f"{span.kind} JSON beside the value: "
                                       f"{part[span.start:span.start + 60]!r}")
    tail, head = after.lstrip(), before
    if (tail[:1] in (",", ":") and _VALUE_START.match(tail, 1)) or _GLUE_BEFORE.search(head):
        raise JsonExtractError("invalid_json", "the value is glued into a larger structure")


def extract_json(text: str, max_nesting: int = 64, allow_prose: bool = True) -> Any:
    """The one JSON value in the answer region of `text`, or JsonExtractError(reason) with reason in
    {"too_long", "too_deep", "no_json", "several_values", "invalid_json", "duplicate_key",
    "non_finite_number"}. See the grading policy in rewards/README.md.

    >>> extract_json('Here you go: {"a": [1, 2]} hope it helps')
    {'a': [1, 2]}
    >>> extract_json('{"a": 1}}')
    Traceback (most recent call last):
    ...
    rewards.json_extract.JsonExtractError: invalid_json: stray JSON beside the value: '}'
    """
    if len(text) > MAX_CHARS:
        raise JsonExtractError("too_long", f"{len(text)} chars > {MAX_CHARS}")
    region = runtime_region(text)
    if max_depth(region) > max_nesting:
        raise JsonExtractError("too_deep", f"nesting deeper than {max_nesting}")
    if not region.strip():
        raise JsonExtractError("no_json", "nothing outside <think>" if text.strip() else "empty completion")
    try:
        return loads_strict(region)
    except JsonExtractError as exc:
        if exc.reason != "invalid_json":
            raise
    fences = json_fences(region)
    if len(fences) > 1:
        raise JsonExtractError("several_values", f"{len(fences)} fenced blocks")
    if fences:
        start, body_start, body_end, end = fences[0]
        value = loads_strict(region[body_start:body_end])
    else:
        spans = scan(region, max_nesting, max_values=2)
        values = [s for s in spans if s.kind == "value"]
        if len(values) > 1:
            raise JsonExtractError("several_values", f"{len(values)} top-level JSON values")
        if not values:
            bad = [s for s in spans if s.kind != "value" and s.jsonish(region)]
            if bad and bad[0].reason in ("duplicate_key", "non_finite_number", "too_long"):
                raise JsonExtractError(bad[0].reason, bad[0].detail)
            raise JsonExtractError("invalid_json" if bad else "no_json", bad[0].detail if bad else "")
        start, end, value = values[0].start, values[0].end, values[0].value
    if not allow_prose and (region[:start].strip() or region[end:].strip()):
        raise JsonExtractError("invalid_json", "text around the JSON value (allow_prose=False)")
    _check_prose(region[:start], region[end:], max_nesting)
    return value
