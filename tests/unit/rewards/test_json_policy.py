"""The `json_schema` grading policy, row by row (ids J1.. match the table in rewards/README.md), and the
ECMA-262 `pattern` semantics."""

import doctest
import importlib
import json
import random
import shutil
import subprocess

import pytest

from rewards import make
from rewards.ecma_regex import search, to_python
from rewards.json_extract import JsonExtractError, extract_json, loads_strict, runtime_region, scan

PERSON = {"type": "object", "required": ["name", "age"],
          "properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 0, "maximum": 150}},
          "additionalProperties": False}
ANN = '{"name": "Ann", "age": 3}'
BOB = '{"name": "Bob", "age": 4}'
SCORE = {"type": "object", "properties": {"s": {"type": "number", "minimum": 0, "maximum": 1}}}

# (policy id, completion, schema, options, reward, reason)
POLICY = [
    ("J1", "<think>" + ANN + "</think>", PERSON, {}, 0.0, "no_json"),
    ("J1", "<think>draft {\"name\": \"Bob\"}</think>\n" + ANN, PERSON, {}, 1.0, "valid"),
    ("J1", "<think>" + ANN + "</think>\n{\"name\": \"Ann\", \"age\": -1}", PERSON, {}, 0.0, "schema_violation"),
    ("J1", '{"name": <think>x</think> "Ann", "age": 3}', PERSON, {}, 0.0, "invalid_json"),
    ("J2", "reasoning " + BOB + "\n</think>\n" + ANN, PERSON, {}, 1.0, "valid"),
    ("J2", ANN + "\n<think>let me check", PERSON, {}, 1.0, "valid"),
    ("J2", "<think>\n" + ANN, PERSON, {}, 0.0, "no_json"),
    ("J2", "<think>a</think>" + ANN + "<think>" + BOB + "</think>", PERSON, {}, 0.0, "several_values"),
    ("J3", ANN, PERSON, {}, 1.0, "valid"),
    ("J3", " \n" + json.dumps({"age": 3, "name": "Ann"}, indent=2) + "\r\n", PERSON, {}, 1.0, "valid"),
    ("J3", "42", {"type": "integer"}, {}, 1.0, "valid"),
    ("J3", '"a } ] , { ["', {"type": "string"}, {}, 1.0, "valid"),
    ("J4", "Sure! Here it is:\n" + ANN + "\nAnything else?", PERSON, {}, 1.0, "valid"),
    ("J4", "I filled the {name} field [see docs](http://x):\n" + ANN + ".", PERSON, {}, 1.0, "valid"),
    ("J4", "The answer is 42", {"type": "integer"}, {}, 0.0, "no_json"),
    ("J5", "Text\n```json\n" + ANN + "\n```\nmore text", PERSON, {}, 1.0, "valid"),
    ("J5", "```\n" + ANN + "```", PERSON, {}, 1.0, "valid"),
    ("J5", "```json\n" + ANN + "\n}\n```", PERSON, {}, 0.0, "invalid_json"),
    ("J5", "```json\nHere: " + ANN + "\n```", PERSON, {}, 0.0, "invalid_json"),
    ("J5", '```json\n{"md": "```py"}\n```', {"type": "object"}, {}, 1.0, "valid"),
    ("J5", "```\nnot json\n```\n```json\n" + ANN + "\n```", PERSON, {}, 1.0, "valid"),
    ("J6", ANN + " " + BOB, PERSON, {}, 0.0, "several_values"),
    ("J6", ANN + '\n"extra"', PERSON, {}, 0.0, "several_values"),
    ("J6", ANN + " 42", PERSON, {}, 0.0, "several_values"),
    ("J6", "```json\n" + ANN + "\n```\n```json\n" + BOB + "\n```", PERSON, {}, 0.0, "several_values"),
    ("J6", "```json\n" + ANN + "\n```\nor " + BOB, PERSON, {}, 0.0, "several_values"),
    ("J6", "```python\nx = " + BOB + "\n```\n```json\n" + ANN + "\n```", PERSON, {}, 0.0, "several_values"),
    ("J7", ANN + "}", PERSON, {}, 0.0, "invalid_json"),
    ("J7", ANN + "]}", PERSON, {}, 0.0, "invalid_json"),
    ("J7", "[" + ANN, PERSON, {}, 0.0, "invalid_json"),
    ("J7", '{"name": "evil", ' + ANN + "}", PERSON, {}, 0.0, "invalid_json"),
    ("J7", '{"junk" ' + ANN + "}", PERSON, {}, 0.0, "invalid_json"),
    ("J7", ANN + ' and {"name": "Bob", "age": 4,}', PERSON, {}, 0.0, "invalid_json"),
    ("J8", ANN + ",", PERSON, {}, 0.0, "invalid_json"),
    ("J8", ANN + ', {', PERSON, {}, 0.0, "invalid_json"),
    ("J8", '"name": "x", ' + ANN, PERSON, {}, 0.0, "invalid_json"),
    ("J8", ANN + ", as requested.", PERSON, {}, 1.0, "valid"),
    ("J8", "Sure, here it is, " + ANN, PERSON, {}, 1.0, "valid"),
    ("J9", '{"s": NaN}', SCORE, {}, 0.0, "non_finite_number"),
    ("J9", '{"s": -Infinity}', SCORE, {}, 0.0, "non_finite_number"),
    ("J9", '{"s": 1e400}', {"type": "object"}, {}, 0.0, "non_finite_number"),
    ("J9", 'Result: {"s": Infinity}', SCORE, {}, 0.0, "non_finite_number"),
    ("J9", '{"name": "Ann", "age": -1, "age": 3}', PERSON, {}, 0.0, "duplicate_key"),
    ("J9", '[{"a": 1, "a": 1}]', {"type": "array"}, {}, 0.0, "duplicate_key"),
    ("J9", "{'name': 'Ann', 'age': 3}", PERSON, {}, 0.0, "invalid_json"),
    ("J9", '{"name": "Ann", "age": 3,}', PERSON, {}, 0.0, "invalid_json"),
    ("J9", '{"name": "Ann", /* c */ "age": 3}', PERSON, {}, 0.0, "invalid_json"),
    ("J10", "[" * 100 + "]" * 100, {}, {}, 0.0, "too_deep"),
    ("J10", "ok " * 70_000, {}, {}, 0.0, "too_long"),
    ("J11", "Sure: " + ANN, PERSON, {"allow_prose": False}, 0.0, "invalid_json"),
    ("J11", "```json\n" + ANN + "\n```", PERSON, {"allow_prose": False}, 1.0, "valid"),
    ("J11", "\n" + ANN + "\n", PERSON, {"allow_prose": False}, 1.0, "valid"),
    ("J12", '{"c": "ABC\\n"}', {"properties": {"c": {"pattern": "^[A-Z]{3}$"}}}, {}, 0.0, "schema_violation"),
    ("J12", '{"c": "\\u0661\\u0662"}', {"properties": {"c": {"pattern": "^\\d+$"}}}, {}, 0.0, "schema_violation"),
    ("J12", '{"c": "ABC"}', {"properties": {"c": {"pattern": "^[A-Z]{3}$"}}}, {}, 1.0, "valid"),
    ("J12", '{"x1": 1, "y": 2}', {"patternProperties": {"^x\\d$": {"type": "integer"}},
                                   "additionalProperties": False}, {}, 0.0, "schema_violation"),
    ("J13", '{"s": NaN}', {"properties": {"s": {"maximum": 0, "minimum": 1}}}, {}, 0.0, "non_finite_number"),
    ("J14", '{"name": "Ann", "age": 3.0}', PERSON, {}, 1.0, "valid"),
    ("J14", '{"name": "Ann", "age": true}', PERSON, {}, 0.0, "schema_violation"),
    ("J7", '{"a": 1}\n{', {"type": "object"}, {}, 0.0, "invalid_json"),  # a second value cut off at "{"
    ("J7", '{"a": 1} [', {"type": "object"}, {}, 0.0, "invalid_json"),
    # multipleOf in exact decimal arithmetic (jsonschema divides doubles: 19.99 / 0.01 = 1998.9999999999998)
    ("J14", '{"p": 19.99}', {"properties": {"p": {"multipleOf": 0.01}}}, {}, 1.0, "valid"),
    ("J14", '{"p": 0.07}', {"properties": {"p": {"multipleOf": 0.01}}}, {}, 1.0, "valid"),
    ("J14", '{"p": 0.005}', {"properties": {"p": {"multipleOf": 0.01}}}, {}, 0.0, "schema_violation"),
    ("J14", '{"p": 7.25}', {"properties": {"p": {"multipleOf": 0.5}}}, {}, 0.0, "schema_violation"),
    # red-team round 1: a literal that only rounds to an integer, lone surrogates, asserted formats
    ("J9", '{"name": "Ann", "age": 3.0000000000000001}', PERSON, {}, 0.0, "inexact_number"),
    ("J9", '{"name": "\\ud800", "age": 3}', PERSON, {}, 0.0, "invalid_json"),
    ("J9", '{"name": "\\ud83d\\ude00", "age": 3}', PERSON, {}, 1.0, "valid"),
    ("J15", '{"d": "2024-13-45"}', {"properties": {"d": {"format": "date"}}}, {}, 0.0, "schema_violation"),
    ("J15", '{"d": "2024-02-29"}', {"properties": {"d": {"format": "date"}}}, {}, 1.0, "valid"),
    ("J15", '{"e": "nobody"}', {"properties": {"e": {"format": "email"}}}, {}, 0.0, "schema_violation"),
    ("J15", '{"i": "999.1.1.1"}', {"properties": {"i": {"format": "ipv4"}}}, {}, 0.0, "schema_violation"),
    ("J15", '{"u": "x"}', {"properties": {"u": {"format": "uri"}}}, {}, 1.0, "valid"),
    # red-team round 3 (blind): jsonschema's email check is `"@" in value`; a 5,001-digit integer; prose
    # around the value may be a BOM or a fence of another language (J4); ECMA `.` with the u flag
    ("J15", '{"e": "a@@b"}', {"properties": {"e": {"format": "email"}}}, {}, 0.0, "schema_violation"),
    ("J15", '{"e": "@"}', {"properties": {"e": {"format": "email"}}}, {}, 0.0, "schema_violation"),
    ("J15", '{"e": "a b@c.d"}', {"properties": {"e": {"format": "email"}}}, {}, 0.0, "schema_violation"),
    ("J15", '{"e": "ann.lee@mail.example.org"}', {"properties": {"e": {"format": "email"}}}, {}, 1.0, "valid"),
    ("J15", '{"e": "root@localhost"}', {"properties": {"e": {"format": "idn-email"}}}, {}, 1.0, "valid"),
    ("J10", "1" + "0" * 5000, {"type": "integer"}, {}, 0.0, "too_long"),
    ("J10", "Here: [1" + "0" * 5000 + "]", {"type": "array"}, {}, 0.0, "too_long"),
    ("J10", "1" + "0" * 4299, {"type": "integer"}, {}, 1.0, "valid"),
    ("J4", "\ufeff" + ANN, PERSON, {}, 1.0, "valid"),
    ("J4", "```python\n" + ANN + "\n```", PERSON, {}, 1.0, "valid"),
    ("J12", '"\U0001f600"', {"type": "string", "pattern": "^.$"}, {}, 1.0, "valid"),
]


@pytest.mark.parametrize("pid, completion, schema, options, reward, reason", POLICY,
                         ids=[f"{p[0]}-{i}" for i, p in enumerate(POLICY)])
def test_json_policy(pid, completion, schema, options, reward, reason):
    s = make("json_schema", **options).score(completion, schema=schema)
    assert (s.reward, s.info["reason"]) == (reward, reason), s.info


def test_every_readme_policy_row_is_tested(readme_policy_ids):
    ids = readme_policy_ids("J")
    assert ids and ids == {row[0] for row in POLICY}


def test_strict_loads_and_scan_building_blocks():
    assert loads_strict("[1, -0.5e3, true, null]") == [1, -500.0, True, None]
    for bad, reason in [("NaN", "non_finite_number"), ('{"a": 1e999}', "non_finite_number"),
                        ('{"a": {"b": 1, "b": 2}}', "duplicate_key"), ("{1: 2}", "invalid_json"),
                        ("1" * 5000, "too_long"), ("\ufeff{}", "invalid_json")]:
        with pytest.raises(JsonExtractError) as exc:
            loads_strict(bad)
        assert exc.value.reason == reason, bad
    assert [s.kind for s in scan('a {"x": "}"} b [1, ] c } {')] == ["value", "broken", "stray", "open"]
    assert runtime_region("a<think>b</think>c<think>d</think>e") == "a\0c<think>d</think>e"
    assert extract_json('x [1, 2] y') == [1, 2]


ECMA = [  # (pattern, text, ECMA-262 RegExp(pattern, "u").test(text)), checked against node where available
    ("^[A-Z]{3}$", "ABC\n", False), ("^[A-Z]{3}$", "ABC", True), ("a$", "a\n", False),
    (r"^\d+$", "\u0661\u0662", False), (r"^\d+$", "\uff11", False), (r"^\d+$", "0123456789", True),
    (r"^\w+$", "h\u00e9", False), (r"^\w+$", "a_1", True), (r"\bx\b", "\u00e9x\u00e9", True),
    (r"^a\sb$", "a\u00a0b", True), (r"^a\sb$", "a\ufeffb", True), (r"^a\sb$", "a\x1cb", False),
    (r"^a\Sb$", "a\u00a0b", False), (r"^[\s]$", "\u2028", True),
    ("^.$", "\r", False), ("^.$", "\u2028", False), ("^.$", "\U0001f600", True), ("^.{2}$", "\U0001f600", False),
    ("^[^]$", "\n", True), ("^[]$", "", False), ("a[]", "a", False),
    (r"^(?<y>\d{4})-\k<y>$", "2024-2024", True), (r"^\u{1F600}$", "\U0001f600", True), (r"^\cJ$", "\n", True),
    ("^[a-c-]+$", "a-c", True), ("^[[]$", "[", True), ("^[&|~]+$", "&|~", True), (r"^\/$", "/", True),
]


@pytest.mark.parametrize("pattern, text, expected", ECMA, ids=range(len(ECMA)))
def test_ecma_pattern_semantics(pattern, text, expected):
    assert search(pattern, text) is expected, to_python(pattern)


def test_python_leading_inline_flags_still_work():  # not ECMA, but schemas in the wild use them
    assert search("(?i)^abc$", "ABC") and not search("(?i)^abc$", "ABC\n")


def test_unsupported_pattern_syntax_refuses_the_schema_instead_of_misreading_it():
    with pytest.raises(Exception, match="bad escape|regex"):
        make("json_schema").score('"a"', schema={"type": "string", "pattern": r"\p{L}"})


def _node_test(pairs: list[tuple[str, str]]) -> list[bool]:
    """RegExp(pattern, "u").test(text) for each pair, in one node process; None where node refuses the
    pattern (not valid ECMA-262 with the u flag: out of scope)."""
    script = ("const pairs = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
              "const test = ([p, t]) => { try { return new RegExp(p, 'u').test(t); } catch (e) { return null; } };"
              "console.log(JSON.stringify(pairs.map(test)));")
    out = subprocess.run(["node", "-e", script], input=json.dumps(pairs), capture_output=True, text=True,
                         timeout=60, check=True)
    return json.loads(out.stdout)


def _random_pairs(n: int, seed: int) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    atoms = [r"\d", r"\D", r"\w", r"\W", r"\s", r"\S", ".", "[a-z]", "[^0-9]", r"[\s,]", r"[\d_]", "a", "-",
             r"\.", r"[\w-]", "(?:ab|c)", r"\b", "[^]"]
    quants = ["", "", "*", "+", "?", "{2}", "{1,3}"]
    alphabet = ["a", "b", "c", "Z", "0", "7", "_", "-", ".", ",", " ", "\n", "\r", "\t", "\u2028", "\u00a0",
                "\ufeff", "\x1c", "\x85", "\u0661", "\uff11", "\u00e9", "\u0130", "\U0001f600", "\u2007"]
    pairs = []
    for _ in range(n):
        body = "".join(rng.choice(atoms) + rng.choice(quants) for _ in range(rng.randint(1, 4)))
        pattern = ("^" if rng.random() < 0.6 else "") + body + ("$" if rng.random() < 0.6 else "")
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 5)))
        pairs.append((pattern, text))
    return pairs


@pytest.mark.skipif(shutil.which("node") is None, reason="node (an ECMA-262 engine) is not installed")
def test_ecma_semantics_match_node_on_the_table_and_on_random_patterns():
    table = [(p, t) for p, t, _ in ECMA]
    assert _node_test(table) == [e for _, _, e in ECMA]
    pairs = _random_pairs(3000, seed=0)
    verdicts = _node_test(pairs)
    checked = [(p, t, js) for (p, t), js in zip(pairs, verdicts, strict=True) if js is not None]
    assert len(checked) > len(pairs) // 2
    mismatches = [(p, t, js) for p, t, js in checked if search(p, t) is not js]
    assert not mismatches, mismatches[:10]


@pytest.mark.parametrize("module", ["rewards.ecma_regex", "rewards.cli"])
def test_docstring_examples(module):
    assert doctest.testmod(importlib.import_module(module)).failed == 0


def test_several_pattern_properties_with_additional_properties_false():
    """jsonschema joins patternProperties keys with "|" to find additional properties: the translated
    patterns must not carry global flags (a SchemaStore schema crashed the verifier that way)."""
    from rewards import make

    schema = {"type": "object", "additionalProperties": False,
              "patternProperties": {r"^(ansible\.builtin\.)?import_playbook$": {}, r"^x\d$": {}}}
    v = make("json_schema")
    assert v.score('{"import_playbook": 1, "x1": 2}', schema=schema).reward == 1.0
    assert v.score('{"import_playbook": 1, "y": 2}', schema=schema).reward == 0.0
