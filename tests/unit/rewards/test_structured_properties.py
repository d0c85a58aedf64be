"""Properties of `json_schema` and `tool_call` (hypothesis): fair rewritings always pass; duplicate keys,
NaN/Infinity, alternative calls and garbage around a refused answer never do."""

import json

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from rewards import make
from rewards.json_extract import extract_json

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TEXT = st.text(alphabet=st.characters(blacklist_characters="<", blacklist_categories=("Cs",)), max_size=8)
SCALARS = st.none() | st.booleans() | st.integers(-10**9, 10**9) | st.floats(allow_nan=False, allow_infinity=False) | TEXT
VALUES = st.recursive(SCALARS, lambda c: st.lists(c, max_size=4) | st.dictionaries(TEXT, c, max_size=4), max_leaves=12)
WS = st.sampled_from(["", " ", "\n", "\t", "\r\n  ", "  "])
BAD_NUMBERS = st.sampled_from(["NaN", "Infinity", "-Infinity", "1e999", "-1e400"])


class Dumper:
    """Serialise a JSON value with random key order and whitespace; optionally duplicate a key in the k-th
    object, or put a non-finite number token at the k-th leaf (depth-first order)."""

    def __init__(self, data, dup_at: int = -1, bad_leaf_at: int = -1) -> None:
        self.data, self.dup_at, self.bad_leaf_at = data, dup_at, bad_leaf_at
        self.objects = self.leaves = 0
        self.dup_done = self.bad_done = False

    def ws(self) -> str:
        return self.data.draw(WS)

    def dump(self, v) -> str:
        if isinstance(v, dict):
            k, self.objects = self.objects, self.objects + 1
            items = self.data.draw(st.permutations(list(v.items())))
            parts = [f"{self.ws()}{json.dumps(key)}{self.ws()}:{self.ws()}{self.dump(val)}{self.ws()}"
                     for key, val in items]
            if k == self.dup_at and items:
                key, _ = self.data.draw(st.sampled_from(items))
                extra = self.data.draw(SCALARS)
                parts.insert(self.data.draw(st.integers(0, len(parts))), f"{json.dumps(key)}: {json.dumps(extra)}")
                self.dup_done = True
            return "{" + ",".join(parts) + "}"
        if isinstance(v, list):
            return "[" + ",".join(self.ws() + self.dump(x) + self.ws() for x in v) + "]"
        k, self.leaves = self.leaves, self.leaves + 1
        if k == self.bad_leaf_at:
            self.bad_done = True
            return self.data.draw(BAD_NUMBERS)
        return json.dumps(v)


WRAPPERS = [
    "{}", "Here it is:\n{}\nHope this helps.", "Sure! {} Done.", "```json\n{}\n```", "Text\n```\n{}\n```\nmore",
    "<think>draft: [1, {{\"a\": 2}}]</think>\n{}", "the reasoning</think>\n\n{}",
]


@SETTINGS
@given(st.data(), st.dictionaries(TEXT, VALUES, max_size=5) | st.lists(VALUES, max_size=5),
       st.sampled_from(WRAPPERS))
def test_any_value_reserialised_and_wrapped_fairly_is_extracted_unchanged(data, value, wrapper):
    text = wrapper.format(Dumper(data).dump(value))
    assert extract_json(text) == value
    assert make("json_schema").score(text, schema={}).reward == 1.0


@SETTINGS
@given(st.data(), st.dictionaries(TEXT, VALUES, min_size=1, max_size=5), st.sampled_from(WRAPPERS))
def test_any_duplicate_key_variant_is_refused(data, value, wrapper):
    dumper = Dumper(data, dup_at=0)
    text = wrapper.format(dumper.dump(value))
    assert dumper.dup_done
    s = make("json_schema").score(text, schema={})
    assert (s.reward, s.info["reason"]) == (0.0, "duplicate_key"), (text, s.info)


@SETTINGS
@given(st.data(), st.dictionaries(TEXT, VALUES, min_size=1, max_size=5), st.sampled_from(WRAPPERS))
def test_any_nan_or_infinity_injection_is_refused(data, value, wrapper):
    dumper = Dumper(data, bad_leaf_at=data.draw(st.integers(0, 4)))
    text = wrapper.format(dumper.dump(value))
    assume(dumper.bad_done)
    s = make("json_schema").score(text, schema={})
    assert (s.reward, s.info["reason"]) == (0.0, "non_finite_number"), (text, s.info)


CONTAINERS = st.dictionaries(TEXT, VALUES, max_size=4) | st.lists(VALUES, max_size=4)
HEDGES = ["{} {}", "{}\nOr: {}", "```json\n{}\n```\nAlternatively {}", "{}\n```json\n{}\n```",
          "```json\n{}\n```\n```\n{}\n```", "Option A: {} Option B: {}", "<think>x</think>{}<think>{}</think>"]


@SETTINGS
@given(st.data(), CONTAINERS, CONTAINERS, st.sampled_from(HEDGES))
def test_a_second_value_anywhere_is_never_paid(data, first, second, hedge):
    text = hedge.format(Dumper(data).dump(first), Dumper(data).dump(second))
    assert make("json_schema").score(text, schema={}).reward == 0.0, text


PERSON = {"type": "object", "required": ["name", "age"], "additionalProperties": False,
          "properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 0}}}
WRONG_PERSON = [  # each refused on its own; garbage without letters cannot build a valid person either
    '{"name": "Ann", "age": -1}', '{"name": 7, "age": 3}', '{"name": "Ann", "age": 3, "age": 4}',
    '{"name": "Ann", "age": NaN}', '{"name": "Ann", "age": 3, "x": 1}', '{"age": 3}',
]
GARBAGE = st.lists(st.sampled_from(["{", "}", "[", "]", ",", ":", '"', " ", "\n", "```json\n", "```\n", "```",
                                    "0", "1", "-", "NaN", "null", "true", "ok.", "<tool_call>", "</tool_call>"]),
                   max_size=8).map("".join)


@SETTINGS
@given(st.sampled_from(WRONG_PERSON), GARBAGE, GARBAGE)
def test_garbage_around_a_refused_json_answer_never_makes_it_pass(wrong, prefix, suffix):
    assert make("json_schema").score(prefix + wrong + suffix, schema=PERSON).reward == 0.0


# ---- tool calls
TOOLS = [{"type": "function", "function": {"name": "probe", "parameters": {
    "type": "object", "required": ["x"], "properties": {
        "x": {"type": "integer"}, "y": {"type": "string"}, "z": {"type": "boolean"},
        "w": {"type": "array", "items": {"type": "number"}}}}}},
         {"type": "function", "function": {"name": "ping", "parameters": {"type": "object", "properties": {}}}}]
ARGS = st.fixed_dictionaries({"x": st.integers(-10**6, 10**6)}, optional={
    "y": TEXT, "z": st.booleans(), "w": st.lists(st.floats(allow_nan=False, allow_infinity=False), max_size=3)})
CALLS = st.lists(st.one_of(st.builds(lambda a: {"name": "probe", "arguments": a}, ARGS),
                           st.just({"name": "ping", "arguments": {}})), min_size=1, max_size=3)


def _form(data, calls, dumper) -> str:
    """One fair serialisation of `calls` (each form works today and with a tool runtime)."""
    form = data.draw(st.sampled_from(["blocks", "one_block", "bare", "fenced", "openai", "tool_calls", "string_args"]))
    if form == "blocks":
        return "".join(f"<tool_call>{dumper.ws()}{dumper.dump(c)}{dumper.ws()}</tool_call>\n" for c in calls)
    if form == "string_args":
        calls = [{"name": c["name"], "arguments": json.dumps(c["arguments"])} for c in calls]
        return "".join(f"<tool_call>\n{dumper.dump(c)}\n</tool_call>" for c in calls)
    if form == "openai":
        wrapped = [{"type": "function", "id": f"call_{i}",
                    "function": {"name": c["name"], "arguments": json.dumps(c["arguments"])}} for i, c in enumerate(calls)]
        return dumper.dump(wrapped)
    if form == "tool_calls":
        return dumper.dump({"role": "assistant", "tool_calls": calls})
    body = dumper.dump(calls)
    return {"one_block": f"<tool_call>{body}</tool_call>", "bare": body, "fenced": f"```json\n{body}\n```"}[form]


PROSE = st.sampled_from(["", "I'll call the tool.\n", "<think>maybe {\"name\": \"probe\"}?</think>\n",
                         "Let me check.</think>\n"])


@SETTINGS
@given(st.data(), CALLS, PROSE, st.sampled_from(["", "\nWaiting for results.", " Done."]))
def test_any_valid_call_set_reserialised_fairly_passes(data, calls, before, after):
    text = before + _form(data, calls, Dumper(data)) + after
    order = data.draw(st.permutations(calls))
    s = make("tool_call").score(text, tools=TOOLS, answer=order)
    assert s.reward == 1.0, (text, s.info)


@SETTINGS
@given(st.data(), CALLS)
def test_any_duplicate_key_in_a_call_is_refused(data, calls):
    dumper = Dumper(data, dup_at=data.draw(st.integers(0, 3 * len(calls))))
    text = _form(data, calls, dumper)
    assume(dumper.dup_done)
    s = make("tool_call").score(text, tools=TOOLS, answer=calls)
    assert s.reward == 0.0, (text, s.info)


@SETTINGS
@given(st.data(), CALLS)
def test_any_nan_or_infinity_in_a_call_is_refused(data, calls):
    dumper = Dumper(data, bad_leaf_at=data.draw(st.integers(0, 3)))
    text = _form(data, calls, dumper)
    assume(dumper.bad_done)
    s = make("tool_call").score(text, tools=TOOLS, answer=calls)
    assert s.reward == 0.0, (text, s.info)


@SETTINGS
@given(st.data(), CALLS, ARGS)
def test_an_alternative_call_anywhere_is_never_paid(data, calls, other):
    alt = {"name": "probe", "arguments": other}
    text = _form(data, calls, Dumper(data))
    alt_text = data.draw(st.sampled_from([json.dumps(alt), f"```json\n{json.dumps(alt)}\n```",
                                          f"<tool_call>{json.dumps(alt)}</tool_call>",
                                          "Or: " + json.dumps({"tool_calls": [alt]})]))
    text = data.draw(st.sampled_from([text + "\n" + alt_text, alt_text + "\n" + text]))
    assert make("tool_call").score(text, tools=TOOLS, answer=calls).reward == 0.0, text


WRONG_CALLS = [  # refused on their own, for the expected call probe(x=1)
    '<tool_call>{"name": "probe", "arguments": {"x": 2}}</tool_call>',
    '<tool_call>{"name": "probe", "arguments": {"x": 2, "x": 1}}</tool_call>',
    '{"name": "probe", "arguments": {"x": 1}, "alternative": {"name": "probe", "arguments": {"x": 2}}}',
    '{"name": "probe", "arguments": {"x": 1}, "note": 1}',
    '{"name": "probe", "arguments": {"x": NaN}}',
    '<tool_call>{"name": "probe", "arguments": {"x": "1"}}</tool_call>',
]


@SETTINGS
@given(st.sampled_from(WRONG_CALLS), GARBAGE, GARBAGE)
def test_garbage_around_a_refused_call_never_makes_it_pass(wrong, prefix, suffix):
    s = make("tool_call").score(prefix + wrong + suffix, tools=TOOLS, answer=[{"name": "probe", "arguments": {"x": 1}}])
    assert s.reward == 0.0, (prefix + wrong + suffix, s.info)


NOISE = st.lists(st.sampled_from(['{', '}', '[', ']', ',', ':', '"', "'", ' ', '\n', '\\', '```json\n', '```', '0',
                                  '1e999', '-', 'NaN', 'null', 'true', 'x', '"name"', '"arguments"', '"add"', '"f"',
                                  '"tool_calls"', '"function"', '<tool_call>', '</tool_call>', '<think>', '</think>',
                                  '\ud800']), max_size=40).map("".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(NOISE | st.text(max_size=60))
def test_no_text_makes_a_verifier_raise(text):
    tools = [{"name": "add", "parameters": {"type": "object"}}, {"name": "f"}]
    for answer in ([], [{"name": "add", "arguments": {}}]):
        s = make("tool_call").score(text, tools=tools, answer=answer)
        assert s.reward in (0.0, 1.0) and s.info["reason"]
    s = make("json_schema").score(text, schema={"type": "object"})
    assert s.reward in (0.0, 1.0) and s.info["reason"]


@settings(max_examples=200, deadline=None)
@given(k=st.integers(-10**6, 10**6), places=st.integers(0, 6), step_digit=st.sampled_from([1, 2, 5]),
       off=st.booleans())
def test_multiple_of_is_decimal_exact(k, places, step_digit, off):
    """A decimal written as k steps of a decimal step is a multiple of it, and half a step more is not, where
    a double division says otherwise (19.99 / 0.01)."""
    from decimal import Decimal

    step = Decimal(step_digit).scaleb(-places)
    value = k * step + (step / 2 if off else 0)
    schema = {"properties": {"n": {"multipleOf": float(step) if places else int(step)}}}
    reward = make("json_schema").score('{"n": ' + format(value, "f") + '}', schema=schema).reward
    assert reward == (0.0 if off else 1.0), (value, step)


@settings(max_examples=30, deadline=None)
@given(st.data(), CALLS, st.integers(1, 60_000), st.sampled_from(["{", "{{ ", "[a] ", "{x} "]))
def test_prose_brackets_before_call_blocks_are_no_nesting(data, calls, count, bracket):
    """Red-team round 3: 50,000 prose `{` before a correct `<tool_call>` block refused it as too_deep (T13)."""
    dumper = Dumper(data)
    blocks = "".join(f"<tool_call>{dumper.ws()}{dumper.dump(c)}{dumper.ws()}</tool_call>\n" for c in calls)
    text = (bracket * count)[:150_000] + "\n" + blocks
    s = make("tool_call").score(text, tools=TOOLS, answer=calls)
    assert s.reward == 1.0, (text[-200:], s.info)
