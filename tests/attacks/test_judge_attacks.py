"""Attacks on the judge (not on isolation): one attacked property per test, each through the real sandbox.

Each asserts the verdict is not `pass` (most pin the exact status), and the `honest_after` fixture checks an
honest solution still passes on the same sandbox. Classes: the tests' namespace, candidate exceptions in
trusted control flow, vacuous passes, partial-credit inflation, decode bombs, forged frames, handle abuse,
lying objects. Forged protocol answers are made the way a hostile candidate would: by replacing the child's
own answering code (`sys.modules['sandbox.answer']`) or writing frames to its reply fd.
"""

import time

import pytest

pytestmark = pytest.mark.usefixtures("honest_after")

HE_TESTS = "def check(candidate):\n    assert candidate(2, 3) == 5\n    assert candidate(-1, 1) == 0\n"
FORGE = "import sys\nA = sys.modules['sandbox.answer']\nreal = A.answer\n"  # the child's answering code


def judged(sb, source, tests, **kw):
    r = sb.run_tests(source, tests, **kw)
    assert r.status != "pass", r
    return r


# ---- the tests' namespace is the judge's -----------------------------------------------------------------------
def test_a_helper_named_check_does_not_replace_the_tests_check(sb):
    src = "def check(candidate):\n    return True\ndef add(a, b):\n    return 0\n"
    assert judged(sb, src, HE_TESTS, entry_point="add").status == "fail"


@pytest.mark.parametrize("name, fake", [
    ("abs", "lambda x: 0"), ("all", "lambda xs: True"), ("any", "lambda xs: True"), ("len", "lambda x: 2"),
    ("set", "lambda *a: {1}"), ("sorted", "lambda *a, **k: [1, 2, 3]"),
])
def test_a_top_level_builtin_name_does_not_shadow_the_tests_builtin(sb, name, fake):
    tests = {"abs": "assert abs(add(2, 3) - 5) == 0\n", "all": "assert all([add(1, 1) == 3])\n",
             "any": "assert any([add(1, 1) == 3])\n", "len": "assert len(add([1], [2])) == 2\n",
             "set": "assert set([add(1, 1)]) == {1}\n", "sorted": "assert sorted([add(3, 0), 2, 1]) == [1, 2, 3]\n"}
    src = f"{name} = {fake}\ndef add(a, b):\n    return 0\n"
    assert judged(sb, src, tests[name], entry_point="add").status == "fail"


def test_shadowed_range_zip_enumerate_cannot_empty_the_tests_loops(sb):
    src = "range = zip = enumerate = lambda *a: []\ndef add(a, b):\n    return 0\n"
    tests = "for i in range(3):\n    assert add(i, 1) == i + 1\nfor i, x in enumerate(zip([1], [2])):\n    assert add(*x) == 3\n"
    assert judged(sb, src, tests).status == "fail"


def test_a_forged_ready_frame_cannot_widen_the_candidates_names(sb):
    src = ("import os, json, struct\ndef frame(o):\n    b = json.dumps(o).encode()\n    return struct.pack('!I', len(b)) + b\n"
           "os.write(4, frame({'t': 'ready', 'names': ['add', 'abs', 'check', 'expected'], 'modules': {}}))\n"
           "def add(a, b):\n    return 0\ndef abs(x):\n    return 0\ndef expected(x):\n    return 0\n")
    tests = "def expected(x):\n    return x + 1\nassert abs(add(1, 1) - expected(1)) == 0\n"
    assert judged(sb, src, tests).status in ("fail", "bad_response")


def test_the_tests_own_helper_wins_over_a_candidate_function_of_the_same_name(sb):
    src = "def reference(x):\n    return 0\ndef double(x):\n    return 0\n"
    tests = "def reference(x):\n    return 2 * x\nassert double(4) == reference(4)\n"
    assert judged(sb, src, tests, entry_point="double").status == "fail"


def test_a_candidate_object_named_like_a_module_is_not_that_module(sb):
    src = ("class M:\n    def sqrt(self, x):\n        return 2\n    def __call__(self):\n        return 0\n"
           "math = M()\ndef root(x):\n    return 2\n")
    assert judged(sb, src, "assert root(9) == math.sqrt(9)\n").status == "fail"


def test_a_forged_module_announcement_outside_the_allowlist_is_ignored(sb):
    src = (FORGE + "import os, json, struct\ndef frame(o):\n    b = json.dumps(o).encode()\n"
           "    return struct.pack('!I', len(b)) + b\n"
           "os.write(4, frame({'t': 'ready', 'names': ['f'], 'modules': {'math': 'this'}}))\n"
           "def f(x):\n    return 0\n")
    assert judged(sb, src, "assert f(2) == 0 and math.floor(2.5) == 2\n").status in ("fail", "bad_response")


# ---- candidate exceptions never steer trusted control flow ----------------------------------------------------
def test_stopiteration_cannot_end_map_inside_all(sb):
    src = "def is_even(x):\n    raise StopIteration\n"
    r = judged(sb, src, "assert all(map(is_even, [2, 4, 6]))\n")
    assert r.status == "fail" and "StopIteration" in r.detail


def test_stopiteration_cannot_end_zip_over_the_candidates_answers(sb):
    src = "def sq(x):\n    raise StopIteration\n"
    assert judged(sb, src, "assert all(a == b for a, b in zip(map(sq, [1, 2]), [1, 4]))\n").status == "fail"


def test_stopiteration_cannot_make_next_return_the_default(sb):
    src = "def is_prime(x):\n    raise StopIteration\n"
    tests = "assert next(filter(lambda x: not is_prime(x), [2, 3, 5, 9]), None) is None\n"
    assert judged(sb, src, tests).status == "fail"


def test_a_tests_except_stopiteration_does_not_catch_the_candidates(sb):
    src = "def check_one(x):\n    if x > 1:\n        raise StopIteration\n    return True\n"
    tests = ("it = iter([1, 2, 3])\ntry:\n    while True:\n        assert check_one(next(it))\n"
             "except StopIteration:\n    pass\n")
    assert judged(sb, src, tests).status == "fail"


def test_an_exception_class_named_systemexit_is_only_a_candidate_error(sb):
    src = "class SystemExit(Exception):\n    pass\ndef add(a, b):\n    raise SystemExit(0)\n"
    r = judged(sb, src, "assert add(1, 1) == 2\n")
    assert (r.status, r.passed, r.total) == ("fail", 0, 1)


def test_an_exception_type_name_that_looks_like_a_check_does_not_change_counts(sb):
    src = "E = type('assertion 1 failed', (Exception,), {})\ndef add(a, b):\n    raise E()\n"
    r = judged(sb, src, "assert add(1, 2) == 3\n")
    assert (r.status, r.passed, r.total) == ("fail", 0, 1)


def test_a_huge_exception_message_is_capped_in_the_verdict(sb):
    src = "def add(a, b):\n    raise ValueError('\\ud800' + 'x' * 10**6)\n"
    r = judged(sb, src, "assert add(1, 2) == 3\n")
    assert r.status == "fail" and len(r.detail) <= 300 and r.detail.encode("utf-8")


# ---- vacuous passes ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("tests, entry", [
    ("def helper():\n    assert add(1, 2) == 4\n", None),
    ("if __name__ == '__main__':\n    assert add(1, 2) == 4\n", None),
    (HE_TESTS, None),
    ([], None),
    ("for v in add(1, 2) or []:\n    assert v == 3\n", None),
], ids=["uncalled-function", "main-guard", "check-without-entry-point", "empty-list", "empty-answer-loop"])
def test_no_executed_check_is_never_a_pass(sb, tests, entry):
    assert judged(sb, "def add(a, b):\n    return []\n", tests, entry_point=entry).status == "no_checks"


def test_the_candidate_cannot_empty_a_range_loop_with_its_answer(sb):
    src = "def count(n):\n    return 0\ndef item(i):\n    return -1\n"
    assert judged(sb, src, "for i in range(count(3)):\n    assert item(i) == i\n").status == "no_checks"


def test_one_vacuous_test_in_a_list_blocks_the_pass(sb):
    src = "def add(a, b):\n    return a + b\n"
    r = judged(sb, src, ["assert add(1, 2) == 3", "if False:\n    assert add(1, 1) == 5"])
    assert (r.status, r.passed, r.total) == ("no_checks", 1, 2)


# ---- partial credit counts checks that ran -----------------------------------------------------------------------
def test_a_long_answer_cannot_inflate_partial_credit(sb):
    src = "def primes(n):\n    return [2] * 100000\n"
    tests = "res = primes(3)\nfor p in res:\n    assert p in (2, 3, 5, 7)\nassert res == [2, 3, 5]\n"
    r = judged(sb, src, tests)
    assert (r.status, r.passed, r.total) == ("fail", 1, 2)


def test_an_assert_that_passes_once_then_fails_is_not_counted_passed(sb):
    src = "def sq(x):\n    return 1\n"
    r = judged(sb, src, "for x in [1, 2, 3]:\n    assert sq(x) == x * x\n")
    assert (r.passed, r.total) == (0, 1)


def test_a_swallowed_failed_check_still_fails(sb):
    src = "def add(a, b):\n    return 0\n"
    tests = "try:\n    assert add(1, 2) == 3\nexcept AssertionError:\n    pass\nassert True\n"
    assert judged(sb, src, tests).status == "fail"


# ---- decode bombs: the judge stays linear and within the deadline -------------------------------------------------
@pytest.mark.parametrize("tag", ["S", "F", "D"])
def test_a_hash_colliding_answer_is_refused_quickly(sb, tag):
    # the wire form is sent as is (building the set in the child would only time the child out)
    members = "[M * k for k in range(1, 60000)]" if tag != "D" else "[[M * k, 0] for k in range(1, 60000)]"
    src = (FORGE + f"M = 2 ** 61 - 1\nWIRE = {{{tag!r}: {members}}}\n"
           "def evil(req, ns, h):\n    return {'t': 'ok', 'id': req['id'], 'v': WIRE}\nA.answer = evil\n"
           "def f():\n    return 0\n")
    t0 = time.monotonic()
    r = judged(sb, src, "assert f() == 1\n", timeout=10.0)
    assert r.status == "bad_response" and "hash" in r.detail
    assert time.monotonic() - t0 < 60.0  # generous (shared machine): refused, not decoded for minutes


def test_a_deeply_nested_answer_is_refused(sb):
    src = "def f():\n    x = []\n    for _ in range(50000):\n        x = [x]\n    return x\n"
    assert judged(sb, src, "assert f() == []\n").status in ("fail", "bad_response")


def test_a_huge_integer_answer_is_decoded_in_linear_time(sb):
    src = "import sys\nsys.set_int_max_str_digits(0)\ndef f():\n    return 1 << 3_000_000\n"
    t0 = time.monotonic()
    assert judged(sb, src, "assert f() == 1\n", timeout=10.0).status == "fail"  # not a timeout: decoded in time
    assert time.monotonic() - t0 < 60.0


def test_trusted_work_on_an_answer_is_bounded_by_the_deadline(sb):
    src = "def f():\n    return 0\n"
    t0 = time.monotonic()
    assert judged(sb, src, "f()\nwhile True:\n    pass\n", timeout=1.0).status == "timeout"
    assert time.monotonic() - t0 < 60.0


# ---- forged, duplicated and out-of-order frames -------------------------------------------------------------------
def test_a_duplicated_reply_is_a_bad_response(sb):
    src = FORGE + "def evil(req, ns, h):\n    r = real(req, ns, h)\n    A.codec.write_all(4, A.codec.pack(r))\n    return r\nA.answer = evil\ndef add(a, b):\n    return a + b\n"
    assert judged(sb, src, "assert add(1, 2) == 3\nassert add(1, 1) == 3\n").status == "bad_response"


def test_a_reply_for_the_wrong_id_is_a_bad_response(sb):
    src = FORGE + "def evil(req, ns, h):\n    return {'t': 'ok', 'id': req['id'] + 1, 'v': 3}\nA.answer = evil\ndef add(a, b):\n    return 0\n"
    assert judged(sb, src, "assert add(1, 2) == 3\n").status == "bad_response"


def test_a_boolean_id_is_not_the_integer_id(sb):
    src = FORGE + "def evil(req, ns, h):\n    return {'t': 'ok', 'id': True, 'v': 3}\nA.answer = evil\ndef add(a, b):\n    return 0\n"
    assert judged(sb, src, "assert add(1, 2) == 3\n").status == "bad_response"


def test_a_forged_noattr_reply_to_a_call_is_a_bad_response(sb):
    src = FORGE + "def evil(req, ns, h):\n    return {'t': 'noattr', 'id': req['id']}\nA.answer = evil\ndef add(a, b):\n    return 0\n"
    assert judged(sb, src, "try:\n    add(1, 2)\nexcept AttributeError:\n    assert True\n").status == "bad_response"


# ---- handles and lying objects -------------------------------------------------------------------------------------
def test_lying_eq_inside_a_container_does_not_pass(sb):
    src = "class X:\n    def __eq__(self, o):\n        return True\n    __hash__ = object.__hash__\ndef f():\n    return [X(), X()]\n"
    assert judged(sb, src, "assert f() == [1, 2]\n").status == "fail"


def test_a_lying_snapshot_answer_is_a_bad_response(sb):
    src = (FORGE + "def evil(req, ns, h):\n    if req.get('op') == 'list':\n        return {'t': 'ok', 'id': req['id'], 'v': 'abc'}\n"
           "    return real(req, ns, h)\nA.answer = evil\nclass Box:\n    pass\ndef f():\n    return Box()\n")
    assert judged(sb, src, "assert len(f()) == 3\n").status == "bad_response"


def test_a_contains_that_says_yes_to_everything_does_not_pass(sb):
    src = ("class All:\n    def __contains__(self, x):\n        return True\n    def __iter__(self):\n"
           "        return iter([])\ndef primes_below(n):\n    return All()\n")
    assert judged(sb, src, "r = primes_below(10)\nassert 2 in r and 3 in r and 7 in r\n").status == "fail"


def test_len_and_iteration_of_a_handle_cannot_contradict_each_other(sb):
    src = ("class Liar:\n    def __len__(self):\n        return 3\n    def __iter__(self):\n        return iter([1])\n"
           "def f():\n    return Liar()\n")
    assert judged(sb, src, "r = f()\nassert len(r) == 3 and list(r) == [1]\n").status == "fail"


def test_a_forged_handle_id_is_only_a_candidate_error(sb):
    src = FORGE + "def evil(req, ns, h):\n    return {'t': 'ok', 'id': req['id'], 'v': {'H': 999}}\nA.answer = evil\ndef f():\n    return 0\n"
    assert judged(sb, src, "assert f().value == 1\n").status in ("fail", "bad_response")


def test_a_forged_mutation_record_cannot_rewrite_test_constants(sb):
    src = (FORGE + "def evil(req, ns, h):\n    r = real(req, ns, h)\n"
           "    r['m'] = {'0': [], '1': {'D': []}, 'k:x': [], '7': [1]}\n    return r\nA.answer = evil\n"
           "def total(xs, expected):\n    return 0\n")
    tests = "expected = (6,)\nxs = [1, 2, 3]\nassert total(xs, expected) == expected[0]\n"
    r = judged(sb, src, tests)
    assert r.status in ("fail", "bad_response")


def test_a_str_that_is_not_a_str_is_a_bad_response(sb):
    src = (FORGE + "def evil(req, ns, h):\n    if req.get('op') == 'str':\n        return {'t': 'ok', 'id': req['id'], 'v': 42}\n"
           "    return real(req, ns, h)\nA.answer = evil\nclass P:\n    pass\ndef f():\n    return P()\n")
    assert judged(sb, src, "assert str(f()) == '42'\n").status == "bad_response"


def test_returning_the_candidates_own_class_compares_by_identity_only(sb):
    src = "class Answer:\n    def __eq__(self, o):\n        return True\ndef f():\n    return Answer\n"
    assert judged(sb, src, "assert f() == 5\n").status == "fail"
