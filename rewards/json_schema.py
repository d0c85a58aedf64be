"""The `json_schema` verifier: the completion's answer holds exactly one RFC 8259 JSON value, valid under the
row's `schema`.

No peer ships one. Which value is graded, and what may surround it, is the policy of
`json_extract.extract_json` (outside `<think>`; one bare value or one ```json fence, prose around it allowed
unless `allow_prose=False`; no second value, no broken JSON, stray bracket or glued comma beside it; no
NaN/Infinity, no duplicate keys). Validation uses `jsonschema` with the draft the schema declares (default
2020-12), with `pattern`/`patternProperties` given ECMA-262 semantics (`rewards.ecma_regex`).
`format` is asserted for date, email, ipv4, ipv6 and uuid only (J15).
It does not give partial credit for nearly-valid output.
"""

from __future__ import annotations

import functools
import json
import re
from decimal import Decimal
from fractions import Fraction
from typing import Any

import jsonschema

from .base import Score, Verifier
from .ecma_regex import to_python
from .json_extract import JsonExtractError, extract_json

__all__ = ["JsonSchemaVerifier", "validator_for", "ecma_schema"]

# Keywords whose value is data, not a schema: never rewritten.
_DATA = frozenset({"const", "enum", "default", "examples", "required", "type", "format", "title",
                   "description", "$comment", "$id", "$schema", "$ref", "$anchor", "$dynamicRef"})
# Keywords whose value maps names (not keywords) to schemas.
_SCHEMA_MAPS = frozenset({"properties", "$defs", "definitions", "dependentSchemas", "dependencies"})


def ecma_schema(schema: Any) -> Any:
    """A copy of `schema` whose `pattern` values and `patternProperties` keys are rewritten so that Python's
    `re.search` (what `jsonschema` runs) gives their ECMA-262 answer.

    >>> ecma_schema({"properties": {"pattern": {"pattern": "^a$"}}, "const": {"pattern": "$"}})
    {'properties': {'pattern': {'pattern': '(?a)^a\\\\Z'}}, 'const': {'pattern': '$'}}
    """
    if isinstance(schema, list):
        return [ecma_schema(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {}
    for key, value in schema.items():
        if key == "pattern" and isinstance(value, str):
            out[key] = to_python(value)
        elif key == "patternProperties" and isinstance(value, dict):
            out[key] = {to_python(p): ecma_schema(s) for p, s in value.items()}
        elif key in _SCHEMA_MAPS and isinstance(value, dict):
            out[key] = {name: ecma_schema(s) for name, s in value.items()}
        elif key in _DATA:
            out[key] = value
        else:
            out[key] = ecma_schema(value)
    return out


def _additional_properties(validator, aP, instance, schema):
    """jsonschema's `additionalProperties`, matching each `patternProperties` key on its own.

    jsonschema joins the keys with "|" into one regex; a translated key starts with a global "(?a)" flag,
    which Python refuses anywhere but at the start (and Python's scoped "(?a:...)" misreads \\W and \\D).
    """
    if not validator.is_type(instance, "object"):
        return
    properties, patterns = schema.get("properties", {}), list(schema.get("patternProperties", {}))
    extras = [k for k in instance if k not in properties and not any(re.search(p, k) for p in patterns)]
    if validator.is_type(aP, "object"):
        for extra in extras:
            yield from validator.descend(instance[extra], aP, path=extra)
    elif not aP and extras:
        yield jsonschema.ValidationError(f"additional properties are not allowed: {sorted(extras)[:5]!r}")


def _as_written(x: int | float) -> Fraction:
    """The decimal a JSON number was written as: a double's shortest repr gives back its literal (`0.07`)."""
    return Fraction(x) if isinstance(x, int) else Fraction(Decimal(repr(x)))


def _multiple_of(validator, dB, instance, schema):
    """`multipleOf` in exact decimal arithmetic, as JSON Schema defines it: jsonschema divides doubles, so
    19.99 is "not a multiple of" 0.01 (19.99 / 0.01 = 1998.9999999999998) and a correct price is refused.
    Non-finite numbers never reach the validator (J9)."""
    if not validator.is_type(instance, "number") or not validator.is_type(dB, "number") or dB <= 0:
        return
    if (_as_written(instance) / _as_written(dB)).denominator != 1:
        yield jsonschema.ValidationError(f"{instance!r} is not a multiple of {dB!r}")


@functools.cache
def _validator_class(cls):
    return jsonschema.validators.extend(cls, {"additionalProperties": _additional_properties,
                                              "multipleOf": _multiple_of})


@functools.lru_cache(maxsize=256)
def _cached_validator(schema_text: str):
    schema = ecma_schema(json.loads(schema_text))
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    cls.check_schema(schema)  # also compiles every (translated) pattern: bad regex -> SchemaError
    return _validator_class(cls)(schema, format_checker=_FORMATS)


# `format` is asserted where jsonschema checks it without extra packages and the same way in every draft
# (J15): a schema that asks for a date wants a date, and a policy paid for "2024-13-45" learns to emit junk.
# Others (date-time, uri, hostname, regex: Python's `re` is not ECMA-262) stay annotations.
_FORMATS = jsonschema.FormatChecker(formats=("date", "ipv4", "ipv6", "uuid"))
# jsonschema's own email check is only `"@" in value` (so "a@@b" and "@" pass): one `@` between a non-empty
# local part and a domain of non-empty dot-separated labels, no blank or RFC 5322 special outside them
_ADDR_ATOM = r"[^@\s\"(),:;<>\[\\\].]+"
_EMAIL = re.compile(rf"{_ADDR_ATOM}(?:\.{_ADDR_ATOM})*@{_ADDR_ATOM}(?:\.{_ADDR_ATOM})*")


@_FORMATS.checks("email")
@_FORMATS.checks("idn-email")
def _is_email(value: object) -> bool:
    return not isinstance(value, str) or _EMAIL.fullmatch(value) is not None


def validator_for(schema: Any):
    """A jsonschema validator for `schema` (a dict or its JSON text) with ECMA-262 patterns; SchemaError if
    the schema is bad. Cached by the schema's canonical text (rows usually share a few schemas)."""
    text = schema if isinstance(schema, str) else json.dumps(schema, sort_keys=True)
    return _cached_validator(text)


class JsonSchemaVerifier(Verifier):
    """Reward 1.0 for one JSON value that validates against `schema`, else 0.0.

    >>> v = JsonSchemaVerifier()
    >>> schema = {"type": "object", "required": ["age"], "properties": {"age": {"type": "integer"}}}
    >>> v.score('Sure: {"age": 7}', schema=schema).reward
    1.0
    >>> v.score("{'age': 7}", schema=schema).info["reason"]
    'invalid_json'
    >>> v.score('{"age": 7, "age": "x"}', schema=schema).info["reason"]
    'duplicate_key'
    """

    name = "json_schema"
    required_fields = ("schema",)

    def __init__(self, max_nesting: int = 64, allow_prose: bool = True) -> None:
        self.max_nesting = max_nesting
        self.allow_prose = allow_prose

    def score(self, completion: str, **row: Any) -> Score:
        validator = validator_for(row["schema"])
        try:
            value = extract_json(completion, self.max_nesting, self.allow_prose)
        except JsonExtractError as exc:
            return Score(0.0, {"reason": exc.reason, "detail": exc.detail})
        error = jsonschema.exceptions.best_match(validator.iter_errors(value))
        if error is not None:
            path = "/".join(str(p) for p in error.absolute_path)
            return Score(0.0, {"reason": "schema_violation", "detail": error.message[:300], "path": path})
        return Score(1.0, {"reason": "valid"})
