"""The `tool_call` grading policy, row by row (ids T1.. match the table in rewards/README.md)."""

import json

import pytest

from rewards import make
from rewards.tool_call import parse_tool_calls

TOOLS = [
    {"type": "function", "function": {"name": "add", "parameters": {
        "type": "object", "required": ["a", "b"], "properties": {"a": {"type": "number"}, "b": {"type": "number"}}}}},
    {"type": "function", "function": {"name": "delete_file", "parameters": {
        "type": "object", "required": ["path"], "properties": {"path": {"type": "string"}}}}},
    {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object", "properties": {}}}},
    {"name": "set_code", "parameters": {"type": "object", "properties": {"code": {"pattern": "^[A-Z]{3}$"}}}},
]
A = {"name": "add", "arguments": {"a": 1, "b": 2}}
A2 = {"name": "add", "arguments": {"a": 2, "b": 1}}
DEL = {"name": "delete_file", "arguments": {"path": "/"}}
D = json.dumps


def tc(*calls):
    return "".join(f"<tool_call>\n{D(c) if not isinstance(c, str) else c}\n</tool_call>\n" for c in calls)


# (policy id, completion, expected calls, reward, reason)
POLICY = [
    ("T1", "<think>" + tc(A) + "</think>I am not sure.", [A], 0.0, "no_tool_call"),
    ("T1", "<think>maybe " + D(DEL) + "</think>\n" + tc(A), [A], 1.0, "match"),
    ("T1", "The user wants 1+2.\n</think>\n" + tc(A), [A], 1.0, "match"),
    ("T1", "<think>" + tc(DEL) + "</think>No tool is needed.", [], 1.0, "no_call_expected"),
    ("T1", "<think>\n" + tc(A), [A], 0.0, "no_tool_call"),
    ("T1", "<think>x</think>" + tc(A) + "<think>" + tc(DEL) + "</think>", [A], 0.0, "extra_call"),
    ("T1", "reasoning</think>" + tc(DEL) + "</think>" + tc(A), [A], 0.0, "extra_call"),
    ("T1", tc(DEL) + "<think>x</think>" + tc(A), [A], 0.0, "extra_call"),
    ("T2", tc(A), [A], 1.0, "match"),
    ("T2", "<tool_call>" + D([A, A2]) + "</tool_call>", [A2, A], 1.0, "match"),
    ("T2", "<tool_call>\n" + D(A), [A], 1.0, "match"),
    ("T2", "<tool_call></tool_call>", [], 0.0, "empty_tool_call"),
    ("T2", "<tool_call>[]</tool_call>", [], 0.0, "empty_tool_call"),
    ("T2", "<tool_call>Sure: " + D(A) + "</tool_call>", [A], 0.0, "invalid_json"),
    ("T2", "<tool_call>```json\n" + D(A) + "\n```</tool_call>", [A], 0.0, "invalid_json"),
    ("T2", "<tool_call>" + D(A) + "}</tool_call>", [A], 0.0, "invalid_json"),
    ("T2", "<tool_call>" + D(A) + " " + D(DEL) + "</tool_call>", [A], 0.0, "invalid_json"),
    ("T2", D(A) + "</tool_call>", [A], 0.0, "malformed_call"),
    ("T3", tc(A) + "Alternatively: " + D(A2), [A], 0.0, "extra_call"),
    ("T3", D(DEL) + "\n" + tc(A), [A], 0.0, "extra_call"),
    ("T3", "```json\n" + D(A) + "\n```\n" + D(DEL), [A], 0.0, "extra_call"),
    ("T3", "I'll call it:\n```json\n" + D(A) + "\n```", [A], 1.0, "match"),
    ("T3", "Calling " + D(A) + " now.", [A], 1.0, "match"),
    ("T3", D([A, A2]), [A2, A], 1.0, "match"),
    ("T4", "Use the {city} placeholder.", [], 1.0, "no_call_expected"),
    ("T4", 'Example config: {"debug": true} and [1, 2].', [], 1.0, "no_call_expected"),
    ("T4", '{"name": "Ann", "age": 3}', [], 1.0, "no_call_expected"),
    ("T4", '{"name": "get_time"}', [{"name": "get_time", "arguments": {}}], 1.0, "match"),
    ("T4", 'Shapes: {"name": ["x"]} and {"name": {"a": 1}}', [], 1.0, "no_call_expected"),
    ("T4", '{"name": "delete_all", "arguments": {}}', [], 0.0, "unknown_tool"),
    ("T5", '{"name": "delete_file" ' + D(A) + "}", [A], 0.0, "invalid_json"),
    ("T5", "[" + D(A) + ', {"name": "delete_file", "arguments": {"path": "/"', [A], 0.0, "invalid_json"),
    ("T5", D(A) + "]}", [A], 0.0, "invalid_json"),
    ("T5", D(A) + ",\n]", [A], 0.0, "invalid_json"),
    ("T5", D(A) + ", done [ok]", [A], 1.0, "match"),
    ("T5", "Use {'name': 'add'} like this.", [], 0.0, "invalid_json"),
    ("T6", tc({"name": "add", "parameters": A["arguments"]}), [A], 1.0, "match"),
    ("T6", tc({"id": "c1", "type": "function", "name": "add", "arguments": A["arguments"]}), [A], 1.0, "match"),
    ("T6", tc({**A, "alternative": A2}), [A], 0.0, "unknown_key"),
    ("T6", tc({**A, "id": {"x": A2}}), [A], 0.0, "malformed_call"),  # an id holding a call
    ("T6", tc({"type": "function", "id": 7, "function": A}), [A], 0.0, "malformed_call"),
    ("T6", tc({**A, "note": "unsure"}), [A], 0.0, "unknown_key"),
    ("T6", tc({**A, "parameters": {"a": 9, "b": 9}}), [A], 0.0, "conflicting_call"),
    ("T6", tc({**A, "parameters": A["arguments"]}), [A], 1.0, "match"),
    ("T6", tc({"name": "", "arguments": {}}), [A], 0.0, "malformed_call"),
    ("T7", D({"id": "c1", "type": "function", "function": {"name": "add", "arguments": D(A["arguments"])}}),
     [A], 1.0, "match"),
    ("T7", D({"type": "function", "name": "delete_file", "function": A}), [A], 0.0, "conflicting_call"),
    ("T7", D({"type": "function", "name": "add", "function": A}), [A], 1.0, "match"),
    ("T7", D({"function": A, "arguments": {"a": 5, "b": 5}}), [A], 0.0, "conflicting_call"),
    ("T7", D({"type": "retrieval", "function": A}), [A], 0.0, "malformed_call"),
    ("T7", D({"role": "assistant", "content": None, "tool_calls": [A]}), [A], 1.0, "match"),
    ("T7", D({"tool_calls": [A], "alternative_calls": [A2]}), [A], 0.0, "unknown_key"),
    ("T7", D({"tool_calls": [A], "content": "or " + D(A2)}), [A], 0.0, "extra_call"),
    ("T8", '<tool_call>{"name": "delete_file", "name": "add", "arguments": {"a": 1, "b": 2}}</tool_call>',
     [A], 0.0, "duplicate_key"),
    ("T8", '{"name": "add", "arguments": {"a": 5, "a": 1, "b": 2}}', [A], 0.0, "duplicate_key"),
    ("T8", tc({"name": "add", "arguments": '{"a": 9, "a": 1, "b": 2}'}), [A], 0.0, "duplicate_key"),
    ("T8", '<tool_call>{"name": "add", "arguments": {"a": NaN, "b": 2}}</tool_call>', [A], 0.0,
     "non_finite_number"),
    ("T8", tc({"name": "add", "arguments": '{"a": Infinity, "b": 2}'}), [A], 0.0, "non_finite_number"),
    ("T8", '<tool_call>{"name": "add", "arguments": {"a": 1.0000000000000001, "b": 2}}</tool_call>', [A], 0.0,
     "inexact_number"),
    ("T9", tc({"name": "add", "arguments": D(A["arguments"])}), [A], 1.0, "match"),
    ("T9", tc({"name": "get_time"}), [{"name": "get_time", "arguments": {}}], 1.0, "match"),
    ("T9", tc({"name": "add", "arguments": None}), [A], 0.0, "malformed_arguments"),
    ("T9", tc({"name": "add", "arguments": "{not json"}), [A], 0.0, "malformed_arguments"),
    ("T9", tc({"name": "add", "arguments": "[1, 2]"}), [A], 0.0, "malformed_arguments"),
    ("T10", tc({"name": "Add", "arguments": A["arguments"]}), [A], 0.0, "unknown_tool"),
    ("T10", tc({"name": "add", "arguments": {"a": "1", "b": 2}}), [A], 0.0, "invalid_arguments"),
    ("T10", tc({"name": "set_code", "arguments": {"code": "ABC\n"}}),
     [{"name": "set_code", "arguments": {"code": "ABC\n"}}], 0.0, "invalid_arguments"),
    ("T11", tc({"name": "add", "arguments": {"b": 2.0, "a": 1}}), [A], 1.0, "match"),
    ("T11", tc(A2), [A], 0.0, "wrong_call"),
    ("T11", tc(A, A), [A], 0.0, "extra_call"),
    ("T11", tc(A), [A, DEL], 0.0, "missing_call"),
    ("T12", "It is 3 o'clock.", [], 1.0, "no_call_expected"),
    ("T12", "The sum is 3.", [A], 0.0, "no_tool_call"),
    ("T13", '{"a": 1} ' * 2001, [], 0.0, "too_long"),
    ("T13", "[" * 65 + "]" * 65, [], 0.0, "too_deep"),
    ("T13", "x" * 200_001, [], 0.0, "too_long"),
    ("T13", "[a] " * 3000 + tc(A), [A], 1.0, "match"),
    # red-team round 3 (blind): prose braces that cannot start JSON are no nesting, however many
    ("T13", "{" * 50_000 + tc(A), [A], 1.0, "match"),
    ("T13", "{ {{ " + "[" * 100 + D(A) + "]" * 100, [A], 0.0, "invalid_json"),
    ("T13", "[" * 100 + D(A) + "]" * 100, [A], 0.0, "too_deep"),
]


@pytest.mark.parametrize("pid, completion, answer, reward, reason", POLICY,
                         ids=[f"{p[0]}-{i}" for i, p in enumerate(POLICY)])
def test_tool_call_policy(pid, completion, answer, reward, reason):
    s = make("tool_call").score(completion, tools=TOOLS, answer=answer)
    assert (s.reward, s.info["reason"]) == (reward, reason), s.info


def test_every_readme_policy_row_is_tested(readme_policy_ids):
    ids = readme_policy_ids("T")
    assert ids and ids == {row[0] for row in POLICY}


def test_parse_tool_calls_without_tool_names_and_answer_as_text():
    assert parse_tool_calls('{"tool_calls": [{"name": "f", "arguments": {}}]}') == [{"name": "f", "arguments": {}}]
    assert parse_tool_calls('{"name": "anything"}') == [{"name": "anything", "arguments": {}}]
    assert parse_tool_calls('{"name": "anything"}', tool_names=["f"]) == []
    s = make("tool_call").score(tc(A), tools=json.dumps(TOOLS), answer=json.dumps([A]))
    assert s.reward == 1.0
