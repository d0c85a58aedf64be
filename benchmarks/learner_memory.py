"""The learner's memory with and without `learner.grad_checkpoint`: peak RSS and time of one LoRA forward+backward.

Each side runs in its own fresh interpreter (peak RSS is per process): load the policy (nf4 by default, the
learner's own `rlvr.learn.policy.load_policy`), pack `--batch` sequences of `--tokens` tokens (the last 160 the
completion, as json_schema's), score them with `token_logprobs` at temperature 0.7 and back-propagate their sum.
The peer is the same step keeping its activations (the default). Prints the ratio of peak RSS above the
loaded model and of seconds; writes JSON (default results/learner_memory.json) with the machine load.
Usage: python benchmarks/learner_memory.py [--model embedded:qwen2.5-coder-0.5b-instruct] [--batch 2]
       [--tokens 1000] [--threads 2] [--out PATH]
What it does NOT do: a whole train_step (optimizer, micro-batching) or the sampler; `memory.json` of a run
has the whole job.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def one_side(model: str, ckpt: bool, batch: int, tokens: int, threads: int, quantize: str) -> dict:
    import torch

    from rlvr.learn.policy import load_policy, pack_batch, token_logprobs
    from rlvr.model import resolve_model

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    m = load_policy(str(resolve_model(model)), quantize=quantize, lora_rank=16, lora_alpha=32, lora_dropout=0.0,
                    target_modules=("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"),
                    dtype=torch.float32, device=torch.device("cpu"), grad_checkpoint=ckpt)
    m.train()
    loaded = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    g = torch.Generator().manual_seed(0)
    vocab = m.config.vocab_size
    prompts = [torch.randint(10, vocab - 1, (tokens - 160,), generator=g).tolist() for _ in range(batch)]
    comps = [torch.randint(10, vocab - 1, (160,), generator=g).tolist() for _ in range(batch)]
    packed = pack_batch(prompts, comps, torch.device("cpu"))
    t0 = time.perf_counter()
    token_logprobs(m, packed, temperature=0.7, top_p=1.0).sum().backward()
    return {"grad_checkpoint": ckpt, "seconds": time.perf_counter() - t0, "loaded_peak_gib": loaded,
            "peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="embedded:qwen2.5-coder-0.5b-instruct")
    ap.add_argument("--quantize", default="nf4", choices=["nf4", "none"])
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--tokens", type=int, default=1000)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--out", default=str(ROOT / "results" / "learner_memory.json"))
    ap.add_argument("--side", choices=["0", "1"], help=argparse.SUPPRESS)  # internal: run one side, print JSON
    a = ap.parse_args()
    if a.side is not None:
        print(json.dumps(one_side(a.model, a.side == "1", a.batch, a.tokens, a.threads, a.quantize)))
        return 0
    load = [os.getloadavg()]
    sides = {}
    for ckpt in ("0", "1"):
        out = subprocess.run([sys.executable, __file__, "--side", ckpt, "--model", a.model, "--quantize", a.quantize,
                              "--batch", str(a.batch), "--tokens", str(a.tokens), "--threads", str(a.threads)],
                             capture_output=True, text=True, check=True).stdout
        sides["checkpointed" if ckpt == "1" else "kept"] = json.loads(out.strip().splitlines()[-1])
    load.append(os.getloadavg())
    kept, ck = sides["kept"], sides["checkpointed"]
    above = {k: s["peak_rss_gib"] - s["loaded_peak_gib"] for k, s in sides.items()}
    result = {"benchmark": "learner_memory", "model": a.model, "quantize": a.quantize, "batch": a.batch,
              "tokens": a.tokens, "threads": a.threads, "sides": sides, "peer": "kept (no grad_checkpoint)",
              "peak_ratio": ck["peak_rss_gib"] / kept["peak_rss_gib"],
              "step_memory_ratio": above["checkpointed"] / above["kept"] if above["kept"] > 0 else None,
              "time_ratio": ck["seconds"] / kept["seconds"],
              "machine": {"cpus": os.cpu_count(), "platform": platform.machine(), "load": load}}
    Path(a.out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"[learner_memory] {a.model} {a.quantize}, {a.batch} x {a.tokens} tokens: peak RSS "
          f"{kept['peak_rss_gib']:.2f} -> {ck['peak_rss_gib']:.2f} GiB (x{result['peak_ratio']:.2f}; above the loaded "
          f"model x{result['step_memory_ratio'] or float('nan'):.2f}), time {kept['seconds']:.1f} -> "
          f"{ck['seconds']:.1f} s (x{result['time_ratio']:.2f}) -> {a.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
