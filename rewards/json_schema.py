"""The `json_schema` verifier: the completion holds exactly one JSON value valid under the row's `schema`.

No peer ships one. Invalid JSON, a Python dict literal, two top-level values, or a nesting bomb score 0
with a reason naming which; validation uses `jsonschema` with the draft the schema declares (default 2020-12).
It does not give partial credit for nearly-valid output.
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema

from .base import Score, Verifier
from .json_extract import JsonExtractError, extract_json
from .registry import register

__all__ = ["JsonSchemaVerifier", "validator_for"]


def validator_for(schema: Any):
    """A jsonschema validator for `schema` (a dict or its JSON text); SchemaError if the schema is bad."""
    if isinstance(schema, str):
        schema = json.loads(schema)
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    cls.check_schema(schema)
    return cls(schema)


@register("json_schema")
class JsonSchemaVerifier(Verifier):
    """Reward 1.0 for one JSON value that validates against `schema`, else 0.0.

    >>> v = JsonSchemaVerifier()
    >>> schema = {"type": "object", "required": ["age"], "properties": {"age": {"type": "integer"}}}
    >>> v.score('Sure: {"age": 7}', schema=schema).reward
    1.0
    >>> v.score("{'age': 7}", schema=schema).info["reason"]
    'invalid_json'
    """

    name = "json_schema"
    required_fields = ("schema",)

    def __init__(self, max_nesting: int = 64) -> None:
        self.max_nesting = max_nesting

    def score(self, completion: str, **row: Any) -> Score:
        validator = validator_for(row["schema"])
        try:
            value = extract_json(completion, self.max_nesting)
        except JsonExtractError as exc:
            return Score(0.0, {"reason": exc.reason, "detail": exc.detail})
        error = jsonschema.exceptions.best_match(validator.iter_errors(value))
        if error is not None:
            path = "/".join(str(p) for p in error.absolute_path)
            return Score(0.0, {"reason": "schema_violation", "detail": error.message[:300], "path": path})
        return Score(1.0, {"reason": "valid"})
