"""Property-based fuzzing (hypothesis) of the codec and of the judge's protocol against a fake child.

Codec: every plain value round-trips with its exact types; any JSON or any bytes either decode to plain
data or raise CodecError, never anything else. Judge: any sequence of frames and junk from the child ends
in a bounded verdict with a known status (returning at all: the fake child has no kill backstop), and is a pass only if the child actually
sent the right answer. Example counts are per test below, times SANDBOX_FUZZ_SCALE (default 1; a longer
fuzzing session: `SANDBOX_FUZZ_SCALE=20 pytest tests/unit/sandbox/test_fuzz.py --hypothesis-show-statistics`).
"""

import json
import math
import os
import sys
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sandbox import codec
from sandbox.result import STATUSES

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "fixtures"))
from sandbox_fake_child import LIMITS, run, scripted  # noqa: E402

SCALE = float(os.environ.get("SANDBOX_FUZZ_SCALE", "1"))


def examples(n: int) -> int:
    return max(1, int(n * SCALE))


hashable = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8)
    | st.binary(max_size=8) | st.complex_numbers(allow_nan=False),
    lambda inner: st.tuples(inner, inner) | st.frozensets(inner, max_size=4), max_leaves=12)
plain = st.recursive(
    hashable | st.floats(),
    lambda inner: (st.lists(inner, max_size=5) | st.tuples(inner, inner) | st.dictionaries(hashable, inner, max_size=4)
                   | st.sets(hashable, max_size=4)),
    max_leaves=25)
json_like = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.sampled_from(["T", "D", "S", "F", "B", "C", "I", "H", "x"]) | st.text(max_size=2), inner,
                      max_size=3),
    max_leaves=20)


def same(a, b) -> bool:
    """Equal with exact types at every level (NaN equals NaN)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return a == b


@settings(max_examples=examples(200), deadline=None)
@given(plain)
def test_every_plain_value_round_trips_with_its_types(value):
    body = codec.pack({"v": codec.encode_value(value)})[codec.HEADER.size:]
    assert same(codec.decode_value(codec.unpack(body)["v"]), value)


@settings(max_examples=examples(200), deadline=None)
@given(json_like)
def test_any_json_decodes_to_plain_data_or_a_codec_error(wire):
    try:
        codec.decode_value(wire)
    except codec.CodecError:
        pass


@settings(max_examples=examples(200), deadline=None)
@given(st.binary(max_size=200) | st.text(max_size=100).map(str.encode))
def test_any_bytes_unpack_to_a_dict_or_a_codec_error(body):
    try:
        assert type(codec.unpack(body)) is dict
    except codec.CodecError:
        pass


frame = st.fixed_dictionaries(
    {"t": st.sampled_from(["ready", "ok", "exc", "noattr", "nolen", "load_error", "confine_error", "exit", "zz"])},
    optional={"id": st.integers(-1, 4) | st.booleans() | st.floats(0, 3), "v": json_like | st.integers(0, 3),
              "names": st.lists(st.sampled_from(["f", "g", "check", "abs", "len"]), max_size=3) | json_like,
              "modules": st.dictionaries(st.sampled_from(["math", "os", "f"]), st.text(max_size=6), max_size=2),
              "type": json_like, "bases": json_like, "msg": json_like, "m": json_like})
chunk = frame.map(codec.pack) | st.binary(max_size=12) | st.integers(0, 1 << 32 - 1).map(codec.HEADER.pack)
TESTS = st.sampled_from(["assert f(1) == 2\n", "assert f(1) == 2\nassert f(2) == 3\n",
                         "def check(candidate):\n    assert candidate(1) == 2\n",
                         "for x in f(1):\n    assert x == 2\n", "assert len(f(1)) == 2\n"])


def _answers_two(chunks) -> bool:
    for c in chunks:
        try:
            msg = codec.unpack(c[codec.HEADER.size:])
            if msg.get("t") == "ok" and codec.decode_value(msg.get("v")) == 2:
                return True
        except Exception:
            continue
    return False


@settings(max_examples=examples(100), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(chunk, max_size=8), TESTS, st.sampled_from([None, "f"]))
def test_any_frame_sequence_ends_in_a_bounded_verdict(chunks, tests, entry_point):
    v = run(scripted(b"".join(chunks)), tests, entry_point=entry_point, timeout=1.0, limits=LIMITS)
    assert set(v) == {"status", "passed", "total", "detail"} and v["status"] in STATUSES
    assert len(json.dumps(v)) < 1000
    if v["status"] == "pass":
        assert _answers_two(chunks) or "len" in tests or "for x" in tests, chunks
