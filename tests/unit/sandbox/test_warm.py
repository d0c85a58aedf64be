"""The zygotes' warm-up (sandbox/warm.py) judges its fixed jobs for real: each must pass, or the warm-up
raises (a zygote that raises dies before its first job, which the worker's self-test reports)."""

import subprocess
import sys

from sandbox import pool


def _run(code: str) -> subprocess.CompletedProcess:
    boot = pool._BOOT.replace("from sandbox.worker import main; main()", code)
    return subprocess.run([sys.executable, "-I", "-c", boot], capture_output=True, text=True, timeout=60)


def test_warm_up_jobs_pass_and_leave_no_child():
    out = _run("from sandbox import warm; import os\n"
               "warm.candidate_side(rounds=3)\n"
               "warm.judge_side({'output_bytes': 1 << 20, 'response_bytes': 1 << 20}, rounds=3)\n"
               "try:\n    os.waitpid(-1, os.WNOHANG)\n    print('child left')\n"
               "except ChildProcessError:\n    print('ok')\n")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_a_warm_up_job_that_does_not_pass_raises():
    out = _run("from sandbox import warm\n"
               "warm.TESTS = ['assert add(1, 2) == 4']\n"
               "warm.judge_side({'output_bytes': 1 << 20, 'response_bytes': 1 << 20}, rounds=1)\n")
    assert out.returncode != 0
    assert "the warm-up job did not pass" in out.stderr
