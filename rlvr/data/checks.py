"""Cheap per-row checks for the built-in verifiers, run while the data is read (before any model starts).

`validate_rows` in `rlvr.data.prompts` only checks that a verifier's fields are present; a row whose `tests` is a
number, whose tool call names a tool it does not list, or whose schema is not a schema would otherwise
surface as a reward of 0 (or a worker error) deep inside a run. Each check here raises `RowError(field,
message)`; `rlvr.data.prompts.file_rows` adds the file, the line and the row's `id` to make one clear error.

What this module does NOT do: score anything, run code, or know plugin verifiers (their rows are only
checked for presence of their `required_fields`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = ["RowError", "row_checker"]


class RowError(ValueError):
    """A row's field is malformed; `field` names it."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"field {field!r}: {message}")


def _json_field(row: Mapping, name: str) -> Any:
    """The field's value; JSON text is accepted where the verifiers accept it (schema, tools, answer)."""
    value = row.get(name)
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError as exc:
            raise RowError(name, f"is a string but not JSON ({exc})") from None
    return value


def _schema_error(schema: Any) -> str | None:
    from rewards.json_schema import validator_for

    if not isinstance(schema, Mapping | bool):
        return f"must be a JSON Schema object, got {type(schema).__name__}"
    try:
        validator_for(schema)
    except Exception as exc:  # SchemaError, unknown $schema, unresolvable shapes
        return f"is not a valid JSON Schema: {str(exc).splitlines()[0][:200]}"
    return None


def check_code(row: Mapping) -> None:
    tests = row.get("tests")
    if isinstance(tests, str):
        if not tests.strip():
            raise RowError("tests", "is an empty string")
    elif not (isinstance(tests, list) and tests and all(isinstance(t, str) and t.strip() for t in tests)):
        raise RowError("tests", "must be test code (a string) or a non-empty list of assert strings")
    for i, source in enumerate([tests] if isinstance(tests, str) else tests):
        try:
            compile(source, "<tests>", "exec")
        except (SyntaxError, ValueError) as exc:  # ValueError: a NUL byte
            at = f"line {exc.lineno}" if isinstance(exc, SyntaxError) and exc.lineno else "its text"
            which = "" if isinstance(tests, str) else f" (assert {i})"
            msg = exc.msg if isinstance(exc, SyntaxError) else str(exc)
            raise RowError("tests", f"does not compile{which}: {at}: {msg}") from None
    entry = row.get("entry_point")
    if entry is not None and not (isinstance(entry, str) and entry.isidentifier()):
        raise RowError("entry_point", f"must be a Python identifier, got {entry!r}")


def _tool_params(row: Mapping) -> dict[str, Any]:
    tools = _json_field(row, "tools")
    if not isinstance(tools, list):
        raise RowError("tools", "must be a list of function specs")
    params = {}
    for i, tool in enumerate(tools):
        fn = tool.get("function", tool) if isinstance(tool, Mapping) else None
        if not isinstance(fn, Mapping) or not isinstance(fn.get("name"), str):
            raise RowError("tools", f"tool {i} needs a string 'name'")
        schema = fn.get("parameters") or {"type": "object"}
        problem = _schema_error(schema)
        if problem:
            raise RowError("tools", f"tool {fn['name']!r}: parameters {problem}")
        params[fn["name"]] = schema
    return params


def check_tool_call(row: Mapping) -> None:
    from rewards.json_schema import validator_for

    params = _tool_params(row)
    answer = _json_field(row, "answer")
    if not isinstance(answer, list):
        raise RowError("answer", "must be a list of expected calls ([] when no call is right)")
    for i, call in enumerate(answer):
        if not (isinstance(call, Mapping) and isinstance(call.get("name"), str)
                and isinstance(call.get("arguments"), Mapping)):
            raise RowError("answer", f"call {i} must be {{'name': str, 'arguments': object}}")
        if call["name"] not in params:
            raise RowError("answer", f"call {i} names {call['name']!r}, which is not in tools")
        error = next(iter(validator_for(params[call["name"]]).iter_errors(call["arguments"])), None)
        if error is not None:
            raise RowError("answer", f"call {i} ({call['name']}) breaks its tool's schema: {error.message[:200]}")


def check_json_schema(row: Mapping) -> None:
    schema = _json_field(row, "schema")
    problem = _schema_error(schema)
    if problem:
        raise RowError("schema", problem)
    if "example" in row:
        from rewards.json_schema import validator_for

        error = next(iter(validator_for(schema).iter_errors(row["example"])), None)
        if error is not None:
            raise RowError("example", f"does not validate against the schema: {error.message[:200]}")


def check_math(row: Mapping) -> None:
    answer = row.get("answer")
    if isinstance(answer, bool) or not isinstance(answer, str | int | float) or not str(answer).strip():
        raise RowError("answer", f"must be a non-empty string or number, got {answer!r}")


CHECKS: dict[str, Callable[[Mapping], None]] = {
    "code": check_code, "tool_call": check_tool_call, "json_schema": check_json_schema, "math": check_math,
}


def row_checker(verifier_names: Iterable[str]) -> Callable[[Mapping], None]:
    """One function running the checks of every named verifier that has one (others are skipped)."""
    checks = [CHECKS[name] for name in dict.fromkeys(verifier_names) if name in CHECKS]

    def check(row: Mapping) -> None:
        for fn in checks:
            fn(row)

    return check
