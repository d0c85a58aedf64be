"""Where the learner's GRPO step spends its time: torch.profiler over one `Learner.train_step`, top ops by CPU time.

    python benchmarks/learner_profile.py [--model embedded:smollm2-135m-instruct] [--quantize nf4] [--out PATH]

The step is the default job's shape: 32 samples of 45 prompt + 30-64 completion tokens, micro_batch 4,
temperature 0.7, after one warm-up step; also times the same step under bf16 autocast (a candidate, not what the
learner does). Writes the op table and the timings as JSON (default results/learner_profile.json).
What it does NOT do: change the learner, profile the sampler, or check numerics under autocast.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import random
import time

import torch
from torch.profiler import ProfilerActivity, profile

from rlvr.learn.learner import Learner
from rlvr.model import resolve_model
from rlvr.types import TrainSample


def _samples(n: int = 32) -> list[TrainSample]:
    rng = random.Random(0)
    return [TrainSample([rng.randrange(10, 40000) for _ in range(45)],
                        [rng.randrange(10, 40000) for _ in range(rng.randint(30, 64))], rng.uniform(-1, 1))
            for _ in range(n)]


def _timed(learner: Learner, samples, autocast: bool) -> float:
    ctx = torch.autocast("cpu", dtype=torch.bfloat16) if autocast else contextlib.nullcontext()
    with ctx:
        t = time.perf_counter()
        learner.train_step(samples, temperature=0.7)
        return round(time.perf_counter() - t, 2)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="embedded:smollm2-135m-instruct")
    ap.add_argument("--quantize", default="nf4", choices=["nf4", "none"])
    ap.add_argument("--out", default="results/learner_profile.json")
    a = ap.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)
    learner = Learner(str(resolve_model(a.model)), quantize=a.quantize, lora_rank=16, lora_alpha=32, lr=3e-4,
                      micro_batch=4, device="cpu")
    samples = _samples()
    learner.train_step(samples, temperature=0.7)  # warm-up
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        learner.train_step(samples, temperature=0.7)
    events = sorted(prof.key_averages(), key=lambda e: -e.self_cpu_time_total)
    total = sum(e.self_cpu_time_total for e in events) or 1
    ops = [{"op": e.key, "self_cpu_s": round(e.self_cpu_time_total / 1e6, 3),
            "share": round(e.self_cpu_time_total / total, 4), "calls": e.count} for e in events[:25]]
    timing = {"fp32": [_timed(learner, samples, False) for _ in range(2)],
              "bf16_autocast": [_timed(learner, samples, True) for _ in range(2)]}
    out = {"benchmark": "learner_profile", "model": a.model, "quantize": a.quantize, "samples": len(samples),
           "micro_batch": 4, "ops": ops, "step_s": timing,
           "machine": {"cpus": os.cpu_count(), "platform": platform.machine(), "load": os.getloadavg()}}
    with open(a.out, "w") as f:
        json.dump(out, f, indent=1)
    for o in ops[:12]:
        print(f"{o['op'][:48]:48s} {o['self_cpu_s']:8.2f} s {o['share']:6.1%} x{o['calls']}")
    print(f"step s: fp32 {timing['fp32']}, bf16 autocast {timing['bf16_autocast']}; wrote {a.out}")


if __name__ == "__main__":
    main()
