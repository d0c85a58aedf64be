"""sandbox: run untrusted, model-written code against trusted tests on one machine.

Knows nothing of rewards or training; depends on neither `rewards` nor `rlvr`.

    from sandbox import Sandbox
    with Sandbox(workers=2) as sb:
        r = sb.run_tests("def add(a, b): return a + b", ["assert add(1, 2) == 3"])
        r.status, r.passed, r.total          # ("pass", 1, 1)

How: a pool of warm workers (one per core), each started with an empty environment inside its own mount,
net, ipc, uts and pid namespaces, with a size-limited tmpfs scratch directory and /root hidden. Per job a
worker forks a child that drops to an unprivileged uid (or zero capabilities in a user namespace), gets
rlimits (address space, CPU, file size, open files, processes), no_new_privs, Landlock (read-only Python,
read-write scratch, no TCP, no signals out) and seccomp (no sockets, exec, ptrace, namespaces, mount,
io_uring, bpf). The verdict is computed outside that child: the trusted test code runs in a separate judge
process and calls the candidate's functions over a pipe; answers are decoded as plain data. Exit codes
and printed text never count as a pass. After each job every process of the job is killed, including
double-forked daemons (status "escaped_processes").

What is covered: the attacks in tests/attacks and ../shared/redteam/sandbox (hangs, fork/thread/memory
bombs, output floods, file writes and secret reads, network, killing the harness, forged results, lying
`__eq__`, daemons, disk and inode exhaustion, exec, giant answers).
What is not covered: kernel exploits (the shared kernel remains the boundary: run the pool inside a VM or
gVisor for that), side channels, memory pressure across many workers (no usable cgroups here: the
address-space limit is per process), object identity across the boundary (in-place mutations of
arguments are not seen by the test), and hostile *test* code (tests are trusted).
"""

from __future__ import annotations

import atexit
import threading

from .pool import Sandbox, SandboxUnavailable
from .result import STATUSES, Result

__all__ = ["Sandbox", "Result", "SandboxUnavailable", "STATUSES", "default_sandbox", "run_tests", "run_io"]

_default: Sandbox | None = None
_default_lock = threading.Lock()


def default_sandbox() -> Sandbox:
    """A process-wide Sandbox with default settings, started on first use and closed at exit."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Sandbox()
            atexit.register(_default.close)
        return _default


def run_tests(source: str, tests, entry_point: str | None = None, timeout: float = 5.0) -> Result:
    """`default_sandbox().run_tests(...)`."""
    return default_sandbox().run_tests(source, tests, entry_point=entry_point, timeout=timeout)


def run_io(source: str, stdin: str, expected_stdout: str, timeout: float = 5.0) -> Result:
    """`default_sandbox().run_io(...)`."""
    return default_sandbox().run_io(source, stdin, expected_stdout, timeout=timeout)
