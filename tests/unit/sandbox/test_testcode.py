"""Preparing trusted test code (no processes): which names are the candidate's, and how checks are counted."""

import builtins

import pytest

from sandbox import testcode
from sandbox.remote import CandidateError, CheckFailed, Checks, Raises, exc_filter


def _run(prep, **extra):
    checks = Checks()
    ns = {"__builtins__": builtins, "__sbx_ok__": checks.passed, "__sbx_fail__": checks.fail,
          "__sbx_exc__": exc_filter, "__sbx_raises__": lambda *a, **k: Raises(checks, *a, **k), **extra}
    exec(prep.code, ns)
    return checks, ns


def test_free_names_exclude_builtins_and_everything_the_tests_bind():
    src = ("import math\nfrom collections import Counter as C\nMETA = 1\n"
           "def check(candidate):\n    for i in range(3):\n        assert candidate(i) == helper(abs(i))\n"
           "class T:\n    pass\ntry:\n    pass\nexcept ValueError as err:\n    pass\n"
           "assert sorted(f(x) for x in [1]) and len(g())\n")
    prep = testcode.prepare(src)
    assert prep.free == {"helper", "f", "g"}
    assert {"math", "C", "META", "check", "candidate", "i", "T", "err", "x"} <= prep.bound


def test_names_from_solution_imports_are_the_candidates():
    prep = testcode.prepare("from solution import two_sum, sorted as s\nassert two_sum(1) == s(2)\n")
    assert prep.free == {"two_sum", "s"}


def test_a_check_is_a_statement_that_ran_and_passes_only_if_every_run_passed():
    checks, _ = _run(testcode.prepare("for i in range(5):\n    assert i >= 0\nassert True, 'm'\n"
                                      "if False:\n    assert False\n"))
    assert (checks.ok, checks.executed) == (2, 2)  # 6 runs of 2 statements; the unexecuted one does not count
    src = "for i in range(1000):\n    try:\n        assert i < 999\n    except AssertionError:\n        pass\n"
    checks, _ = _run(testcode.prepare(src))
    assert (checks.ok, checks.failed, checks.executed) == (0, 1, 1)  # 999 passing runs do not outweigh one failure


def test_a_failed_check_is_recorded_even_when_the_tests_swallow_it():
    checks, _ = _run(testcode.prepare("try:\n    assert 1 == 2\nexcept AssertionError:\n    pass\n"))
    assert (checks.ok, checks.failed) == (0, 1)


def test_failed_assert_raises_the_judges_type_with_no_test_values():
    with pytest.raises(CheckFailed) as e:
        _run(testcode.prepare("assert 1 == 2, 'expected secret 12345'\n"))
    assert "12345" not in str(e.value)


def test_what_runs_after_the_module():
    prep = testcode.prepare("def check(candidate):\n    pass\ndef test_a():\n    pass\ndef test_b(x):\n    pass\n"
                            "def helper_test():\n    pass\nif __name__ == '__main__':\n    test_a()\n")
    assert prep.call_check and prep.test_functions == ("test_a",)
    prep = testcode.prepare("def check(candidate):\n    pass\ncheck(f)\ndef test_a():\n    pass\ntest_a()\n")
    assert not prep.call_check and prep.test_functions == ()


def test_except_clause_matches_a_candidate_error_by_builtin_base_name_only():
    src = ("def boom():\n    raise err\ncaught = []\ntry:\n    boom()\nexcept ValueError:\n    caught.append(1)\n")
    _, ns = _run(testcode.prepare(src), err=CandidateError("MyErr", ("MyErr", "ValueError", "Exception"), "m"))
    assert ns["caught"] == [1]
    with pytest.raises(CandidateError):
        _run(testcode.prepare(src), err=CandidateError("KeyError", ("KeyError", "LookupError"), "m"))
    stop = src.replace("ValueError:", "StopIteration:")
    with pytest.raises(CandidateError):  # control-flow types are never matched by name
        _run(testcode.prepare(stop), err=CandidateError("StopIteration", ("StopIteration", "Exception"), ""))


def test_a_candidate_error_is_no_builtin_exception():
    e = CandidateError("StopIteration", ("StopIteration", "Exception", "BaseException"), "")
    assert not isinstance(e, StopIteration | KeyError | AttributeError) and isinstance(e, Exception)


def test_pytest_raises_is_one_check_and_fails_when_nothing_is_raised():
    err = CandidateError("ValueError", ("ValueError", "Exception"), "bad input")
    src = "import pytest\ndef boom():\n    raise err\nwith pytest.raises(ValueError, match='bad'):\n    boom()\n"
    checks, _ = _run(testcode.prepare(src), err=err)
    assert (checks.ok, checks.failed) == (1, 0)
    with pytest.raises(CheckFailed):
        _run(testcode.prepare("import pytest\nwith pytest.raises(ValueError):\n    pass\n"))


def test_syntax_errors_in_tests_surface():
    with pytest.raises(SyntaxError):
        testcode.prepare("assert (")


FLAT = ["assert add(1, 2) == 3", "assert f(x)[0].y == g(*a, **k)", "assert f'{f(1)!r:>{w}}' == s",
        "f(1)\nassert len(g()) == n if c else m", "assert not (a and b or f(c)), msg", "pass",
        "assert {f(1): [g(2), *h]} == {1: (2,)}", "assert __name__ and __debug__", "assert x[f(1):g(2)]"]
NOT_FLAT = ["x = f(1)\nassert x", "assert [f(i) for i in r]", "assert (y := f(1)) == y", "assert (lambda: f)()",
            "import math\nassert math.pi", "del x", "for i in r:\n    assert f(i)", "assert all(f(i) for i in r)",
            "def test_a():\n    assert f(1)", "from solution import f\nassert f(1)"]


@pytest.mark.parametrize("src", FLAT)
def test_flat_blocks_read_the_names_the_symbol_tables_read(src):
    """The shortcut for flat blocks (no scope, no binding) agrees with the symbol tables it replaces."""
    import ast

    assert testcode._flat_names(ast.parse(src)) == testcode._bound_and_read(src)


@pytest.mark.parametrize("src", NOT_FLAT)
def test_blocks_with_a_scope_or_a_binding_go_to_the_symbol_tables(src):
    import ast

    assert testcode._flat_names(ast.parse(src)) is None
