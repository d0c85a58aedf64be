"""Rollout throughput: rlvr's samplers against Hugging Face `generate` on the same prompts and lengths.

The peer is what TRL uses without vLLM: `model.generate` in fp32 (bf16 is ~5x slower in HF on these
CPUs), all prompts in one left-padded batch with `num_return_sequences=G`, sampling at temperature 1.
rlvr is measured in its configured dtype (`auto`: bf16 where the CPU has native bf16) and in fp32 as a
like-for-like line; with `--samplers 2` through two Ray sampler actors (`SamplerFleet`), each pinned to
its own core.

Counted: generated tokens only, up to and including EOS. Start-up (process start, imports, engine or
model load, one short warm-up generation) is reported apart and excluded from tokens/s. Each contender
runs in its own process (`rlvr.bench.workers`). The machine's matmul peak is probed in the same run and
the achieved fraction estimated as tokens/s x FLOPs/token / peak (prompt tokens counted once per prompt).

What this benchmark does NOT do: check output quality (sampling is random on both sides), or tune HF
(no static cache or compile: the peer as TRL runs it).
"""

from __future__ import annotations

import os
import time

from rlvr.bench import common
from rlvr.bench.workers import run_worker, worker_entry

MODULE = "rlvr.bench.rollout"


def add_arguments(p) -> None:
    p.add_argument("--model", default=None, help=f"model name (default {common.DEFAULT_MODEL}; --quick: tiny:0)")
    p.add_argument("--prompts", type=int, default=None, help="prompts (default 16; --quick 4)")
    p.add_argument("--group-size", type=int, default=None, help="completions per prompt (default 8; --quick 4)")
    p.add_argument("--max-tokens", type=int, default=None, help="max new tokens (default 64; --quick 16)")
    p.add_argument("--samplers", type=int, default=1, choices=(1, 2),
                   help="1: one in-process Sampler; 2: two Ray sampler actors, one per core")
    p.add_argument("--dtypes", default=None,
                   help="rlvr sampler dtypes, comma-separated (default: rlvr's sampler dtype and float32; "
                        "--quick: rlvr's only)")
    p.add_argument("--no-hf", action="store_true", help="skip the HF peer (no ratio)")
    p.add_argument("--seed", type=int, default=0)


def run(args) -> dict:
    quick = args.quick
    model = args.model or (common.QUICK_MODEL if quick else common.DEFAULT_MODEL)
    prompts_n = args.prompts or (4 if quick else 16)
    group_size = args.group_size or (4 if quick else 8)
    max_tokens = args.max_tokens or (16 if quick else 64)
    from transformers import AutoTokenizer

    from rlvr.model import resolve_model

    machine = common.machine_info()
    model_dir = str(resolve_model(model))
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    rows = common.bench_rows(prompts_n, seed=args.seed)
    prompts = common.chat_prompts(tokenizer, rows)
    prompt_tokens = sum(len(tokenizer(p, add_special_tokens=False)["input_ids"]) for p in prompts)
    probe_s = 0.5 if quick else 1.5
    peaks = {dt: common.matmul_peak(dt, seconds=probe_s) for dt in ("float32", "bfloat16")}
    flops = common.model_flops_per_token(model_dir)
    base = {"model_dir": model_dir, "prompts": prompts, "group_size": group_size, "max_tokens": max_tokens,
            "seed": args.seed}

    contenders = []
    if not args.no_hf:
        common.log("HF generate (fp32) ...")
        contenders.append(run_worker(MODULE, {**base, "kind": "hf", "dtype": "float32"}))
    for dtype in _dtypes(args):
        common.log(f"rlvr sampler x{args.samplers} ({dtype}) ...")
        contenders.append(run_worker(MODULE, {**base, "kind": "rlvr", "dtype": dtype, "samplers": args.samplers}))
    peaks_end = {dt: common.matmul_peak(dt, seconds=probe_s) for dt in ("float32", "bfloat16")}
    # The hardware limit: the best matmul rate this machine reached in this run, any dtype, start or end.
    peak = max(p["gflops"] for p in [*peaks.values(), *peaks_end.values()])
    for c in contenders:
        achieved = (c["tokens"] + prompt_tokens) * flops["flops_per_token"] / c["gen_s"] / 1e9
        c["gflops"] = round(achieved, 2)
        c["peak_fraction"] = round(achieved / peak, 4) if peak else None
    return _report(args, machine, model, contenders, peaks, peaks_end, flops, prompts_n, group_size, max_tokens,
                   prompt_tokens)


def _dtypes(args) -> list[str]:
    from rlvr.config import SamplerConfig
    from rlvr.rollout.sampler import pick_dtype

    if args.dtypes:
        return [d.strip() for d in args.dtypes.split(",") if d.strip()]
    default = pick_dtype(SamplerConfig().dtype)  # "auto" -> this machine's dtype, so fp32 is not run twice
    return [default] if args.quick else list(dict.fromkeys([default, "float32"]))


def _report(args, machine, model, contenders, peaks, peaks_end, flops, prompts_n, group_size, max_tokens,
            prompt_tokens) -> dict:
    hf = next((c for c in contenders if c["kind"] == "hf"), None)
    ratios = {}
    for c in contenders:
        if hf and c is not hf:
            ratios[f"{c['name']}_vs_hf"] = round(c["tok_s"] / hf["tok_s"], 3) if hf["tok_s"] else None
    payload = {
        "benchmark": "rollout", "quick": bool(args.quick), "model": model,
        "prompts": prompts_n, "group_size": group_size, "max_tokens": max_tokens, "samplers": args.samplers,
        "prompt_tokens": prompt_tokens, "model_flops": flops,
        "matmul_peak_start": peaks, "matmul_peak_end": peaks_end,
        "matmul_peak_gflops": max(p["gflops"] for p in [*peaks.values(), *peaks_end.values()]),
        "contenders": contenders, "ratios": ratios, "machine": machine,
    }
    rows = [[c["name"], c["dtype"], c["tokens"], round(c["gen_s"], 2), round(c["tok_s"], 1),
             round(c["startup_s"], 1), c["peak_fraction"],
             ratios.get(f"{c['name']}_vs_hf", "1 (peer)" if c is hf else "-")] for c in contenders]
    print(common.table(rows, ["contender", "dtype", "tokens", "gen s", "tok/s", "start-up s", "of peak",
                              "vs HF"]))
    common.write_result(payload, args.out or "results/rollout.json",
                        [(f"{c['name']}\n{c['dtype']}", c["tok_s"]) for c in contenders], "generated tokens/s",
                        f"rollout: {model}, {prompts_n} prompts x {group_size}, <= {max_tokens} tokens")
    return payload


# --------------------------------------------------------------------------------------------- workers


def _count_hf(new_tokens, eos_ids: set[int]) -> list[int]:
    """Generated length of each row up to and including the first EOS (HF pads after it)."""
    lengths = []
    for row in new_tokens.tolist():
        n = next((i + 1 for i, t in enumerate(row) if t in eos_ids), len(row))
        lengths.append(n)
    return lengths


def _hf_worker(spec: dict) -> dict:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.manual_seed(spec["seed"])
    tok = AutoTokenizer.from_pretrained(spec["model_dir"], padding_side="left")
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    model = AutoModelForCausalLM.from_pretrained(spec["model_dir"], dtype=getattr(torch, spec["dtype"])).eval()
    eos = model.generation_config.eos_token_id
    eos_ids = set(eos if isinstance(eos, list) else [eos]) | {tok.eos_token_id}

    def generate(prompts, max_new):
        batch = tok(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
        with torch.inference_mode():
            out = model.generate(**batch, do_sample=True, temperature=1.0, top_p=1.0,
                                 num_return_sequences=spec["group_size"], max_new_tokens=max_new,
                                 pad_token_id=tok.pad_token_id)
        return _count_hf(out[:, batch["input_ids"].shape[1]:], eos_ids)

    generate(spec["prompts"][:2], 4)  # warm-up
    startup = time.time() - spec["t_launch"]
    t0 = time.perf_counter()
    lengths = generate(spec["prompts"], spec["max_tokens"])
    gen_s = time.perf_counter() - t0
    return _result(spec, "hf_generate", startup, gen_s, lengths, sum(n == spec["max_tokens"] for n in lengths),
                   torch.get_num_threads())


def _rlvr_env(samplers: int) -> None:
    """The sampler's environment, as `rlvr.rollout.sampler.actor_env` gives an actor: in-process engine; a single
    sampler gets every core, each of two samplers its own."""
    from rlvr.rollout.sampler import actor_env

    cores = os.cpu_count() or 1
    bind = f"0-{cores - 1}" if samplers == 1 and cores > 1 else None
    env = actor_env(0, in_process=True, cpu_bind=bind)
    if samplers == 1:
        env["OMP_NUM_THREADS"] = str(cores)
    os.environ.update(env)


def _rlvr_worker(spec: dict) -> dict:
    _rlvr_env(spec["samplers"])
    sampling = {"group_size": spec["group_size"], "temperature": 1.0, "top_p": 1.0}
    kw = {"dtype": spec["dtype"], "max_model_len": 1024, "kv_cache_gib": 1.0}
    if spec["samplers"] == 1:
        from rlvr.rollout.sampler import Sampler

        engine = Sampler(spec["model_dir"], seed=spec["seed"], **kw)
        generate, close, threads = engine.generate, (lambda: None), int(os.environ["OMP_NUM_THREADS"])
    else:
        generate, close = _fleet(spec, kw)
        threads = 1
    generate(spec["prompts"][:2], max_tokens=4, **sampling)  # warm-up
    startup = time.time() - spec["t_launch"]
    t0 = time.perf_counter()
    groups = generate(spec["prompts"], max_tokens=spec["max_tokens"], **sampling)
    gen_s = time.perf_counter() - t0
    close()
    comps = [c for g in groups for c in g.completions]
    short = {"bfloat16": "bf16", "float32": "fp32", "float16": "fp16"}.get(spec["dtype"], spec["dtype"])
    name = f"rlvr_{short}" if spec["samplers"] == 1 else f"rlvr_x{spec['samplers']}_{short}"
    return _result(spec, name, startup, gen_s, [len(c.token_ids) for c in comps],
                   sum(c.finish_reason == "length" for c in comps), threads)


def _fleet(spec: dict, kw: dict):
    """`samplers` Ray sampler actors (in-process engines, one core each) behind rlvr's SamplerFleet."""
    import ray

    from rlvr.rollout.fleet import SamplerFleet
    from rlvr.rollout.sampler import make_sampler_actor
    from rlvr.run.actors import init_ray

    init_ray(None, os.cpu_count())

    def make(index: int):
        return make_sampler_actor(index, spec["model_dir"], seed=spec["seed"] + index, in_process=True, **kw)

    fleet = SamplerFleet(make, spec["samplers"])  # no weight sync: a restart serves the model as loaded
    ray.get([a.ready.remote() for a in fleet.actors])
    def generate(prompts: list[str], **sampling):
        return fleet.generate([{"prompt": p} for p in prompts], **sampling)

    return generate, ray.shutdown


def _result(spec, name, startup, gen_s, lengths, truncated, threads) -> dict:
    tokens = sum(lengths)
    return {"name": name, "kind": spec["kind"], "dtype": spec["dtype"], "startup_s": round(startup, 2),
            "gen_s": round(gen_s, 3), "tokens": tokens, "sequences": len(lengths),
            "tok_s": round(tokens / gen_s, 2), "mean_len": round(tokens / max(len(lengths), 1), 2),
            "truncated_frac": round(truncated / max(len(lengths), 1), 3), "threads": threads}


def worker_main(spec: dict) -> dict:
    common.set_cpu_env()
    return _hf_worker(spec) if spec["kind"] == "hf" else _rlvr_worker(spec)


if __name__ == "__main__":
    worker_entry(worker_main)
