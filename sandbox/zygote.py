"""Zygotes: small processes that never hold job data and only fork a job's processes.

Why: a child forked from a long-lived process inherits a copy of its whole heap. The worker's heap held
earlier jobs' sources and verdicts, so a candidate could read them from its own memory. The zygote is
forked by the worker at start-up, before any job, with only the isolation policies (Landlock ruleset fd,
compiled seccomp program, cgroup fds, limits, the candidate's unwritten stdio wrappers) and the interpreter;
it runs a warm-up of fixed jobs of the package's own (warm.py: specialised bytecode and filled caches are
then inherited instead of rebuilt per job), then its objects are frozen (`gc.freeze`, which also spares the
children copy-on-write faults from the collector). Per job it receives, over a unix
socket, one fixed byte and the job's pipe ends, forks, and sends the child's pid back. The job's source
reaches the child through one of those pipes after the fork (child.start_job), so the zygote's memory is
the same before and after every job: nothing of job N is in what job N+1 inherits.

The judge has a zygote of its own for speed: a process that forks takes a copy-on-write fault on every page
it writes afterwards, so the busy worker itself never forks per job (measured: a fifth of its CPU went to
those faults).

The zygote reaps its children without reading their exit status (the worker reads it from the kernel
while the child is a zombie: see worker.py) and only after the worker says it is done with them.
What this module does NOT do: judge, time, kill or clean up jobs (worker.py); confine (child.py).
"""

from __future__ import annotations

import gc
import os
import socket
import struct

from . import cgroups, child, kernel

FD_NAMES = ("setup", "src", "out", "err", "req", "resp")


def serve(ctl: socket.socket, name: str, entry, ctx: dict, nfds: int, warm=None) -> None:
    """A zygote's loop; never returns. Per message: fork, run `entry(ctx, message, fds)` in the child.
    `warm()` runs once first, before the freeze (warm.py: code every job runs, on our own fixed data)."""
    kernel.set_name(name)
    kernel.prctl(kernel.PR_SET_DUMPABLE, 0)
    if ctx.get("cgroup_fds"):
        cgroups.join(ctx["cgroup_fds"])  # so its children are born in the job's group: no move per job
        for fd in ctx["cgroup_fds"]:
            os.close(fd)
    if warm is not None:
        warm()
    gc.collect()
    gc.freeze()
    while True:
        try:
            msg, fds, _, _ = socket.recv_fds(ctl, 64, nfds)
        except OSError:
            os._exit(0)
        if not msg or len(fds) != nfds:
            os._exit(0)
        kernel.reap_discarding_status()  # the worker has read the last child's status by now
        pid = os.fork()
        if pid == 0:
            ctl.close()
            entry(ctx, msg, fds)
            os._exit(1)
        for fd in fds:
            os.close(fd)
        ctl.send(struct.pack("i", pid))


def start(name: str, entry, ctx: dict, keep: list[int], nfds: int, warm=None) -> tuple[int, socket.socket]:
    """Fork a zygote from the worker (before any job); returns (its pid, the worker's socket end).

    `keep` lists the worker's fds the zygote needs (ruleset, cgroup fds, ...); every other fd is closed.
    """
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    pid = os.fork()
    if pid == 0:
        try:
            ours.close()
            kernel.prctl(kernel.PR_SET_PDEATHSIG, 9)
            keep_set = set(keep) | {theirs.fileno()}
            for fd in range(3, _max_fd() + 1):
                if fd not in keep_set:
                    try:
                        os.close(fd)
                    except OSError:
                        pass
            null = os.open("/dev/null", os.O_RDWR)
            for fd in (0, 1):
                if fd not in keep_set:
                    os.dup2(null, fd)
            os.close(null)
            serve(theirs, name, entry, ctx, nfds, warm)
        finally:
            os._exit(1)
    theirs.close()
    return pid, ours


def fork_via(ctl: socket.socket, fds: list[int], msg: bytes = b"G") -> int:
    """Ask a zygote for a child holding `fds`; returns its pid (in the worker's pid namespace)."""
    socket.send_fds(ctl, [msg], fds)
    reply = ctl.recv(16)
    if len(reply) != 4:
        raise OSError("the zygote did not answer")
    return struct.unpack("i", reply)[0]


def candidate_entry(ctx: dict, _msg: bytes, fds: list[int]) -> None:
    child.start_job(ctx, dict(zip(FD_NAMES, fds, strict=True)))


def _max_fd() -> int:
    return max((int(n) for n in os.listdir("/proc/self/fd")), default=2)
