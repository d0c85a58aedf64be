"""worker._merge: what the kernel and the worker saw may correct the judge's verdict, never the candidate."""

import signal

from sandbox.worker import _merge


def _v(status="fail", detail="d"):
    return {"status": status, "passed": 0, "total": 1, "detail": detail}


def merge(verdict, *, kind="tests", escaped=0, status=None, cpu_s=0.0, cpu_limit=7, setup_error=""):
    return _merge(verdict, kind, escaped, status, cpu_s, cpu_limit, setup_error, 0.01)


def test_sigxcpu_below_our_limit_is_not_a_timeout():
    out = merge(_v("exited"), status=signal.SIGXCPU, cpu_s=1.0)
    assert out["status"] == "exited" and "SIGXCPU" in out["detail"]


def test_sigxcpu_at_our_limit_is_a_timeout():
    assert merge(_v("exited"), status=signal.SIGXCPU, cpu_s=7.0)["status"] == "timeout"
    assert merge(_v("exited"), status=signal.SIGKILL, cpu_s=8.0)["status"] == "timeout"  # past the hard limit


def test_io_pass_needs_a_clean_exit_status_from_the_kernel():
    assert merge(_v("pass", ""), kind="io", status=0)["status"] == "pass"
    out = merge(_v("pass", ""), kind="io", status=3 << 8)
    assert out["status"] == "fail" and "status 3" in out["detail"]
    assert merge(_v("pass", ""), kind="io", status=signal.SIGSEGV)["status"] == "fail"
    assert merge(_v("pass", ""), kind="io", status=None)["status"] == "fail"


def test_setup_errors_come_only_from_the_setup_pipe():
    assert merge(_v("exited"), setup_error="OSError: x")["status"] == "error"
    assert merge(_v("bad_response"))["status"] == "bad_response"


def test_processes_left_behind_turn_pass_into_escaped():
    assert merge(_v("pass", ""), escaped=2, status=signal.SIGKILL)["status"] == "escaped_processes"
    assert merge(_v("timeout"), escaped=2)["status"] == "timeout"
