"""Pure parts of the judge: assert rewriting and output normalisation (no processes)."""

from sandbox import judge
from sandbox.result import STATUSES, Result


def test_asserts_are_rewritten_and_counted():
    code, n = judge._compile_tests("assert 1 == 1\nfor i in range(3):\n    assert i >= 0, 'msg'\n")
    ok: set = set()
    ns = {"__sbx_ok__": ok.add, "__sbx_fail__": lambda i, m: (_ for _ in ()).throw(AssertionError(i))}
    exec(code, ns)
    assert n == 2 and ok == {0, 1}


def test_failed_assert_goes_to_the_judges_hook_not_assertionerror():
    import builtins

    code, _ = judge._compile_tests("assert False")
    calls = []
    exec(code, {"__sbx_ok__": calls.append, "__sbx_fail__": lambda i, m: calls.append(("fail", i)),
                "__builtins__": builtins})
    assert calls[0] == ("fail", 0)


def test_output_normalisation_ignores_trailing_space_only():
    assert judge._normalise("1 2  \n3\n\n") == judge._normalise("1 2\n3")
    assert judge._normalise("1 2\n3") != judge._normalise("1 2\n 3")


def test_result_is_frozen_and_serialisable():
    r = Result("pass", 1, 1, "", 0.01)
    assert r.ok and r.to_dict()["status"] == "pass" and "escaped_processes" in STATUSES
    try:
        r.status = "fail"
    except AttributeError:
        pass
    else:
        raise AssertionError("Result is not frozen")
