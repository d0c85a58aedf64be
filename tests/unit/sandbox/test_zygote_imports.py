"""The judges' zygote forks once per job: what the worker imports before forking it is paid on every fork.

`threading` registers an at-fork hook that runs Python code in every child (measured: a fork from a process
that imported it took 0.75 ms of CPU instead of 0.4), so neither the worker nor the judge may import it.
"""

import subprocess
import sys

from sandbox import pool


def test_worker_and_judge_imports_leave_threading_out():
    boot = pool._BOOT.replace("from sandbox.worker import main; main()",
                              "import sandbox.worker, sandbox.judge; print('threading' in sys.modules)")
    out = subprocess.run([sys.executable, "-I", "-c", boot], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_the_zygotes_warm_up_leaves_threading_out():
    """The warm-up (sandbox/warm.py) runs judge and child code in the zygotes before they freeze: whatever it
    imports stays in every job's fork."""
    code = ("import sandbox.worker, sandbox.warm as w; w.candidate_side(2); "
            "w.judge_side({'output_bytes': 1 << 20, 'response_bytes': 1 << 20}, 3); "
            "print('threading' in sys.modules)")
    boot = pool._BOOT.replace("from sandbox.worker import main; main()", code)
    out = subprocess.run([sys.executable, "-I", "-c", boot], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
