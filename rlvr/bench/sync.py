"""Weight sync: seconds to push a policy update from the learner to the samplers, and the sync check.

The learner exports the LoRA-touched modules as dense safetensors bytes (nf4 base dequantized + LoRA
delta, in the sampler's dtype; `rlvr.wire`) and the sampler reloads them in place; then the sync check
compares the sampler's logprobs of a fixed probe with the learner's. `--rig inprocess` (default) times
that with the plain classes in one process; `--rig ray` takes `rlvr.run`'s route
(`rlvr.actors.Actors.push_weights`: learner actor -> object store -> sampler actor, the driver passing
only the reference), which adds one copy into the object store.

Each update is preceded by a real GRPO `train_step` on completions the sampler just generated (with
alternating +-1 advantages, so the step moves the policy even when rewards are all equal). Before each
push the still-stale sampler is probed too: `stale_max_diff` shows how far the policy moved, i.e. that a
missed push would have been caught when it exceeds the tolerance.

What this benchmark does NOT do: compare with a peer (TRL without vLLM has no push: its generator is
the trained model), or time the first, full sync apart from reporting it.
"""

from __future__ import annotations

import statistics
import time

from rlvr.bench import common


def add_arguments(p) -> None:
    p.add_argument("--model", default=None, help=f"model name (default {common.DEFAULT_MODEL}; --quick: tiny:0)")
    p.add_argument("--updates", type=int, default=None, help="timed policy updates (default 3; --quick 2)")
    p.add_argument("--rig", choices=("inprocess", "ray"), default="inprocess",
                   help="plain Learner and Sampler in one process, or Ray actors (rlvr.run's route)")
    p.add_argument("--dtype", default=None, help="sampler dtype (default: rlvr's `auto`, bf16 only with native bf16)")
    p.add_argument("--tolerance", type=float, default=None, help="sync check tolerance (default: rlvr's for the dtype)")
    p.add_argument("--lr", type=float, default=1e-3, help="learner lr for the updates (visible policy moves)")
    p.add_argument("--seed", type=int, default=0)


def run(args) -> dict:
    from transformers import AutoTokenizer

    from rlvr.bench.rig import make_rig
    from rlvr.config import SyncConfig
    from rlvr.model import resolve_model
    from rlvr.sampler import pick_dtype
    from rlvr.sync import default_tolerance, make_probe

    model = args.model or (common.QUICK_MODEL if args.quick else common.DEFAULT_MODEL)
    updates = args.updates or (2 if args.quick else 3)
    dtype = args.dtype or pick_dtype("auto")
    tolerance = args.tolerance or SyncConfig().tolerance or default_tolerance(dtype)
    machine = common.machine_info()
    model_dir = str(resolve_model(model))
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    probe = make_probe(tokenizer, SyncConfig().probe_len)
    prompts = common.chat_prompts(tokenizer, common.bench_rows(2, seed=args.seed))
    t0 = time.perf_counter()
    rig = make_rig(args.rig, model_dir, dtype=dtype, lr=args.lr, seed=args.seed)
    startup = time.perf_counter() - t0
    try:
        first = {**rig.push(full=True), "max_diff": rig.probe(probe)}
        rows = []
        for i in range(updates):
            train_s = _update(rig, prompts, max_tokens=16 if args.quick else 32)
            stale = rig.probe(probe)
            timing = rig.push(full=False)
            rows.append({"update": i + 1, "train_s": round(train_s, 2), "stale_max_diff": stale, **timing,
                         "max_diff": rig.probe(probe)})
            common.log(f"update {i + 1}: sync {rows[-1]['sync_s']:.3f} s, max diff {rows[-1]['max_diff']:.3g}")
    finally:
        rig.close()
    return _report(args, machine, model, dtype, tolerance, startup, first, rows, len(probe))


def _update(rig, prompts: list[str], max_tokens: int) -> float:
    """Generate 4 completions per prompt, then one train_step with alternating +-1 advantages."""
    from rlvr.learner import TrainSample

    groups = rig.generate(prompts, n=4, max_tokens=max_tokens, temperature=1.0)
    samples = [TrainSample(g.prompt_ids, c.token_ids, advantage=1.0 if j % 2 == 0 else -1.0)
               for g in groups for j, c in enumerate(g.completions) if c.token_ids]
    return float(rig.train_step(samples, max_len=max_tokens)["seconds"])


def _report(args, machine, model, dtype, tolerance, startup, first, rows, probe_len) -> dict:
    sync_times = [r["sync_s"] for r in rows]
    worst = max(r["max_diff"] for r in rows)
    summary = {"sync_s_mean": round(statistics.mean(sync_times), 4), "sync_s_max": round(max(sync_times), 4),
               "max_diff": worst, "tolerance": tolerance, "check_passed": bool(worst <= tolerance),
               "stale_max_diff_mean": statistics.mean(r["stale_max_diff"] for r in rows),
               "under_1s": bool(max(sync_times) < 1.0)}
    payload = {"benchmark": "sync", "quick": bool(args.quick), "model": model, "sampler_dtype": dtype,
               "rig": args.rig, "probe_len": probe_len, "startup_s": round(startup, 2),
               "first_full_sync": first, "updates": rows, "summary": summary, "machine": machine}
    table = [[r["update"], r["sync_s"], r["export_s"], r["load_s"], r["bytes"] / 1e6, r["max_diff"],
              r["stale_max_diff"]] for r in rows]
    print(common.table(table, ["update", "sync s", "export s", "load s", "MB", "max |dlogp|", "stale |dlogp|"]))
    print(f"sync check ({dtype} sampler, tolerance {tolerance}): "
          f"{'passed' if summary['check_passed'] else 'FAILED'}; mean {summary['sync_s_mean']:.3f} s per update")
    bars = [("first sync\n(full)", first["sync_s"])] + [(f"update {r['update']}", r["sync_s"]) for r in rows]
    common.write_result(payload, args.out or "results/sync.json", bars, "seconds",
                        f"weight sync ({args.rig}): {model} -> {dtype} sampler")
    return payload
