"""Run one contender of a benchmark in a fresh Python process and read back its JSON.

Why a process per contender: vLLM's in-process engine pins OpenMP threads and sets torch's thread
count for the whole process, and a finished engine does not give all its memory back; a fresh
process gives each side the same clean start (and its start-up time is then honest: imports included).

Protocol: the parent writes a spec JSON, runs ``python -m <module> --worker SPEC``; the child writes
its result JSON to ``spec["out"]``. The module must define ``worker_main(spec) -> dict``.

What this module does NOT do: measure anything itself.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rlvr.bench.common import log


def run_worker(module: str, spec: dict, env: dict[str, str] | None = None, timeout_s: float = 3600) -> dict:
    """Run `module`'s worker with `spec` (plus `t_launch`, the wall clock at launch); returns its result."""
    with tempfile.TemporaryDirectory(prefix="rlvr-bench-") as tmp:
        spec_path, out_path = Path(tmp) / "spec.json", Path(tmp) / "out.json"
        spec = {**spec, "out": str(out_path), "t_launch": time.time()}
        spec_path.write_text(json.dumps(spec))
        full_env = {**os.environ, **(env or {})}
        proc = subprocess.run([sys.executable, "-m", module, "--worker", str(spec_path)], env=full_env,
                              timeout=timeout_s, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if proc.returncode != 0 or not out_path.is_file():
            tail = "\n".join(proc.stdout.splitlines()[-40:])
            raise RuntimeError(f"{module} worker {spec.get('kind')} failed (exit {proc.returncode}):\n{tail}")
        return json.loads(out_path.read_text())


def worker_entry(worker_main) -> None:
    """The child side: `python -m module --worker SPEC` -> worker_main(spec) -> spec["out"]."""
    if len(sys.argv) != 3 or sys.argv[1] != "--worker":
        sys.exit(f"usage: python -m {sys.argv[0]} --worker SPEC.json (internal; use python -m rlvr.bench)")
    spec = json.loads(Path(sys.argv[2]).read_text())
    result = worker_main(spec)
    Path(spec["out"]).write_text(json.dumps(result))
    log(f"worker {spec.get('kind')} done")
