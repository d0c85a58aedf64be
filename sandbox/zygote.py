"""The zygote: a small process that never holds job data and only forks the candidate's process per job.

Why: a child forked from a long-lived process inherits a copy of its whole heap. The worker's heap held
earlier jobs' sources and verdicts, so a candidate could read them from its own memory. The zygote is
forked by the worker at start-up, before any job, with only the isolation policies (Landlock ruleset fd,
compiled seccomp program, cgroup fds, limits) and the interpreter; its objects are frozen (`gc.freeze`,
which also spares the children copy-on-write faults from the collector). Per job it receives, over a unix
socket, one fixed byte and the job's pipe ends, forks, and sends the child's pid back. The job's source
reaches the child through one of those pipes after the fork (child.start_job), so the zygote's memory is
the same before and after every job: nothing of job N is in what job N+1 inherits.

The zygote reaps its children without reading their exit status (the worker reads it from the kernel
while the child is a zombie: see worker.py) and only after the worker says it is done with them.
What this module does NOT do: judge, time, kill or clean up jobs (worker.py); confine (child.py).
"""

from __future__ import annotations

import gc
import os
import socket
import struct

from . import child, kernel

FD_NAMES = ("setup", "src", "out", "err", "req", "resp")
GO = b"G"


def serve(ctl: socket.socket, ctx: dict) -> None:
    """The zygote's loop; never returns. Exits when the worker closes the socket."""
    kernel.set_name("sbx-zygote")
    kernel.prctl(kernel.PR_SET_DUMPABLE, 0)
    gc.collect()
    gc.freeze()
    while True:
        try:
            msg, fds, _, _ = socket.recv_fds(ctl, 16, len(FD_NAMES))
        except OSError:
            os._exit(0)
        if msg != GO or len(fds) != len(FD_NAMES):
            os._exit(0)
        kernel.reap_discarding_status()  # the worker has read the last child's status by now
        pid = os.fork()
        if pid == 0:
            ctl.close()
            child.start_job(ctx, dict(zip(FD_NAMES, fds, strict=True)))
        for fd in fds:
            os.close(fd)
        ctl.send(struct.pack("i", pid))


def start(ctx: dict, keep: list[int]) -> tuple[int, socket.socket]:
    """Fork the zygote from the (still job-free) worker; returns (zygote pid, the worker's socket end).

    `keep` lists the worker's fds the zygote needs (ruleset, cgroup fds); every other fd is closed there.
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
                os.dup2(null, fd)
            os.close(null)
            serve(theirs, ctx)
        finally:
            os._exit(1)
    theirs.close()
    return pid, ours


def fork_candidate(ctl: socket.socket, fds: dict[str, int]) -> int:
    """Ask the zygote for a candidate process holding `fds`; returns its pid (in the worker's namespace)."""
    socket.send_fds(ctl, [GO], [fds[n] for n in FD_NAMES])
    reply = ctl.recv(16)
    if len(reply) != 4:
        raise OSError("the zygote did not answer")
    return struct.unpack("i", reply)[0]


def _max_fd() -> int:
    return max((int(n) for n in os.listdir("/proc/self/fd")), default=2)
