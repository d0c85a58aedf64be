"""The job's memory, sampled while it runs: RSS and PSS summed over the driver and every process it started.

A local Ray cluster is the driver's process tree (gcs_server, raylet, the learner and sampler actors, the
vLLM workers they spawn, the reward pool's workers), so summing over the driver's descendants covers
"all actors together" plus Ray's own daemons. RSS counts shared pages (torch's libraries, mmapped
weights) once per process, so the summed RSS is an upper bound; PSS splits shared pages between their
users and sums to what the job really holds. A daemon thread reads /proc every `interval_s`; the peak is
of the sum at one instant, not a sum of per-process peaks.

What this module does NOT do: see processes on other machines (on a multi-node cluster it measures this
node's part of the job only), count GPU memory, or work without /proc (it then reports nothing).
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

__all__ = ["MemoryWatch", "process_tree", "read_memory", "write_summary"]

_GB = 1 << 30


def process_tree(root: int) -> list[int]:
    """`root` and all its live descendants (from /proc/*/stat's ppid field)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:  # exited meanwhile
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])  # the name in (...) may hold spaces
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, ()))
    return out


def read_memory(pid: int) -> tuple[int, int] | None:
    """(RSS, PSS) in bytes of one process, None once it has exited. PSS falls back to RSS when
    smaps_rollup is unreadable (old kernels, another user's process)."""
    try:
        with open(f"/proc/{pid}/statm") as f:
            rss = int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            pss = next(int(line.split()[1]) * 1024 for line in f if line.startswith("Pss:"))
    except (OSError, ValueError, StopIteration):
        pss = rss
    return rss, pss


def _name(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return "?"
    return cmd[:80] or "?"


class MemoryWatch:
    """Samples the job's memory in a daemon thread between `start()` and `stop()` (which returns a summary)."""

    def __init__(self, interval_s: float = 1.0, root: int | None = None):
        self.interval_s, self.root = interval_s, root or os.getpid()
        self.samples: list[tuple[float, float, float]] = []  # (seconds since start, RSS GiB, PSS GiB)
        self.peak: dict = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="rlvr-memwatch", daemon=True)
        self._t0 = 0.0

    def start(self) -> MemoryWatch:
        self._t0 = time.monotonic()
        if os.path.isdir("/proc"):
            self._thread.start()
        return self

    def sample(self) -> None:
        per = {pid: m for pid in process_tree(self.root) if (m := read_memory(pid)) is not None}
        rss, pss = sum(m[0] for m in per.values()) / _GB, sum(m[1] for m in per.values()) / _GB
        t = time.monotonic() - self._t0
        self.samples.append((round(t, 1), round(rss, 3), round(pss, 3)))
        if rss > self.peak.get("peak_rss_gib", -1.0):
            top = sorted(per.items(), key=lambda kv: -kv[1][0])[:10]
            self.peak = {"peak_rss_gib": round(rss, 3), "pss_at_peak_gib": round(pss, 3), "at_s": round(t, 1),
                         "processes": len(per),
                         "largest": [{"pid": p, "rss_gib": round(m[0] / _GB, 3), "pss_gib": round(m[1] / _GB, 3),
                                      "cmd": _name(p)} for p, m in top]}
        self.peak["peak_pss_gib"] = round(max(self.peak.get("peak_pss_gib", 0.0), pss), 3)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.sample()
            except Exception:  # a measurement must never take the job down
                pass
            self._stop.wait(self.interval_s)

    def stop(self) -> dict:
        """Stop sampling; the summary: peaks, the largest processes at the RSS peak, and the time series."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        return {"interval_s": self.interval_s, "samples": len(self.samples), **self.peak,
                "series": [list(s) for s in self.samples]}


def write_summary(summary: dict, out_dir: str | os.PathLike) -> str:
    """Write `memory.json` into the run folder; the one line the console shows about it."""
    from rlvr.run.outputs import MEMORY

    Path(out_dir, MEMORY).write_text(json.dumps(summary, indent=1))
    if "peak_rss_gib" not in summary:
        return "memory: not measured (no /proc)"
    return (f"peak memory of the job (driver, Ray and every actor, sampled every {summary['interval_s']:g} s): "
            f"{summary['peak_rss_gib']:.2f} GiB RSS, {summary['peak_pss_gib']:.2f} GiB PSS "
            f"({summary['processes']} processes; memory.json)")
