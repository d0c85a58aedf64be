"""The judge against a fake child (tests/fixtures/sandbox_fake_child.py): honest answers through handles, and hostile frames."""

import sys
import time
from pathlib import Path

from sandbox import codec

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "fixtures"))
from sandbox_fake_child import run, scripted, serving  # noqa: E402


def frames(*msgs) -> bytes:
    return b"".join(codec.pack(m) for m in msgs)


READY_F = {"t": "ready", "names": ["f"], "modules": {}}


def test_an_honest_answer_passes_and_a_wrong_one_fails():
    assert run(serving("def f(x):\n    return x + 1\n"), "assert f(1) == 2\n")["status"] == "pass"
    assert run(scripted(frames(READY_F, {"t": "ok", "id": 1, "v": 3})), "assert f(1) == 2\n")["status"] == "fail"


def test_objects_come_back_as_handles_and_only_plain_data_is_compared():
    src = ("class Counter:\n    def __init__(self):\n        self.n = 0\n    def add(self, k):\n        self.n += k\n"
           "        return self.n\n    def __iter__(self):\n        return iter(range(self.n))\n    def __str__(self):\n        return f'C{self.n}'\n")
    tests = ("c = Counter()\nassert c.add(2) == 2\nassert c.add(3) == 5\nassert c.n == 5\nassert len(c) == 5\n"
             "assert str(c) == 'C5'\nassert not hasattr(c, 'missing')\nassert c == c and c != Counter()\n"
             "assert 4 in c and 5 not in c and list(c) == [0, 1, 2, 3, 4]\n")
    assert run(serving(src), tests) == {"status": "pass", "passed": 8, "total": 8, "detail": ""}


def test_mutated_arguments_are_copied_back_into_the_tests_objects():
    src = "def fill(xs, d, s, *, extra):\n    xs.sort()\n    d['k'] = 1\n    s.add(3)\n    extra.append(0)\n"
    tests = "xs, d, s, e = [3, 1], {}, set(), []\nfill(xs, d, s, extra=e)\nassert (xs, d, s, e) == ([1, 3], {'k': 1}, {3}, [0])\n"
    assert run(serving(src), tests)["status"] == "pass"


def test_a_candidate_exception_is_opaque_but_matches_a_tests_except_by_builtin_name():
    src = "class Neg(ValueError):\n    pass\ndef f(x):\n    if x < 0:\n        raise Neg('negative')\n    raise StopIteration\n"
    tests = "try:\n    f(-1)\n    assert False\nexcept ValueError as e:\n    assert 'negative' in str(e)\n"
    assert run(serving(src), tests)["status"] == "pass"
    assert run(serving(src), "assert all(map(f, [1, 2]))\n")["status"] == "fail"


def test_replies_out_of_order_duplicated_or_of_the_wrong_type_are_bad_responses():
    for reply in ({"t": "ok", "id": 2, "v": 2}, {"t": "ok", "id": True, "v": 2}, {"t": "ready", "id": 1},
                  {"t": "noattr", "id": 1}, {"t": "ok", "id": 1.0, "v": 2}):
        assert run(scripted(frames(READY_F, reply)), "assert f(1) == 2\n")["status"] == "bad_response", reply
    dup = frames(READY_F, {"t": "ok", "id": 1, "v": 2}, {"t": "ok", "id": 1, "v": 2})
    assert run(scripted(dup), "assert f(1) == 2\nassert f(1) == 2\n")["status"] == "bad_response"


def test_a_reply_over_the_cap_is_refused_before_decoding():
    big = frames(READY_F, {"t": "ok", "id": 1, "v": "x" * (1 << 17)})
    assert run(scripted(big), "assert f(1) == 2\n")["status"] == "response_too_large"


def test_a_hash_colliding_reply_is_refused_in_linear_time():
    m = 2 ** 61 - 1
    bomb = frames(READY_F, {"t": "ok", "id": 1, "v": {"S": [{"I": format(m * k, "x")} for k in range(1, 3000)]}})
    t0 = time.monotonic()
    v = run(scripted(bomb), "assert f(1) == 2\n", limits={"output_bytes": 1 << 16, "response_bytes": 1 << 22})
    assert v["status"] == "bad_response" and time.monotonic() - t0 < 30.0  # generous: did not go quadratic


def test_a_huge_forged_exception_message_gives_a_small_valid_verdict():
    exc = frames(READY_F, {"t": "exc", "id": 1, "type": "E" * 10**4, "bases": ["x"] * 10**4, "msg": "\udc80" * 50000})
    v = run(scripted(exc), "assert f(1) == 2\n", limits={"output_bytes": 1 << 16, "response_bytes": 1 << 22})
    assert v["status"] == "fail" and len(v["detail"]) <= 300 and v["detail"].encode("utf-8")


def test_the_deadline_holds_while_the_tests_compute():
    t0 = time.monotonic()
    v = run(serving("def f():\n    return 1\n"), "f()\nwhile True:\n    pass\n", timeout=0.5)
    assert v["status"] == "timeout" and time.monotonic() - t0 < 30.0  # generous: returned at all


def test_a_swallowed_abort_stays_sticky():
    tests = "for _ in range(3):\n    try:\n        f(1)\n    except BaseException:\n        pass\nassert True\n"
    v = run(scripted(frames(READY_F, {"t": "ok", "id": 7, "v": 2})), tests)
    assert v["status"] == "bad_response"


def test_a_child_that_dies_mid_call_is_exited():
    assert run(scripted(frames(READY_F)), "assert f(1) == 2\n")["status"] == "exited"


def test_a_free_name_binds_only_the_module_of_the_same_name():
    tests = "assert f(1) == 2 and math.sqrt(4) == 2\n"
    same = {"t": "ready", "names": ["f"], "modules": {"math": "math"}}
    other = {"t": "ready", "names": ["f"], "modules": {"math": "cmath"}}
    assert run(scripted(frames(same, {"t": "ok", "id": 1, "v": 2})), tests)["status"] == "pass"
    v = run(scripted(frames(other, {"t": "ok", "id": 1, "v": 2})), tests)
    assert v["status"] == "fail" and "NameError" in v["detail"]


def test_the_deadline_holds_inside_decoding(monkeypatch):
    from sandbox import channel

    def endless_decode(*_a, **_k):  # stands in for any decode that would run past the deadline
        while True:
            pass

    monkeypatch.setattr(channel.codec, "decode_value", endless_decode)
    t0 = time.monotonic()
    v = run(scripted(frames(READY_F, {"t": "ok", "id": 1, "v": 2})), "assert f(1) == 2\n", timeout=0.5)
    assert v["status"] == "timeout" and time.monotonic() - t0 < 30.0  # generous: returned at all
