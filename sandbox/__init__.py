"""sandbox: run untrusted, model-written code against trusted tests on one machine.

Knows nothing of rewards or training; depends on neither `rewards` nor `rlvr`.

    from sandbox import Sandbox
    with Sandbox(workers=2) as sb:
        r = sb.run_tests("def add(a, b): return a + b", ["assert add(1, 2) == 3"])
        r.status, r.passed, r.total          # ("pass", 1, 1)

How: a pool of warm workers (one per core), each started with an empty environment inside its own mount,
net, ipc, uts and pid namespaces, with /root hidden and its own v1 cgroup (CPU share, memory, processes)
for the job it runs. At start-up, before any job, a worker forks a zygote that only ever forks candidates.
Per job the zygote forks a child that receives the job's source over a pipe, enters a fresh IPC namespace,
works in a tmpfs mounted for this job alone, drops to an unprivileged uid (or zero capabilities in a user
namespace), gets rlimits (address space, CPU, file size, open files, processes), no_new_privs, Landlock
(read-only Python, read-write scratch, no TCP, no signals out) and seccomp (no sockets, exec, ptrace,
namespaces, mount, io_uring, bpf, SysV/mq IPC). The verdict is computed outside that child: the trusted test
code runs in a separate judge process and calls the candidate's functions over a pipe; answers are decoded
as plain data, and objects the candidate returns stay in its process behind handles. Exit codes and
printed text never count as a pass; the exit status, CPU time and setup failures come from the kernel and
from pipes the candidate's code never holds, not from its frames. After each job every process of the job is killed, including double-forked daemons (status "escaped_processes").

Invariant: nothing of job N is observable in job N+1 that runs in the same worker. How each channel is
closed: memory (the candidate's process is forked from the zygote, which never held a source, test,
answer or verdict -- its warm-up before the first job runs fixed data of the package's own, warm.py --; the
source reaches it by pipe after the fork, and the worker moves it with splice(2) without reading it), files, xattrs and ACLs (a new tmpfs per job, detached whole after it), SysV and POSIX
IPC (denied by seccomp, and a fresh IPC namespace per job), processes, zombies and pids (all killed and
reaped before the next job; the cgroup's pids count is back to the zygote alone), environment and fds (the
zygote's are empty; the child keeps fds 0-4 only). Tested in tests/attacks/test_isolation_attacks.py.

The judge's rules (judge.py, testcode.py, remote.py): the judge alone builds the tests' namespace, so a
candidate's `check`, `abs`, `all`, `sorted`, `range`, ... never replace the tests' own names or builtins; it
binds only the entry point and names the tests read but never define. A candidate's exception reaches the
tests only as one opaque `CandidateError` (a test's own `except ValueError` still catches a candidate
ValueError, by name; StopIteration never). A pass needs at least one check that ran (else "no_checks");
partial credit counts checks that ran. Decoding is linear in the answer's size, and one deadline covers it.

What is covered: the attacks in tests/attacks (isolation and the process lifecycle, in
test_isolation_attacks.py: cross-job leaks through memory, scratch files, xattrs and ACLs, IPC, environment
and fds, forged exit/setup frames, a candidate lowering its own CPU limit to pass a fail off as a timeout,
directory chains 100k deep, symlinks in scratch, zombies, memory summed over processes, one job's spinning
processes against the neighbouring worker's job; the judge, in test_judge_attacks.py: namespace shadowing,
exceptions steering trusted control flow, vacuous passes, partial-credit inflation, decode bombs, forged,
duplicated and out-of-order frames, handle abuse, lying objects) and ../shared/redteam/sandbox (hangs,
fork/thread/memory bombs, output floods, file writes and secret reads, network, killing the harness, forged
results, lying `__eq__`, daemons, disk and inode exhaustion, exec, giant answers); hypothesis fuzzing of the
codec and of the judge protocol (tests/unit/sandbox/test_fuzz.py).
What is not covered: kernel exploits (the shared kernel remains the boundary: run the pool inside a VM or
gVisor for that), side and covert channels between jobs (timing, CPU caches, the pid counter of the
worker's namespace, the page cache), hosts without cgroup v1 controllers for us (not root, or v2 only: the
pool warns and runs, with memory bounded per process and CPU shared per session), hostile *test* code
(tests are trusted), test helpers that live in the candidate's source (HumanEval/32's `poly`: a solution
may rewrite them), test-supplied callables passed to the candidate (refused), the candidate's classes used
by the tests for isinstance or subclassing, identity of objects nested inside mutated arguments (copied back
as plain values), and checks that are not `assert` statements (`unittest.TestCase`'s `self.assertEqual`,
`if f(x) != y: raise ...`: such tests end as "no_checks").
"""

from __future__ import annotations

import atexit
import threading

from .pool import Sandbox, SandboxUnavailable
from .result import STATUSES, Result

__all__ = ["Sandbox", "Result", "SandboxUnavailable", "STATUSES", "default_sandbox", "run_tests", "run_io"]

_default: Sandbox | None = None
_default_lock = threading.Lock()


def default_sandbox(workers: int | None = None) -> Sandbox:
    """A process-wide Sandbox with default settings, started on first use and closed at exit.

    `workers`: its pool size (None: Sandbox's default), taken from the first call in the process; later
    calls get the same sandbox (the `code` verifier asks for one worker per `RewardPool` process)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Sandbox(workers=workers)
            atexit.register(_default.close)
        return _default


def run_tests(source: str, tests, entry_point: str | None = None, timeout: float = 5.0) -> Result:
    """`default_sandbox().run_tests(...)`."""
    return default_sandbox().run_tests(source, tests, entry_point=entry_point, timeout=timeout)


def run_io(source: str, stdin: str, expected_stdout: str, timeout: float = 5.0) -> Result:
    """`default_sandbox().run_io(...)`."""
    return default_sandbox().run_io(source, stdin, expected_stdout, timeout=timeout)
