"""One cgroup (v1) per worker that holds the job running in it: CPU share, memory and process limits.

Why: rlimits are per process, so without a group a job's 64 spinning processes take 64 shares of the CPU
from a one-process job in the neighbouring worker (measured here: 0.02 s of CPU per wall second for the
neighbour, 0.29 s with a group each), and its processes' memory adds up past the per-process address-space
limit. A group per worker, reused by its jobs one after another, costs nothing per job: the zygote joins it
at start-up, so each candidate's process is born in it (moving a process per job would cost an RCU grace
period), and every process it forks stays in it. The worker counts and kills the job's processes from the
group's list (all but the zygote).

The group lives under this process's own cgroup of each hierarchy (named `sbx-<pid of the worker's outer
process>`); stale groups of dead workers are removed when a worker starts.
What this module does NOT do: cgroup v2 (on these hosts the unified tree offers only hugetlb), or limits
on I/O bandwidth.
"""

from __future__ import annotations

import os

from . import kernel

ROOT = "/sys/fs/cgroup"
CONTROLLERS = ("cpu", "memory", "pids")
PREFIX = "sbx-"


def _own_path(controller: str) -> str:
    """This process's cgroup in the v1 hierarchy that carries `controller` ("" when none does)."""
    with open("/proc/self/cgroup") as f:
        for line in f:
            _, names, path = line.rstrip("\n").split(":", 2)
            if controller in names.split(","):
                return os.path.join(ROOT, controller) + path.rstrip("/")
    raise OSError(2, f"no cgroup v1 hierarchy with the {controller} controller")


def sweep_stale() -> None:
    """Remove empty `sbx-<pid>` groups whose worker is gone (a worker killed before it cleaned up)."""
    for ctrl in CONTROLLERS:
        try:
            base = _own_path(ctrl)
            names = os.listdir(base)
        except OSError:
            continue
        for name in names:
            pid = name[len(PREFIX):]
            if name.startswith(PREFIX) and pid.isdigit() and not os.path.exists(f"/proc/{pid}"):
                try:
                    os.rmdir(os.path.join(base, name))
                except OSError:
                    pass


class JobGroup:
    """The worker's job group in each controller: made at start-up, joined by the zygote, removed at exit."""

    def __init__(self, name: str, memory_bytes: int, max_procs: int):
        self.dirs: list[str] = []
        try:
            for ctrl in CONTROLLERS:
                path = os.path.join(_own_path(ctrl), name)
                os.mkdir(path, 0o700)
                self.dirs.append(path)
            _write(self.dirs[1], "memory.limit_in_bytes", memory_bytes)
            _write(self.dirs[2], "pids.max", max_procs)
            _write(self.dirs[0], "cpu.shares", 1024)
            self.join_fds = [os.open(os.path.join(d, "cgroup.procs"), os.O_WRONLY | os.O_CLOEXEC)
                             for d in self.dirs]
            # pids.current is kept open and re-read from offset 0 (no open or text wrapper per read); not
            # cgroup.procs: v1 caches its pid list per open file, so a re-read could be stale
            self._read_fds = [os.open(os.path.join(self.dirs[2], "pids.current"), os.O_RDONLY | os.O_CLOEXEC)]
        except OSError:
            self.remove()
            raise

    def pids(self) -> list[int]:
        """Live processes in the group (exited ones leave the list at exit, before they are reaped)."""
        return [int(x) for x in kernel.read_file(os.path.join(self.dirs[2], "cgroup.procs")).split()]

    def charged(self) -> int:
        """Tasks the pids controller still counts, zombies included (they leave only when reaped)."""
        return int(kernel.pread_all(self._read_fds[0]))

    def remove(self) -> None:
        for fd in [*getattr(self, "join_fds", ()), *getattr(self, "_read_fds", ())]:
            os.close(fd)
        self.join_fds, self._read_fds = [], []
        for d in reversed(self.dirs):
            try:
                os.rmdir(d)
            except OSError:
                pass
        self.dirs = []


def join(fds: list[int]) -> None:
    """Move the calling process into the group (the zygote, once)."""
    for fd in fds:
        os.write(fd, b"0")


def _write(path: str, name: str, value: int) -> None:
    kernel.write_file(os.path.join(path, name), str(value).encode())
