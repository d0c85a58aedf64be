"""The rules of a run folder (`run.output_dir`), so that a run is never lost or mixed up by accident.

- A folder that holds a run (its `metrics.jsonl` or `checkpoints/`) is refused unless the user says what to
  do with it: `--resume` (continue it) or `--overwrite` (remove rlvr's outputs there and start again).
- `config.resolved.yaml` in the folder is the run's resolved config; `checkpoint.save` copies it into every
  checkpoint. `--resume` compares the checkpoint's config with the new one before any actor starts:
  keys in `RESUMABLE` may change (and are said in one line); any other change is one error naming the keys.
- A run whose newest checkpoint reached `run.steps` and whose adapter was saved is finished: `--resume`
  says so and starts nothing.

What this module does NOT do: write checkpoints (`checkpoint`), or decide how training resumes (`trainer`).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import yaml

from rlvr.config import HealthConfig
from rlvr.run import checkpoint, outputs
from rlvr.run.preflight import UserError

__all__ = ["CONFIG_NAME", "RESUMABLE", "Plan", "changed_keys", "clear", "holds_run", "plan", "start"]

CONFIG_NAME = checkpoint.CONFIG_NAME
# What a run writes in its folder; `--overwrite` removes these and nothing else ("config.resolved.json":
# written by runs before the YAML became the one saved config).
OUTPUTS = (*outputs.ALL, "config.resolved.json")
# Keys that may differ on resume: how long, how often, and where/with what the run executes; not what it learns.
RESUMABLE = frozenset({
    "run.steps", "run.eval_every", "run.save_every", "run.log_every", "run.output_dir",
    "rewards.workers", "rewards.timeout_s", "env.tool_timeout_s", "env.step_timeout_s", "sampler.num_samplers",
    "sampler.kv_cache_gib", "sampler.in_process", "model.cache_dir", "ray.address", "ray.num_cpus",
    "ray.learner_resources", "ray.sampler_resources", "sync.check", "sync.tolerance",
    "sync.mode", "sync.update_tolerance", "learner.grad_checkpoint",
    # the health monitors only watch (and may stop) the run: any of their keys may change
    *(f"health.{f.name}" for f in fields(HealthConfig)),
})


@dataclass(frozen=True)
class Plan:
    """What to do with the folder: "fresh", "overwrite", "resume" (from `step`) or "finished" (do nothing)."""

    action: str
    out: Path
    step: int = 0
    note: str = ""       # one line for the console, or ""


def holds_run(out: Path) -> bool:
    """True if `out` holds a run's outputs (metrics or checkpoints), which a fresh run would destroy."""
    ckpts = out / outputs.CHECKPOINTS
    return (out / outputs.METRICS).is_file() or (ckpts.is_dir() and any(ckpts.iterdir()))


def _flat(config: dict[str, Any]) -> dict[str, Any]:
    return {f"{section}.{key}": value for section, body in config.items() for key, value in (body or {}).items()}


def changed_keys(saved: dict[str, Any], now: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """(key, saved value, new value) for every `section.key` that differs, in config order."""
    old, new = _flat(saved), _flat(yaml.safe_load(yaml.safe_dump(now, sort_keys=False)))  # same normal form as the saved file
    keys = list(dict.fromkeys([*new, *old]))
    return [(k, old.get(k), new.get(k)) for k in keys if old.get(k) != new.get(k)]


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _saved_config(ckpt: Path, out: Path) -> tuple[dict | None, Path | None]:
    for path in (ckpt / CONFIG_NAME, out / CONFIG_NAME):
        if path.is_file():
            return yaml.safe_load(path.read_text()), path
    return None, None


def _resume(cfg, out: Path) -> Plan:
    ckpt = checkpoint.latest(out)
    if ckpt is None:
        note = f"--resume: no checkpoint in {out} yet; starting the run from step 0" if holds_run(out) else ""
        return Plan("fresh", out, note=note)
    step = checkpoint.step_of(ckpt)
    saved, path = _saved_config(ckpt, out)
    notes = []
    if saved is None:
        notes.append(f"{ckpt} has no saved config (an older run); resuming without comparing configs")
    else:
        changes = changed_keys(saved, cfg.to_dict())
        fixed = [c for c in changes if c[0] not in RESUMABLE]
        if fixed:
            listed = ", ".join(f"{k} ({_short(a)} -> {_short(b)})" for k, a, b in fixed)
            raise UserError(f"--resume: {listed} changed since the checkpoint, and cannot change mid-run "
                            f"(may change: {', '.join(sorted(RESUMABLE))}); resume with the saved config "
                            f"{path}, or start over with --overwrite or another run.output_dir")
        if changes:
            notes.append("changed on resume: " + ", ".join(f"{k} {_short(a)} -> {_short(b)}" for k, a, b in changes))
    if step >= cfg.run.steps and (out / outputs.ADAPTER).is_dir():
        return Plan("finished", out, step, f"{out} already finished at step {step} (run.steps={cfg.run.steps}); "
                                           f"nothing to do: raise run.steps to train on, or --overwrite to start over")
    if step > cfg.run.steps:
        raise UserError(f"--resume: the checkpoint in {out} is at step {step}, past run.steps={cfg.run.steps}")
    return Plan("resume", out, step, "; ".join([f"resuming {out} from step {step}", *notes]))


def plan(cfg, resume: bool = False, overwrite: bool = False) -> Plan:
    """Decide what to do with `cfg.run.output_dir` under the rules above; raise UserError if refused."""
    out = Path(cfg.run.output_dir)
    if resume and overwrite:
        raise UserError("--resume and --overwrite contradict each other; pass one")
    if resume:
        return _resume(cfg, out)
    if holds_run(out):
        if overwrite:
            return Plan("overwrite", out, note=f"--overwrite: removing the previous run's outputs in {out}")
        ckpt = checkpoint.latest(out)
        at = f" (checkpoint at step {checkpoint.step_of(ckpt)})" if ckpt else ""
        raise UserError(f"{out} already holds a run{at}: pass --resume to continue it, --overwrite to replace "
                        f"it, or choose another run.output_dir")
    return Plan("fresh", out)


def clear(out: Path) -> None:
    """Remove the outputs of the run in `out` (`OUTPUTS`), and nothing else the folder holds."""
    for name in OUTPUTS:
        target = out / name
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()


def start(cfg, p: Plan) -> None:
    """Make the folder ready for the run the plan allows: clear old outputs if asked, write `config.resolved.yaml`."""
    from rlvr.config import save_config

    if p.action == "overwrite":
        clear(p.out)
    p.out.mkdir(parents=True, exist_ok=True)
    save_config(cfg, p.out / CONFIG_NAME)
