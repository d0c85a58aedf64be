"""Jobs per second: the sandbox (all layers on) vs plain `subprocess.run([python, ...])` on the same jobs.

Each job is `add` plus three asserts. The plain baseline runs solution + asserts in a fresh interpreter with
no isolation and trusts its exit code (what a naive harness does). Both run at 1 and 2 concurrent workers
in the same process run, so the ratio is measured under the same machine load. Writes JSON (default
results/sandbox_throughput.json). Usage: python benchmarks/sandbox_throughput.py [--jobs N] [--out PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sandbox import Sandbox

SOURCE = "def add(a, b):\n    return a + b\n"
TESTS = ["assert add(1, 2) == 3", "assert add(-1, 1) == 0", "assert add(0, 0) == 0"]


def _plain(_: int) -> bool:
    code = SOURCE + "\n".join(TESTS) + "\n"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=30).returncode == 0


def _rate(fn, jobs: int, workers: int) -> float:
    with ThreadPoolExecutor(workers) as ex:
        list(ex.map(fn, range(min(jobs, 4 * workers))))  # warm-up
        t0 = time.perf_counter()
        ok = list(ex.map(fn, range(jobs)))
        dt = time.perf_counter() - t0
    assert all(ok), "a job failed"
    return jobs / dt


def measure(jobs: int) -> dict:
    rows = []
    for workers in (1, 2):
        with Sandbox(workers=workers) as sb:
            sb.start()
            layers = sb.layers
            sandboxed = _rate(lambda _: sb.run_tests(SOURCE, TESTS).status == "pass", jobs, workers)
        plain = _rate(_plain, jobs, workers)
        rows.append({"workers": workers, "sandbox_jobs_per_s": round(sandboxed, 1),
                     "subprocess_jobs_per_s": round(plain, 1), "ratio": round(sandboxed / plain, 2)})
        print(rows[-1], flush=True)
    return {"benchmark": "sandbox_throughput", "job": "add + 3 asserts", "jobs_per_point": jobs,
            "results": rows, "layers": layers, "python": platform.python_version(),
            "kernel": platform.release(), "cpus": os.cpu_count(), "loadavg_at_end": os.getloadavg()}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=300)
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "results/sandbox_throughput.json")
    args = ap.parse_args()
    report = measure(args.jobs)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps(report["results"]))


if __name__ == "__main__":
    main()
