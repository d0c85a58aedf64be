"""Tables for `json_schema`, `tool_call`, `format` and `length_penalty`."""

import json

import pytest

from rewards import make
from rewards.json_extract import extract_json
from rewards.tool_call import parse_tool_calls, same_value

SCHEMA = {"type": "object", "required": ["name", "age"],
          "properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 0}},
          "additionalProperties": False}

JSON_TABLE = [
    ('{"name": "Ann", "age": 3}', 1.0, "valid"),
    ('Sure! Here it is:\n{"name": "Ann", "age": 3}\nAnything else?', 1.0, "valid"),
    ('```json\n{"name": "Ann", "age": 3}\n```', 1.0, "valid"),
    ('Text before\n```\n{"name": "Ann", "age": 3}\n```\ntext after', 1.0, "valid"),
    ('{"name": "Ann", "age": "3"}', 0.0, "schema_violation"),
    ('{"name": "Ann", "age": -1}', 0.0, "schema_violation"),
    ('{"name": "Ann", "age": 3, "x": 1}', 0.0, "schema_violation"),
    ("{'name': 'Ann', 'age': 3}", 0.0, "invalid_json"),
    ('{"name": "Ann", "age": 3,}', 0.0, "invalid_json"),
    ('{"name": "Ann", "age": 3} {"name": "Bob", "age": 4}', 0.0, "several_values"),
    ('```json\n{"name": "A", "age": 1}\n```\n```json\n{"name": "B", "age": 2}\n```', 0.0, "several_values"),
    ("no json here", 0.0, "no_json"),
    ("[" * 100_000 + "]" * 100_000, 0.0, "too_deep"),
    ('{"a":' * 10_000 + "1" + "}" * 10_000, 0.0, "too_deep"),
]


@pytest.mark.parametrize("completion, reward, reason", JSON_TABLE, ids=range(len(JSON_TABLE)))
def test_json_schema_table(completion, reward, reason):
    s = make("json_schema").score(completion, schema=SCHEMA)
    assert (s.reward, s.info["reason"]) == (reward, reason), s.info


def test_json_schema_accepts_schema_as_text_and_bare_scalars():
    assert make("json_schema").score("42", schema=json.dumps({"type": "integer"})).reward == 1.0
    assert extract_json('x [1, 2] y') == [1, 2]


TOOLS = [
    {"type": "function", "function": {"name": "get_weather", "parameters": {
        "type": "object", "required": ["city"],
        "properties": {"city": {"type": "string"}, "days": {"type": "integer"}}}}},
    {"name": "add", "parameters": {"type": "object", "required": ["a", "b"],
                                   "properties": {"a": {"type": "number"}, "b": {"type": "number"}}}},
]
WEATHER = {"name": "get_weather", "arguments": {"city": "Paris", "days": 3}}
ADD = {"name": "add", "arguments": {"a": 1, "b": 2}}


def hermes(*calls):
    return "".join(f"<tool_call>\n{json.dumps(c)}\n</tool_call>" for c in calls)


TOOL_TABLE = [
    (hermes(WEATHER), [WEATHER], 1.0, "match"),
    (hermes({"name": "get_weather", "arguments": json.dumps(WEATHER["arguments"])}), [WEATHER], 1.0, "match"),
    (hermes({"name": "get_weather", "parameters": {"city": "Paris", "days": 3}}), [WEATHER], 1.0, "match"),
    ("I'll call it: " + json.dumps(WEATHER), [WEATHER], 1.0, "match"),
    (json.dumps([ADD, WEATHER]), [WEATHER, ADD], 1.0, "match"),  # parallel calls: order free
    (json.dumps({"type": "function", "function": {"name": "add", "arguments": '{"a": 1, "b": 2}'}}), [ADD], 1.0, "match"),
    (hermes(ADD, WEATHER), [WEATHER, ADD], 1.0, "match"),
    (hermes({"name": "add", "arguments": {"a": 1.0, "b": 2}}), [ADD], 1.0, "match"),
    (hermes({"name": "get_weather", "arguments": {"city": "Paris", "days": "3"}}), [WEATHER], 0.0, "invalid_arguments"),
    (hermes({"name": "get_weather", "arguments": {"city": "Rome", "days": 3}}), [WEATHER], 0.0, "wrong_call"),
    (hermes({"name": "get_weather", "arguments": {"days": 3}}), [WEATHER], 0.0, "invalid_arguments"),
    (hermes({"name": "delete_all", "arguments": {}}), [WEATHER], 0.0, "unknown_tool"),
    (hermes(WEATHER, WEATHER), [WEATHER], 0.0, "extra_call"),
    (hermes(WEATHER), [WEATHER, ADD], 0.0, "missing_call"),
    (hermes(ADD, ADD), [ADD, WEATHER], 0.0, "wrong_call"),
    ("<tool_call>{'name': 'add'}</tool_call>", [ADD], 0.0, "invalid_json"),
    (hermes({"name": "add", "arguments": "{not json"}), [ADD], 0.0, "malformed_arguments"),
    ("The weather is nice.", [WEATHER], 0.0, "no_tool_call"),
    ("The weather is nice.", [], 1.0, "no_call_expected"),
]


@pytest.mark.parametrize("completion, answer, reward, reason", TOOL_TABLE, ids=range(len(TOOL_TABLE)))
def test_tool_call_table(completion, answer, reward, reason):
    s = make("tool_call").score(completion, tools=TOOLS, answer=answer)
    assert (s.reward, s.info["reason"]) == (reward, reason), s.info


def test_type_aware_equality():
    assert same_value({"a": [1, "x"]}, {"a": [1.0, "x"]})
    assert not same_value("3", 3) and not same_value(True, 1) and not same_value(None, 0)
    assert not same_value([1, 2], [2, 1])
    assert parse_tool_calls('{"tool_calls": [{"name": "f", "arguments": {}}]}') == [{"name": "f", "arguments": {}}]


FORMAT_TABLE = [
    ({}, "The answer is \\boxed{56}.", 1.0),
    ({}, "The final answer is 56.", 0.0),
    ({}, "\\boxed{}", 0.0),
    ({"style": "think_answer"}, "<think>7*8=56</think>\n<answer>56</answer>", 1.0),
    ({"style": "think_answer"}, "<think>7*8=56</think> 56", 0.0),
    ({"style": "think_answer"}, "preamble <think>x</think><answer>56</answer>", 0.0),
    ({"style": "regex", "pattern": r"Answer: \d+"}, "so... Answer: 56", 1.0),
    ({"style": "regex", "pattern": r"Answer: \d+"}, "so... 56", 0.0),
]


@pytest.mark.parametrize("options, completion, reward", FORMAT_TABLE, ids=range(len(FORMAT_TABLE)))
def test_format_table(options, completion, reward):
    assert make("format", **options).score(completion).reward == reward


@pytest.mark.parametrize("n, reward", [(0, 0.0), (50, 0.0), (75, -0.5), (100, -1.0), (1000, -1.0)])
def test_length_penalty(n, reward):
    assert make("length_penalty", max_length=100, buffer=50).score("x" * n).reward == pytest.approx(reward)


def test_length_penalty_words_and_bad_options():
    assert make("length_penalty", max_length=4, buffer=0, unit="words").score("a b c d e").reward == -1.0
    with pytest.raises(ValueError):
        make("length_penalty", unit="tokens")
    with pytest.raises(ValueError):
        make("format", style="regex")
