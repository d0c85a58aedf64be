"""Pure parts of the judge: output normalisation, the verdict's bounds, the result type (no processes)."""

from sandbox import judge
from sandbox.result import STATUSES, Result


def test_output_normalisation_ignores_trailing_space_only():
    assert judge._normalise("1 2  \n3\n\n") == judge._normalise("1 2\n3")
    assert judge._normalise("1 2\n3") != judge._normalise("1 2\n 3")


def test_verdicts_are_bounded_and_valid_utf8():
    v = judge._bounded({"status": "pass!", "passed": 10**40, "total": -1, "detail": "\ud800" + "x" * 10**6})
    assert v["status"] == "error" and v["passed"] == 0 and v["total"] == 0
    assert len(v["detail"]) <= judge.DETAIL_CHARS and v["detail"].encode("utf-8")


def test_result_is_frozen_and_serialisable():
    r = Result("pass", 1, 1, "", 0.01)
    assert r.ok and r.to_dict()["status"] == "pass" and {"escaped_processes", "no_checks"} <= set(STATUSES)
    assert not Result("no_checks").ok
    try:
        r.status = "fail"
    except AttributeError:
        pass
    else:
        raise AssertionError("Result is not frozen")
