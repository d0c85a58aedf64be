"""Per-verifier row checks: each malformed field is one RowError naming it; fuzzed rows never crash them."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rlvr.data.checks import RowError, row_checker

TOOLS = [{"type": "function", "function": {"name": "add", "parameters": {
    "type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}}}]
GOOD = {
    "code": {"question": "q", "tests": ["assert f() == 1"], "entry_point": "f"},
    "tool_call": {"question": "q", "tools": TOOLS, "answer": [{"name": "add", "arguments": {"a": 1}}]},
    "json_schema": {"question": "q", "schema": {"type": "object", "required": ["a"]}, "example": {"a": 1}},
    "math": {"question": "q", "answer": "42"},
}

BAD = [
    ("code", {"tests": 5}, "tests"),
    ("code", {"tests": []}, "tests"),
    ("code", {"tests": "  "}, "tests"),
    ("code", {"tests": ["assert 1", 3]}, "tests"),
    ("code", {"entry_point": "not a name"}, "entry_point"),
    ("tool_call", {"tools": {"name": "add"}}, "tools"),
    ("tool_call", {"tools": [{"type": "function", "function": {"description": "no name"}}]}, "tools"),
    ("tool_call", {"tools": [{"name": "f", "parameters": {"type": "dict"}}], "answer": []}, "tools"),
    ("tool_call", {"tools": "[not json"}, "tools"),
    ("tool_call", {"answer": {"name": "add", "arguments": {"a": 1}}}, "answer"),
    ("tool_call", {"answer": [{"name": "sub", "arguments": {"a": 1}}]}, "answer"),
    ("tool_call", {"answer": [{"name": "add", "arguments": {"a": "1"}}]}, "answer"),
    ("tool_call", {"answer": [{"name": "add"}]}, "answer"),
    ("json_schema", {"schema": {"type": "objekt"}}, "schema"),
    ("json_schema", {"schema": [1]}, "schema"),
    ("json_schema", {"schema": "{oops"}, "schema"),
    ("json_schema", {"example": {"b": 1}}, "example"),
    ("math", {"answer": ""}, "answer"),
    ("math", {"answer": None}, "answer"),
    ("math", {"answer": True}, "answer"),
]


@pytest.mark.parametrize("verifier", GOOD)
def test_good_rows_pass(verifier):
    row_checker([verifier])(GOOD[verifier])


def test_json_text_fields_are_accepted_where_verifiers_accept_them():
    row = {**GOOD["tool_call"], "tools": json.dumps(TOOLS), "answer": json.dumps(GOOD["tool_call"]["answer"])}
    row_checker(["tool_call"])(row)
    row_checker(["json_schema"])({"question": "q", "schema": json.dumps({"type": "array"})})


@pytest.mark.parametrize("verifier, change, field", BAD)
def test_a_malformed_field_is_named(verifier, change, field):
    with pytest.raises(RowError) as err:
        row_checker([verifier])({**GOOD[verifier], **change})
    assert err.value.field == field and f"field {field!r}" in str(err.value)


def test_irrelevance_rows_expect_no_call_and_unknown_verifiers_are_skipped():
    row_checker(["tool_call"])({**GOOD["tool_call"], "answer": []})
    row_checker(["format", "length_penalty", "some_plugin"])({"question": "q"})


def test_checks_of_several_verifiers_all_run():
    with pytest.raises(RowError, match="'answer'"):
        row_checker(["code", "math"])({**GOOD["code"], "answer": ""})


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
                           max_leaves=12)


@settings(max_examples=300, deadline=None)
@given(verifier=st.sampled_from(sorted(GOOD)), field=st.sampled_from(
    ["tests", "entry_point", "tools", "answer", "schema", "example"]), value=json_values)
def test_fuzzed_fields_pass_or_raise_row_error(verifier, field, value):
    """Whatever JSON a file holds in a field, the check accepts it or names the field: never a crash."""
    try:
        row_checker([verifier])({**GOOD[verifier], field: value})
    except RowError as err:
        assert err.field in ("tests", "entry_point", "tools", "answer", "schema", "example")
