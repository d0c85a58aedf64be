"""GRPO step: seconds per step of rlvr against TRL's `GRPOTrainer` (use_vllm off, CPU, QLoRA), equal work.

Both sides do, per step: sample `group_size` completions for each of `prompts` chat-formatted reasoning-gym
basic_arithmetic prompts (<= `max_tokens` tokens, temperature 1), score them with the same `math`
verifier, compute group advantages (std-normalised, nothing dropped), one AdamW step on a LoRA r16
adapter over an nf4 base (all 7 projections, micro-batches of 16, no KL, clip 0.2/0.28, token-mean loss).
rlvr's step also pushes the new weights into its sampler and runs the sync check: work TRL has no
need for, since its generator is the trained model itself.

rlvr runs as `rlvr.run` places it (a learner actor and a sampler actor under Ray); TRL runs its own
trainer loop (HF `generate` on the 4-bit model, the same micro-batch size, gradient accumulation to one
step per generation batch; gradient checkpointing off, as rlvr has none). Each side runs in its own
process; `--warmup` steps run first and are not timed.

What this benchmark does NOT do: compare learning (rewards are reported, not judged), or use rlvr's
one-step-off-policy overlap (`run.off_policy`), which would hide generation behind training.
"""

from __future__ import annotations

import statistics
import tempfile
import time

from rlvr.bench import common
from rlvr.bench.rig import LEARNER
from rlvr.bench.workers import run_worker, worker_entry

MODULE = "rlvr.bench.step"
TARGETS = list(LEARNER["target_modules"])
ALGO = {"clip_low": 0.2, "clip_high": 0.28, "lr": 1e-4, "lora_rank": LEARNER["lora_rank"],
        "lora_alpha": LEARNER["lora_alpha"], "micro_batch": LEARNER["micro_batch"]}


def add_arguments(p) -> None:
    p.add_argument("--model", default=None, help=f"model name (default {common.DEFAULT_MODEL}; --quick: tiny:0)")
    p.add_argument("--prompts", type=int, default=None, help="prompts per step (default 16; --quick 2)")
    p.add_argument("--group-size", type=int, default=None, help="completions per prompt (default 8; --quick 4)")
    p.add_argument("--max-tokens", type=int, default=None, help="max completion tokens (default 64; --quick 16)")
    p.add_argument("--steps", type=int, default=None, help="timed steps per side (default 2; --quick 1)")
    p.add_argument("--warmup", type=int, default=1, help="untimed steps first (default 1)")
    p.add_argument("--only", choices=("rlvr", "trl"), default=None, help="run one side only (no ratio)")
    p.add_argument("--rig", choices=("inprocess", "ray"), default="inprocess",
                   help="rlvr side: plain classes in one process, or learner and sampler Ray actors")
    p.add_argument("--dtype", default=None, help="rlvr sampler dtype (default: rlvr's `auto`, bf16 only with native bf16)")
    p.add_argument("--seed", type=int, default=0)


def run(args) -> dict:
    from rlvr.model import resolve_model
    from rlvr.rollout.sampler import pick_dtype

    model = args.model or (common.QUICK_MODEL if args.quick else common.DEFAULT_MODEL)
    spec = {"model_dir": str(resolve_model(model)), "prompts": args.prompts or (2 if args.quick else 16),
            "group_size": args.group_size or (4 if args.quick else 8),
            "max_tokens": args.max_tokens or (16 if args.quick else 64),
            "steps": args.steps or (1 if args.quick else 2), "warmup": args.warmup, "seed": args.seed,
            "rig": args.rig, "dtype": args.dtype or pick_dtype("auto")}
    machine = common.machine_info()
    sides = []
    for kind in ("rlvr", "trl"):
        if args.only in (None, kind):
            common.log(f"{kind}: {spec['warmup']} warm-up + {spec['steps']} timed steps ...")
            sides.append(run_worker(MODULE, {**spec, "kind": kind}))
    by = {s["name"]: s for s in sides}
    ratio = None
    if "rlvr" in by and "trl" in by:
        ratio = round(by["trl"]["step_s_mean"] / by["rlvr"]["step_s_mean"], 3)
    payload = {"benchmark": "step", "quick": bool(args.quick), "model": model,
               **{k: spec[k] for k in ("prompts", "group_size", "max_tokens", "steps", "warmup")},
               "rig": spec["rig"], "sampler_dtype": spec["dtype"], "algo": ALGO, "sides": sides, "speedup_vs_trl": ratio, "machine": machine}
    rows = [[s["name"], s["step_s_mean"], s["startup_s"], s.get("gen_s_mean", "-"), s.get("train_s_mean", "-"),
             s.get("sync_s_mean", "-"), s["reward_mean"]] for s in sides]
    print(common.table(rows, ["side", "s/step", "start-up s", "gen s", "train s", "sync s", "reward"]))
    if ratio is not None:
        print(f"rlvr is {ratio:.2f}x TRL GRPOTrainer's speed per step (TRL s/step / rlvr s/step)")
    common.write_result(payload, args.out or "results/step.json", [(s["name"], s["step_s_mean"]) for s in sides],
                        "seconds per GRPO step", f"GRPO step: {model}, {spec['prompts']} prompts x "
                        f"{spec['group_size']}, <= {spec['max_tokens']} tokens, QLoRA r16")
    return payload


def _rows(spec: dict) -> list[dict]:
    """The prompts of every step (warm-up included), the same list for both sides."""
    return common.bench_rows(spec["prompts"] * (spec["warmup"] + spec["steps"]), seed=spec["seed"])


def _summary(name: str, startup: float, steps: list[dict], warmup: int) -> dict:
    timed = steps[warmup:]
    out = {"name": name, "startup_s": round(startup, 2), "steps": steps,
           "step_s_mean": round(statistics.mean(s["step_s"] for s in timed), 3),
           "reward_mean": round(statistics.mean(s["reward_mean"] for s in steps), 4)}
    for key in ("gen_s", "reward_s", "train_s", "sync_s"):
        if key in timed[0]:
            out[f"{key}_mean"] = round(statistics.mean(s[key] for s in timed), 3)
    return out


# ----------------------------------------------------------------------------------------------- rlvr


def _rlvr_worker(spec: dict) -> dict:
    from transformers import AutoTokenizer

    from rewards import make
    from rlvr.bench.rig import make_rig
    from rlvr.sync.push import make_probe

    tokenizer = AutoTokenizer.from_pretrained(spec["model_dir"])
    rows = _rows(spec)
    prompts = common.chat_prompts(tokenizer, rows)
    probe = make_probe(tokenizer, 32)
    reward = make("math")
    rig = make_rig(spec["rig"], spec["model_dir"], dtype=spec["dtype"], lr=ALGO["lr"], seed=spec["seed"])
    rig.push(full=True)  # the driver's first sync
    startup = time.time() - spec["t_launch"]
    steps = []
    for i in range(spec["warmup"] + spec["steps"]):
        part = slice(i * spec["prompts"], (i + 1) * spec["prompts"])
        steps.append(_rlvr_step(spec, rig, rows[part], prompts[part], reward, probe))
        common.log(f"rlvr step {i + 1}: {steps[-1]['step_s']:.1f} s")
    rig.close()
    return {**_summary("rlvr", startup, steps, spec["warmup"]), "rig": spec["rig"], "dtype": spec["dtype"]}


class _InlinePool:
    """`score_groups`' pool, in this process: TRL scores its rewards inline too, so both sides do the same."""

    @staticmethod
    def map(reward, rows: list[dict]) -> list:
        return reward.score_rows(rows)


def _rlvr_step(spec, rig, rows, prompts, reward, probe) -> dict:
    """prompts -> sampler -> completions -> rewards -> advantages -> learner -> weight sync (+ check)."""
    from rlvr.learn.samples import train_samples
    from rlvr.rollout.fleet import score_groups

    t0 = time.perf_counter()
    groups = rig.generate(prompts, group_size=spec["group_size"], max_tokens=spec["max_tokens"], temperature=1.0, top_p=1.0)
    t1 = time.perf_counter()
    for g, row, prompt in zip(groups, rows, prompts, strict=True):
        g.row = {**row, "prompt": prompt}
    score_groups(groups, reward, _InlinePool())
    t2 = time.perf_counter()
    samples, _ = train_samples(groups, adv_norm="std", drop_zero_variance=False, eps=1e-6,
                               with_old_logprobs=False)
    rig.train_step(samples, clip_low=ALGO["clip_low"], clip_high=ALGO["clip_high"], loss_norm="token",
                   max_tokens=spec["max_tokens"], kl="off", kl_coef=0.0)
    t3 = time.perf_counter()
    rig.push(full=False)
    max_diff = rig.probe(probe)
    t4 = time.perf_counter()
    rewards = [r for g in groups for r in g.rewards if r is not None]
    return {"step_s": t4 - t0, "gen_s": t1 - t0, "reward_s": t2 - t1, "train_s": t3 - t2, "sync_s": t4 - t3,
            "sync_max_diff": max_diff, "reward_mean": statistics.mean(rewards),
            "completion_tokens": sum(len(c.token_ids) for g in groups for c in g.completions)}


# ------------------------------------------------------------------------------------------------ TRL


def _trl_worker(spec: dict) -> dict:
    import torch
    from transformers import TrainerCallback
    from trl import GRPOTrainer

    torch.manual_seed(spec["seed"])
    marks: list[float] = []

    class Clock(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            marks.append(time.perf_counter())

    with tempfile.TemporaryDirectory(prefix="rlvr-bench-trl-") as out_dir:
        model, dataset, config, peft_config, reward = _trl_setup(spec, out_dir)
        trainer = GRPOTrainer(model=model, reward_funcs=reward, args=config, train_dataset=dataset,
                              peft_config=peft_config, callbacks=[Clock()])
        startup = time.time() - spec["t_launch"]
        t0 = time.perf_counter()
        trainer.train()
        logs = [h for h in trainer.state.log_history if "reward" in h]
    starts = [t0, *marks[:-1]]
    steps = [{"step_s": end - start, "reward_mean": float(logs[i]["reward"]) if i < len(logs) else float("nan")}
             for i, (start, end) in enumerate(zip(starts, marks, strict=True))]
    return _summary("trl", startup, steps, spec["warmup"])


def _trl_setup(spec: dict, out_dir: str):
    import torch
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, BitsAndBytesConfig
    from trl import GRPOConfig

    from rewards import make, trl_reward
    from rlvr.learn.policy import disable_cpu_repack

    qc = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=torch.float32)
    model = AutoModelForCausalLM.from_pretrained(spec["model_dir"], quantization_config=qc, device_map="cpu",
                                                 dtype=torch.float32)
    disable_cpu_repack(model)  # the bitsandbytes AVX512-BF16 trap (STACK-FACTS) would break TRL too
    rows = _rows(spec)
    dataset = Dataset.from_list([{"prompt": [{"role": "system", "content": common.SYSTEM_PROMPT},
                                             {"role": "user", "content": r["question"]}],
                                  "answer": r["answer"]} for r in rows])
    per_step = spec["prompts"] * spec["group_size"]
    micro = min(ALGO["micro_batch"], per_step)
    config = GRPOConfig(
        output_dir=out_dir, use_cpu=True, use_vllm=False, bf16=False, per_device_train_batch_size=micro,
        gradient_accumulation_steps=per_step // micro, num_generations=spec["group_size"],
        max_completion_length=spec["max_tokens"], temperature=1.0, top_p=1.0, learning_rate=ALGO["lr"],
        beta=0.0, loss_type="dapo", epsilon=ALGO["clip_low"], epsilon_high=ALGO["clip_high"], max_grad_norm=1.0,
        max_steps=spec["warmup"] + spec["steps"], logging_steps=1, report_to="none", save_strategy="no",
        gradient_checkpointing=False, seed=spec["seed"], dataloader_num_workers=0, disable_tqdm=True)
    peft_config = LoraConfig(r=ALGO["lora_rank"], lora_alpha=ALGO["lora_alpha"], lora_dropout=0.0,
                             target_modules=TARGETS, bias="none", task_type="CAUSAL_LM")
    return model, dataset, config, peft_config, trl_reward(make("math"))


def worker_main(spec: dict) -> dict:
    common.set_cpu_env()
    return _rlvr_worker(spec) if spec["kind"] == "rlvr" else _trl_worker(spec)


if __name__ == "__main__":
    worker_entry(worker_main)
