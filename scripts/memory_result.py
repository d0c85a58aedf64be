"""Summarise the peak memory of finished runs into one results file (results/memory_default_job.json).

    python scripts/memory_result.py --machine "2-core AMD EPYC, AVX512-BF16" \
        smollm2=runs/mem3 qwen=runs/mem4 [--target smollm2=8 --target qwen=16] [--out PATH]

Each LABEL=RUN_DIR is a folder `python -m rlvr.run` wrote: its `memory.json` (the whole job's RSS and PSS,
`rlvr.run.memwatch`), `metrics.jsonl` and `config.resolved.yaml`. A target is in decimal GB (the issue's unit);
`meets_target` compares the peak RSS with it. The series is thinned to one point every ~20 s.
What this script does NOT do: run anything or measure memory itself.
"""

from __future__ import annotations

import argparse
import json
import os
from datetime import date
from pathlib import Path

from rlvr.health.report import load_run
from rlvr.run.outputs import MEMORY

_GB_PER_GIB = (1 << 30) / 1e9


def summarise(run_dir: Path, target_gb: float | None) -> dict:
    mem = json.loads((run_dir / MEMORY).read_text())
    rows, _, _, _, cfg = load_run(run_dir)  # metrics lines and the resolved config, as scripts/train_result.py reads them
    steps = [{k: r[k] for k in ("step", "step_s", "gen_s", "seconds", "reward_mean") if k in r}
             for r in rows if "reward_mean" in r]
    every = max(1, round(20 / mem["interval_s"]))
    out = {
        "model": cfg["model"]["path"],
        "learner": {k: cfg["learner"][k] for k in ("quantize", "micro_batch", "grad_checkpoint")},
        "sampler": {k: cfg["sampler"][k] for k in ("dtype", "kv_cache_gib", "group_size", "max_tokens")},
        "steps_completed": len(steps),
        "peak_rss_gib": mem["peak_rss_gib"], "peak_pss_gib": mem["peak_pss_gib"], "at_s": mem["at_s"],
        "peak_rss_gb": round(mem["peak_rss_gib"] * _GB_PER_GIB, 2),
        "largest_at_peak": mem["largest"][:4],
        "steps": steps,
        "series_every_20_s": mem["series"][::every],
    }
    if target_gb is not None:
        out.update(target_gb=target_gb, meets_target=out["peak_rss_gb"] < target_gb)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", nargs="+", help="LABEL=RUN_DIR")
    ap.add_argument("--target", action="append", default=[], help="LABEL=GB")
    ap.add_argument("--machine", required=True)
    ap.add_argument("--out", default="results/memory_default_job.json")
    a = ap.parse_args()
    targets = {k: float(v) for k, v in (t.split("=", 1) for t in a.target)}
    runs = {label: summarise(Path(d), targets.get(label)) for label, d in (r.split("=", 1) for r in a.runs)}
    doc = {"what": "peak memory of the whole job (driver + Ray daemons + learner and sampler actors + reward "
                   "workers), RSS and PSS summed over the driver's process tree, sampled every 1 s by rlvr.run.memwatch",
           "machine": a.machine, "cpus": os.cpu_count(), "date": date.today().isoformat(), "runs": runs}
    Path(a.out).write_text(json.dumps(doc, indent=1) + "\n")
    for label, r in runs.items():
        print(f"{label}: {r['model']} peak {r['peak_rss_gib']:.2f} GiB RSS ({r['peak_rss_gb']:.2f} GB) / "
              f"{r['peak_pss_gib']:.2f} GiB PSS, {r['steps_completed']} steps"
              + (f", target < {r['target_gb']:g} GB: {'met' if r['meets_target'] else 'missed'}" if "target_gb" in r else ""))


if __name__ == "__main__":
    main()
