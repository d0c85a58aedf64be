"""Weight sync per mode: bytes and seconds per update, the served update's loss, the check's margins, tok/s.

One contender per (sync mode, sampler dtype), each in a fresh process (`rlvr.bench.workers`): the learner
(nf4 + LoRA r16) and a sampler start, the base goes over once (`full` push), then each update is a real
GRPO `train_step` on completions the sampler just generated (alternating +-1 advantages, so the policy
moves even when rewards are all equal) followed by an adapter-only push (`rlvr.sync.push`). Per update:
- `bytes`, `sync_s` (export + load; `--rig ray` takes `rlvr.run`'s route through the object store);
- `update_loss`: the served update's relative L2 error against the learner's (fingerprint estimate,
  `rlvr.sync.push.update_loss`), and `stale_update_loss`: the same for the sampler *before* the push, i.e.
  what a skipped push or a previous adapter would show; margin = stale / `sync.update_tolerance`;
- the probe's |dlogp| after and before the push (the largest in fp32, the median in bf16: the statistic the
  run judges), against the tolerance calibrated at start-up.
Then generation throughput with the trained adapter served (`gen_tok_s`): what each mode costs rollouts.

What this benchmark does NOT do: compare with a peer (TRL without vLLM has no push), or measure a GPU.
"""

from __future__ import annotations

import statistics
import time

from rlvr.bench import common
from rlvr.bench.workers import run_worker, worker_entry


def add_arguments(p) -> None:
    p.add_argument("--model", default=None, help=f"model name (default {common.DEFAULT_MODEL}; --quick: tiny:0)")
    p.add_argument("--updates", type=int, default=None, help="timed policy updates (default 4; --quick 2)")
    p.add_argument("--rig", choices=("inprocess", "ray"), default="inprocess",
                   help="plain Learner and Sampler in one process, or Ray actors (rlvr.run's route)")
    p.add_argument("--modes", default="lora,merge", help="sync modes to compare (rlvr.sync.push.resolve_mode)")
    p.add_argument("--dtypes", default=None,
                   help="sampler dtypes (default: rlvr's `auto`, and float32 when that differs; --quick: auto only)")
    p.add_argument("--tolerance", type=float, default=None, help="probe tolerance (default: calibrated at start)")
    p.add_argument("--lr", type=float, default=3e-4, help="learner lr for the updates (default: the default job's)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--gen-prompts", type=int, default=None,
                   help="prompts (x8 samples, 64 tokens) for the tok/s part (default 16; --quick 4); fewer for a 0.5B model")


def run(args) -> dict:
    from rlvr.config import SyncConfig
    from rlvr.model import resolve_model
    from rlvr.rollout.sampler import pick_dtype

    model = args.model or (common.QUICK_MODEL if args.quick else common.DEFAULT_MODEL)
    auto = pick_dtype("auto")
    dtypes = args.dtypes.split(",") if args.dtypes else [auto] + ([] if args.quick or auto == "float32" else ["float32"])
    machine = common.machine_info()
    spec = {"model_dir": str(resolve_model(model)), "updates": args.updates or (2 if args.quick else 4),
            "rig": args.rig, "lr": args.lr, "seed": args.seed, "quick": bool(args.quick),
            "tolerance": args.tolerance, "update_tolerance": SyncConfig().update_tolerance,
            "gen_prompts": args.gen_prompts or (4 if args.quick else 16)}
    contenders = []
    for dtype in dtypes:
        for mode in args.modes.split(","):
            common.log(f"contender: mode {mode}, {dtype} sampler")
            contenders.append(run_worker("rlvr.bench.sync", {**spec, "kind": f"{mode}-{dtype}", "mode": mode,
                                                             "dtype": dtype}))
    return _report(args, machine, model, spec, contenders)


def worker_main(spec: dict) -> dict:
    common.set_cpu_env()
    from transformers import AutoTokenizer

    from rlvr.bench.rig import make_rig
    from rlvr.config import SyncConfig
    from rlvr.sync.push import calibrated_tolerance, make_probe, probe_statistic, resolve_mode, update_loss

    quick, dtype = spec["quick"], spec["dtype"]
    stat = probe_statistic(dtype)  # what the run judges: the largest difference in fp32, the median in bf16
    tokenizer = AutoTokenizer.from_pretrained(spec["model_dir"])
    probe = make_probe(tokenizer, SyncConfig().probe_len)
    prompts = common.chat_prompts(tokenizer, common.bench_rows(max(16, spec["gen_prompts"]), seed=spec["seed"]))
    rig = make_rig(spec["rig"], spec["model_dir"], dtype=dtype, lr=spec["lr"], seed=spec["seed"], mode=spec["mode"])
    startup = time.time() - spec["t_launch"]
    try:
        first = rig.push(full=True)
        floor = rig.probe(probe, stat)
        tolerance = calibrated_tolerance(dtype, floor, spec["tolerance"])
        rows = []
        for i in range(spec["updates"]):
            train_s = _update(rig, prompts[:2], max_tokens=16 if quick else 32)
            meta = rig.meta()
            stale = {"stale_update_loss": update_loss(rig.report()["served"], meta["fingerprints"]),
                     "stale_max_diff": rig.probe(probe, stat)}
            timing = rig.push(full=False)
            loss = update_loss(rig.report()["served"], meta["fingerprints"])
            rows.append({"update": i + 1, "train_s": round(train_s, 2), **timing, **stale, "update_loss": loss,
                         "max_diff": rig.probe(probe, stat)})
            common.log(f"{spec['kind']} update {i + 1}: sync {timing['sync_s']:.3f} s, loss {loss:.3g}")
        gen = _generation(rig, spec["mode"], prompts[:spec["gen_prompts"]], group_size=4 if quick else 8,
                          max_tokens=16 if quick else 64)
    finally:
        rig.close()
    lossy = resolve_mode(spec["mode"], dtype)[1]
    return {"mode": spec["mode"], "dtype": dtype, "lossy": lossy, "startup_s": round(startup, 2),
            "first_full_sync": {**first, "max_diff": floor}, "probe_floor": floor, "tolerance": tolerance,
            "update_tolerance": spec["update_tolerance"], "updates": rows, **gen,
            "summary": _summary(rows, tolerance, spec["update_tolerance"], lossy)}


def _update(rig, prompts: list[str], max_tokens: int) -> float:
    """Generate 4 completions per prompt, then one train_step with alternating +-1 advantages."""
    from rlvr.types import TrainSample

    groups = rig.generate(prompts, group_size=4, max_tokens=max_tokens, temperature=1.0)
    samples = [TrainSample(g.prompt_ids, c.token_ids, advantage=1.0 if j % 2 == 0 else -1.0)
               for g in groups for j, c in enumerate(g.completions) if c.token_ids]
    return float(rig.train_step(samples, max_tokens=max_tokens)["seconds"])


def _generation(rig, mode: str, prompts: list[str], group_size: int, max_tokens: int) -> dict:
    """Generation tok/s with the adapter served; in `lora` mode (in-process rig) alternately without the
    adapter path too, twice each, so that the path's own cost is a ratio measured under the same load."""
    def once() -> tuple[int, float]:
        t0 = time.perf_counter()
        groups = rig.generate(prompts, group_size=group_size, max_tokens=max_tokens, temperature=1.0)
        return sum(len(c.token_ids) for g in groups for c in g.completions), time.perf_counter() - t0

    tokens, seconds = once()
    out = {"gen_tokens": tokens, "gen_s": round(seconds, 2), "gen_tok_s": round(tokens / seconds, 1)}
    if mode != "lora" or not hasattr(rig, "serve_adapter"):
        return out
    served, plain = [tokens / seconds], []
    for _ in range(2):
        rig.serve_adapter(False)
        plain.append(_rate(once()))
        rig.serve_adapter(True)
        served.append(_rate(once()))
    served_rate, plain_rate = statistics.median(served), statistics.median(plain)
    return {**out, "gen_tok_s": round(served_rate, 1), "gen_tok_s_without_adapter_path": round(plain_rate, 1),
            "adapter_path_cost": round(1 - served_rate / plain_rate, 3)}


def _rate(sample: tuple[int, float]) -> float:
    return sample[0] / sample[1]


def _summary(rows: list[dict], tolerance: float, update_tolerance: float, lossy: bool) -> dict:
    times = [r["sync_s"] for r in rows]
    worst_loss, worst_diff = max(r["update_loss"] for r in rows), max(r["max_diff"] for r in rows)
    stale_loss = min(r["stale_update_loss"] for r in rows)
    return {"sync_s_p50": round(statistics.median(times), 4), "sync_s_mean": round(statistics.mean(times), 4),
            "sync_s_max": round(max(times), 4), "bytes": rows[-1]["bytes"], "update_loss_max": worst_loss,
            "max_diff": worst_diff, "tolerance": tolerance,
            "check_passed": bool(worst_diff <= tolerance and (lossy or worst_loss <= update_tolerance)),
            # how far over the threshold the least visible stale sampler lands (>= 1: caught)
            "stale_update_margin": stale_loss / update_tolerance,
            "stale_probe_margin": min(r["stale_max_diff"] for r in rows) / tolerance}


def adapter_bytes(model_dir: str) -> int:
    """The LoRA adapter's fp32 size as the bench's learner builds it (rank x (in + out) per target Linear),
    counted on a model built on the meta device: no weights are read."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    from rlvr.bench.rig import LEARNER

    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(model_dir))
    targets, rank = tuple(LEARNER["target_modules"]), LEARNER["lora_rank"]
    return sum(4 * rank * (m.in_features + m.out_features) for name, m in model.named_modules()
               if isinstance(m, torch.nn.Linear) and name.rsplit(".", 1)[-1] in targets)


def _report(args, machine, model, spec, contenders) -> dict:
    table = [[f"{c['mode']} {c['dtype']}" + (" (lossy)" if c["lossy"] else ""), c["summary"]["bytes"] / 1e6,
              c["summary"]["sync_s_p50"], c["summary"]["update_loss_max"], c["summary"]["stale_update_margin"],
              c["probe_floor"], c["summary"]["max_diff"], c["summary"]["stale_probe_margin"], c["gen_tok_s"]]
             for c in contenders]
    print(common.table(table, ["mode", "MB/update", "sync p50 s", "update loss", "stale/update tol",
                               "probe floor", "probe max", "stale/probe tol", "gen tok/s"]))
    adapter = adapter_bytes(spec["model_dir"])
    for c in contenders:  # what crossed the wire per update against the adapter's own size (target <= 2x)
        c["summary"]["bytes_per_adapter_bytes"] = round(c["summary"]["bytes"] / adapter, 4)
    payload = {"benchmark": "sync", "quick": bool(args.quick), "model": model, "rig": args.rig,
               "lr": spec["lr"], "adapter_bytes": adapter, "contenders": contenders, "machine": machine}
    bars = [(f"{c['mode']}\n{c['dtype']}", c["summary"]["sync_s_p50"]) for c in contenders]
    common.write_result(payload, args.out or "results/sync.json", bars, "seconds per update (p50)",
                        f"adapter sync ({args.rig}): {model}")
    return payload


if __name__ == "__main__":
    worker_entry(worker_main)
