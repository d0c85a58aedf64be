"""Jobs per second: the sandbox (all layers on) vs plain `subprocess.run([python, ...])` on the same jobs.

Each job is `add` plus three asserts. The plain baseline runs solution + asserts in a fresh interpreter with
no isolation and trusts its exit code (what a naive harness does). Both run at 1 and 2 concurrent workers
in the same process run, so the ratio is measured under the same machine load. Also measured in the same
run: CPU milliseconds per job for both (the whole process tree: pool, workers, zygotes, judges, jobs, from
a cpuacct cgroup made for this run; where the host has none, from getrusage of this process and its
reaped descendants over each point, start-up included). Unlike jobs/s, CPU per job hardly moves with other
load on a shared machine, so the JSON also gives the ceiling it implies, `2 cores / CPU per job`
(`sandbox_ceiling_jobs_per_s_2_cores`): the rate two fully busy cores would sustain. Then the cost of the
per-job IPC namespace (an ablation: seccomp already denies SysV/mq IPC), and fairness: how long a small job
takes next to a job of 60 spinning processes in the other worker, with the per-worker cgroup and without it.
The baseline's cost is mostly the interpreter's start-up, which depends on the environment behind
`sys.executable` (a venv with `.pth` import hooks, e.g. an editable install, doubles it), so the JSON names it.
Writes JSON (default results/sandbox_throughput.json).
Usage: python benchmarks/sandbox_throughput.py [--jobs N] [--out PATH] [--skip-fairness] [--subprocess-python PY]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sandbox import Sandbox

SOURCE = "def add(a, b):\n    return a + b\n"
TESTS = ["assert add(1, 2) == 3", "assert add(-1, 1) == 0", "assert add(0, 0) == 0"]
HOG = ("import os, time\nfor _ in range(60):\n    if os.fork() == 0:\n        os.setsid()\n        t = time.time() + 8\n"
       "        while time.time() < t:\n            pass\n        os._exit(0)\ntime.sleep(8)\n"
       "def ok():\n    return True\n")
SMALL = "def work():\n    return sum(i * i for i in range(200_000))\n"


PLAIN_PYTHON = [sys.executable]  # the peer's interpreter (--subprocess-python)


def _plain(_: int) -> bool:
    code = SOURCE + "\n".join(TESTS) + "\n"
    return subprocess.run([PLAIN_PYTHON[0], "-c", code], capture_output=True, timeout=30).returncode == 0


class CpuMeter:
    """CPU seconds of this process and all its descendants, from a cpuacct (v1) cgroup made for us; without
    one, getrusage of this process and its reaped descendants (`source` says which)."""

    def __init__(self):
        self.path, self.source = None, "getrusage (self + reaped children)"
        try:
            path = f"/sys/fs/cgroup/cpuacct/sbx-bench-{os.getpid()}"
            os.mkdir(path)
            Path(path, "cgroup.procs").write_text(str(os.getpid()))
            self.path, self.source = path, "cpuacct cgroup"
        except OSError:
            pass

    def seconds(self) -> float:
        if self.path:
            return int(Path(self.path, "cpuacct.usage").read_text()) / 1e9
        own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime

    def close(self) -> None:
        if self.path:
            Path("/sys/fs/cgroup/cpuacct/cgroup.procs").write_text(str(os.getpid()))
            time.sleep(0.5)  # descendants that moved with us are gone by now
            try:
                os.rmdir(self.path)
            except OSError:
                pass


def _rate(fn, jobs: int, workers: int, meter: CpuMeter) -> tuple[float, float]:
    with ThreadPoolExecutor(workers) as ex:
        list(ex.map(fn, range(min(jobs, 4 * workers))))  # warm-up
        c0, t0 = meter.seconds(), time.perf_counter()
        ok = list(ex.map(fn, range(jobs)))
        dt, c1 = time.perf_counter() - t0, meter.seconds()
    failed = len(ok) - sum(ok)
    if failed:  # e.g. a timeout on a heavily loaded machine: counted, not fatal
        print(f"{failed} of {jobs} jobs did not pass", file=sys.stderr)
    assert failed <= jobs // 100, f"{failed} of {jobs} jobs did not pass"
    return jobs / dt, (c1 - c0) / jobs * 1e3


def _sandboxed(workers: int, jobs: int, meter: CpuMeter, **cfg) -> tuple[float, float, dict]:
    """(jobs/s, CPU ms per job, layers). With cpuacct the CPU covers the timed jobs only; with getrusage
    it covers the sandbox's whole life (its processes count once reaped), start-up and warm-up included."""
    c0 = meter.seconds()
    with Sandbox(workers=workers) as sb:
        sb._cfg.update(cfg)  # benchmark-only switches (the ablation below)
        sb.start()
        rate, cpu = _rate(lambda _: sb.run_tests(SOURCE, TESTS).status == "pass", jobs, workers, meter)
        layers = sb.layers
    if meter.path is None:
        cpu = (meter.seconds() - c0) / jobs * 1e3
    return rate, cpu, layers


def fairness(with_cgroup: bool) -> float:
    """Seconds the small job takes while the other worker runs HOG (60 spinning processes)."""
    kw = {} if with_cgroup else {"disable": ["cgroup"], "allow_missing": ["cgroup"]}
    with Sandbox(workers=2, timeout=30.0, **kw) as sb:
        sb.start()
        hog = threading.Thread(target=sb.run_tests, args=(HOG, ["assert ok()"]))
        hog.start()
        time.sleep(1.5)
        t0 = time.perf_counter()
        r = sb.run_tests(SMALL, ["assert work() == sum(i * i for i in range(200_000))"], timeout=30.0)
        dt = time.perf_counter() - t0
        hog.join()
    assert r.status == "pass", r
    return dt


def measure(jobs: int, skip_fairness: bool) -> dict:
    meter, rows, load0 = CpuMeter(), [], os.getloadavg()
    try:
        for workers in (1, 2):
            sandboxed, cpu, layers = _sandboxed(workers, jobs, meter)
            plain, plain_cpu = _rate(_plain, jobs, workers, meter)
            rows.append({"workers": workers, "sandbox_jobs_per_s": round(sandboxed, 1),
                         "subprocess_jobs_per_s": round(plain, 1), "ratio": round(sandboxed / plain, 2),
                         "sandbox_cpu_ms_per_job": round(cpu, 2), "subprocess_cpu_ms_per_job": round(plain_cpu, 2),
                         "sandbox_ceiling_jobs_per_s_2_cores": round(2e3 / cpu, 1),
                         "subprocess_ceiling_jobs_per_s_2_cores": round(2e3 / plain_cpu, 1),
                         "cpu_ratio": round(plain_cpu / cpu, 2)})
            print(rows[-1], flush=True)
        no_ipc_ns, no_ipc_cpu, _ = _sandboxed(1, jobs, meter, no_ipc_ns_per_job=True)
        ablation = {"workers": 1, "without_ipc_ns_per_job_jobs_per_s": round(no_ipc_ns, 1),
                    "without_ipc_ns_per_job_cpu_ms": round(no_ipc_cpu, 2)}
        print(ablation, flush=True)
    finally:
        meter.close()
    report = {"benchmark": "sandbox_throughput", "job": "add + 3 asserts", "jobs_per_point": jobs,
              "results": rows, "ipc_namespace_ablation": ablation, "layers": layers,
              "cpu_source": meter.source, "python": platform.python_version(), "subprocess_python": PLAIN_PYTHON[0],
              "kernel": platform.release(), "cpus": os.cpu_count()}
    if not skip_fairness:
        report["fairness_small_job_s_next_to_60_spinners"] = {
            "with_cgroup": round(fairness(True), 3), "without_cgroup": round(fairness(False), 3)}
        print(report["fairness_small_job_s_next_to_60_spinners"], flush=True)
    report["loadavg_at_start"], report["loadavg_at_end"] = load0, os.getloadavg()
    return report


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=300)
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "results/sandbox_throughput.json")
    ap.add_argument("--skip-fairness", action="store_true")
    ap.add_argument("--subprocess-python", default=sys.executable,
                    help="the peer's interpreter (its start-up is most of its cost: a venv with .pth hooks doubles it)")
    args = ap.parse_args()
    PLAIN_PYTHON[0] = args.subprocess_python
    report = measure(args.jobs, args.skip_fairness)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps(report["results"]))


if __name__ == "__main__":
    main()
