"""Build-time converters (rlvr.data.sources): BFCL schemas and answers, GSM8K answers, SchemaStore candidates."""

import json

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rlvr.data.sources import bfcl, gsm, schemastore

# -------------------------------------------------------------------------------------------------- BFCL


def test_bfcl_types_become_json_schema():
    raw = {"type": "dict", "properties": {
        "p": {"type": "float"}, "t": {"type": "tuple", "items": {"type": "dict", "properties": {"x": {"type": "any"}}}},
        "type": {"type": "string", "description": "a parameter named type"}}, "required": ["p"]}
    out = bfcl.to_json_schema(raw)
    assert out == {"type": "object", "properties": {
        "p": {"type": "number"}, "t": {"type": "array", "items": {"type": "object", "properties": {"x": {}}}},
        "type": {"type": "string", "description": "a parameter named type"}}, "required": ["p"]}
    jsonschema.Draft202012Validator.check_schema(out)


def test_expand_allowed_enumerates_alternatives_omissions_and_nested_dicts():
    allowed = [{"name": "f", "arguments": {"x": [1, 2], "u": ["", "cm"], "d": [{"k": ["a", "b"]}]}}]
    sets = bfcl.expand_allowed(allowed)
    args = [s[0]["arguments"] for s in sets]
    assert len(args) == 2 * 2 * 2
    assert {"x": 1, "d": {"k": "a"}} in args and {"x": 2, "u": "cm", "d": {"k": "b"}} in args
    assert bfcl.expand_allowed([]) == [[]]  # irrelevance: the empty call set


def test_expand_allowed_stops_past_the_limit():
    allowed = [{"name": "f", "arguments": {f"a{i}": [1, 2] for i in range(12)}}]  # 4,096 call sets
    assert len(bfcl.expand_allowed(allowed, limit=10)) == 11


def test_bfcl_rows_keep_one_answer_rows_and_count_the_rest(tmp_path):
    fn = {"name": "f", "description": "d", "parameters": {"type": "dict", "properties": {
        "x": {"type": "integer"}, "u": {"type": "string"}}, "required": ["x"]}}
    items = [{"id": "simple_python_0", "question": [[{"role": "user", "content": "x is 1"}]], "function": [fn]},
             {"id": "simple_python_1", "question": [[{"role": "user", "content": "x is 2"}]], "function": [fn]},
             {"id": "simple_python_2", "question": [[{"role": "system", "content": "s"}]], "function": [fn]}]
    answers = [{"id": "simple_python_0", "ground_truth": [{"f": {"x": [1]}}]},
               {"id": "simple_python_1", "ground_truth": [{"f": {"x": [2], "u": ["", "cm"]}}]},
               {"id": "simple_python_2", "ground_truth": [{"f": {"x": [3]}}]}]
    (tmp_path / "possible_answer").mkdir()
    (tmp_path / "BFCL_v4_simple_python.json").write_text("".join(json.dumps(i) + "\n" for i in items))
    (tmp_path / "possible_answer" / "BFCL_v4_simple_python.json").write_text(
        "".join(json.dumps(a) + "\n" for a in answers))
    rows, excluded = bfcl.bfcl_rows(tmp_path, "simple_python")
    assert [r["id"] for r in rows] == ["simple_python_0"]
    assert rows[0]["answer"] == [{"name": "f", "arguments": {"x": 1}}]
    assert rows[0]["tools"][0]["function"]["parameters"]["type"] == "object"
    assert rows[0]["question"].startswith("x is 1\nAvailable tools: [")
    assert excluded == {"several_answers": 1, "not_one_user_turn": 1}
    with pytest.raises(ValueError, match="not supported"):
        bfcl.bfcl_rows(tmp_path, "live_simple")


# --------------------------------------------------------------------------------------------------- GSM


@pytest.mark.parametrize("solution, answer", [
    ("6 * 3 = <<6*3=18>>18\n#### 18", "18"), ("so 1,250 dollars\n#### 1,250", "1250"), ("#### -3.5", "-3.5"),
])
def test_gsm8k_final_answer(solution, answer):
    assert gsm.final_answer(solution) == answer


@pytest.mark.parametrize("solution", ["no marker 18", "#### "])
def test_gsm8k_final_answer_refuses_a_solution_without_one(solution):
    with pytest.raises(ValueError):
        gsm.final_answer(solution)


def test_sample_is_seeded_and_keeps_file_order():
    rows = [{"id": i} for i in range(50)]
    picked = gsm.sample(rows, 10, seed=3)
    assert picked == gsm.sample(rows, 10, seed=3) != gsm.sample(rows, 10, seed=4)
    assert [r["id"] for r in picked] == sorted(r["id"] for r in picked)
    assert gsm.sample(rows, None, 0) == rows


# ------------------------------------------------------------------------------------------- SchemaStore

ROOT = {
    "$schema": "https://json-schema.org/draft-07/schema#",  # a SchemaStore spelling of draft-07
    "definitions": {
        "item": {"type": "object", "description": "an item", "required": ["name", "description"],
                 "properties": {"name": {"type": "string", "minLength": 2},
                                "description": {"type": "string", "title": "a property, not an annotation"}}},
        "loop": {"type": "object", "required": ["next"], "properties": {"next": {"$ref": "#/definitions/loop"}}},
        "remote": {"$ref": "https://example.com/schema.json"},
        "loose": {"type": "object"},
        "tag": {"type": "string", "pattern": "^v[0-9]+$"},
    },
    "type": "object", "required": ["items"], "properties": {"items": {"type": "array", "minItems": 1,
                                                                      "items": {"$ref": "#/definitions/item"}}},
}


def task(pointer):
    return schemastore.make_task(ROOT, pointer, schemastore._pointer(ROOT, pointer), max_chars=1200)


def test_refs_are_inlined_annotations_stripped_and_the_draft_canonical():
    schema, example = task("#")
    item = schema["properties"]["items"]["items"]
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    assert "description" in item["properties"] and "description" not in item  # property kept, annotation gone
    assert "title" not in item["properties"]["description"] and "definitions" not in schema
    jsonschema.Draft7Validator(schema).validate(example)
    assert example["items"] and len(example["items"][0]["name"]) >= 2


@pytest.mark.parametrize("pointer, reason", [
    ("#/definitions/loop", "recursive_ref"), ("#/definitions/remote", "remote_ref"),
    ("#/definitions/loose", "trivial"), ("#/definitions/tag", "no_example"),
])
def test_candidates_that_cannot_be_tasks_are_refused_by_reason(pointer, reason):
    with pytest.raises(schemastore.Refused) as err:
        task(pointer)
    assert err.value.reason == reason


def test_a_candidate_over_the_size_limit_is_refused():
    with pytest.raises(schemastore.Refused, match="too_large"):
        schemastore.make_task(ROOT, "#", ROOT, max_chars=50)


def test_examples_and_defaults_are_used_when_they_validate():
    schema = {"type": "string", "pattern": "^v[0-9]+$", "examples": ["nope", "v12"]}
    assert schemastore.example_for(schema) == "v12"
    assert schemastore.example_for({"type": "integer", "minimum": 10, "multipleOf": 4}) == 12


# one allowed list per argument: plain values, "" (may be left out), no nested dicts
scalars = st.one_of(st.integers(-5, 5), st.text("abc", min_size=1, max_size=3), st.booleans())
allowed_lists = st.lists(st.one_of(scalars, st.just("")), min_size=1, max_size=3, unique_by=repr)


@settings(max_examples=200, deadline=None)
@given(calls=st.lists(st.dictionaries(st.sampled_from("xyz"), allowed_lists, max_size=3), min_size=1, max_size=2))
def test_expand_allowed_gives_exactly_the_accepted_call_sets(calls):
    allowed = [{"name": f"f{i}", "arguments": args} for i, args in enumerate(calls)]
    sets = bfcl.expand_allowed(allowed, limit=10_000)
    expected = 1
    for args in calls:
        for values in args.values():
            expected *= len(values)
    assert len(sets) == expected
    assert len({json.dumps(s, sort_keys=True) for s in sets}) == expected  # no duplicates
    for calls_made in sets:
        for made, want in zip(calls_made, allowed, strict=True):
            assert made["name"] == want["name"]
            for arg, values in want["arguments"].items():
                if arg in made["arguments"]:
                    assert made["arguments"][arg] in values and made["arguments"][arg] != ""
                else:
                    assert "" in values
