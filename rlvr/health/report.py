"""The run report: `report.md` + PNGs under `report/` in the run folder, rebuilt from metrics.jsonl alone.

    python -m rlvr.report runs/math        # also for a run that crashed (a torn last line is skipped)

Sections: held-out before/after (± standard error, per component, regression set), the health monitors (the
rules replayed over the logged lines, so a run from before the monitors existed gets them too), why each
verifier paid, and figures: reward and components, held-out with error bars, lengths and truncation, health
signals, sync and sampler/learner mismatch, the step-time breakdown; then the best and worst completion of one
group per step (from dpo_pairs.jsonl). What this module does NOT do: run anything or need a model; matplotlib is a
dependency of rlvr, so figures are PNGs.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rlvr.health import console
from rlvr.health.monitors import Finding, train_rows
from rlvr.health.watch import Watch
from rlvr.run import outputs

__all__ = ["build", "load_run", "main", "replay"]

FIGURES = outputs.REPORT_DIR


def _read(path: Path) -> tuple[list[dict], int]:
    """(parsed lines, how many lines could not be parsed: a crash mid-write leaves one)."""
    rows, torn = [], 0
    if not path.exists():
        return rows, torn
    for line in path.read_text(errors="replace").splitlines():
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            torn += 1
            continue
        if isinstance(row, dict) and isinstance(row.get("step"), int):
            rows.append(row)
    return rows, torn


def load_run(run_dir: str | Path) -> tuple[list[dict], int, Any, dict[str, float], dict]:
    """(metrics lines, torn lines, health config, component weights, resolved config dict) of a run folder."""
    from rlvr.config import ConfigError, HealthConfig, load_config

    run = Path(run_dir)
    rows, torn = _read(run / outputs.METRICS)
    cfg: dict = {}
    # config.resolved.json: written by runs before the YAML became the one saved config
    for name in (outputs.CONFIG, "config.resolved.json", f"{outputs.CHECKPOINTS}/{outputs.CONFIG}"):
        if (run / name).is_file():
            try:
                cfg = load_config(run / name).to_dict() if name.endswith((".yaml", ".yml")) else \
                    json.loads((run / name).read_text())
                break
            except (ConfigError, ValueError, OSError):
                continue
    try:
        health = HealthConfig(**cfg.get("health", {}))
    except (ConfigError, TypeError):
        health = HealthConfig()
    weights = {v["name"]: float(v.get("weight", 1.0)) for v in cfg.get("rewards", {}).get("verifiers", [])}
    if not weights:  # no saved config (a run that crashed early): the components seen, weight 1
        weights = {k[len("reward_"):-len("_mean")]: 1.0 for r in train_rows(rows)[:1] for k in r
                   if k.startswith("reward_") and k.endswith("_mean") and k != "reward_mean"}
    return rows, torn, health, weights, cfg


def replay(rows: Sequence[Mapping[str, Any]], health: Any, weights: Mapping[str, float]) -> list[Finding]:
    """The monitors run over the lines as the run saw them, line by line: every first firing."""
    watch = Watch(health, weights)
    for row in rows:
        if "warning" not in row:
            watch.observe(row)
    return list(watch.fired.values())


def _series(rows, key) -> tuple[list[int], list[float]]:
    pts = [(r["step"], float(r[key])) for r in rows if isinstance(r.get(key), int | float)]
    return [p[0] for p in pts], [p[1] for p in pts]


def _figure(path: Path, title: str, panels: list[tuple[str, list[tuple[str, list, list, list | None]]]]) -> bool:
    """One PNG, one axis per panel; each line (label, steps, values, error bars or None). False if nothing to draw."""
    panels = [(ylabel, [line for line in lines if line[1]]) for ylabel, lines in panels]
    panels = [p for p in panels if p[1]]
    if not panels:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(panels), 1, figsize=(8, 2.6 * len(panels)), dpi=90, squeeze=False, sharex=True)
    for ax, (ylabel, lines) in zip(axes[:, 0], panels, strict=True):
        for label, xs, ys, err in lines:
            if err is not None:
                ax.errorbar(xs, ys, yerr=err, fmt="o--", capsize=3, label=label)
            else:
                ax.plot(xs, ys, marker="." if len(xs) < 40 else None, label=label)
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    axes[-1, 0].set_xlabel("step")
    axes[0, 0].set_title(title)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)
    return True


def _keys(rows, prefix: str, suffix: str) -> list[str]:
    seen: dict[str, None] = {}
    for r in rows:
        for k in r:
            if k.startswith(prefix) and k.endswith(suffix) and not k.endswith("_se"):
                seen[k] = None
    return list(seen)


def figures(rows: list[dict], out: Path) -> list[tuple[str, str]]:
    """(caption, file name) of every figure drawn."""
    train = train_rows(rows)
    evals = [r for r in rows if r.get("eval_reward") is not None]

    def line(key, label=None, src=train):
        return (label or key, *_series(src, key), None)

    def with_err(key, label, src):
        pts = [r for r in src if isinstance(r.get(key), int | float)]
        return (label, [r["step"] for r in pts], [r[key] for r in pts], [r.get(f"{key}_se") or 0.0 for r in pts])

    specs = {
        "reward.png": ("Train reward and its components", [
            ("reward", [line("reward_mean", "reward (weighted sum)"),
                        *(line(k, k[7:-5]) for k in _keys(train, "reward_", "_mean") if k != "reward_mean")])]),
        "heldout.png": ("Held-out reward (± standard error)", [
            ("held-out", [with_err(k, k.removeprefix("eval_reward_") if k != "eval_reward" else "held-out", evals)
                          for k in _keys(evals, "eval_reward", "")]),
            ("regression set", [with_err("regression_reward", "regression set", rows)])]),
        "lengths.png": ("Completion lengths and truncation", [
            ("tokens", [line("completion_len_mean", "mean"), line("completion_len_max", "max")]),
            ("fraction", [line("health/trunc_frac", "truncated")])]),
        "health.png": ("Health signals", [
            ("fraction", [line(f"health/{k}", k) for k in ("copy_frac", "identical_frac", "zero_var_frac",
                                                            "paid_truncated_frac")]),
            ("entropy / KL", [line("health/entropy", "sampled-token entropy"), line("kl", "KL to base"),
                              line("approx_kl", "KL to old policy")])]),
        "sync.png": ("Weight sync and sampler/learner mismatch", [
            ("seconds", [line("sync_s", "sync seconds")]),
            ("logprob", [line("sync_max_diff", "probe max |dlogp|"), line("mismatch_max_abs", "mismatch max |dlogp|")]),
            ("KL / loss", [line("mismatch_kl", "mismatch KL"), line("sync_update_loss", "sync update loss"),
                           line("sync_base_loss", "sync base loss")])]),
        "time.png": ("Where a step's time goes (seconds)", [
            ("seconds", [line("gen_s", "generation"), line("reward_s", "rewards"), line("seconds", "learner"),
                         line("sync_s", "sync"), line("step_s", "whole step")])]),
    }
    drawn = []
    for name, (title, panels) in specs.items():
        if _figure(out / FIGURES / name, title, panels):
            drawn.append((title, f"{FIGURES}/{name}"))
    return drawn


def pay_table(rows: list[dict]) -> list[str]:
    """Why each verifier paid: the share of each reason among the completions it paid, first vs last train step."""
    train = [r for r in train_rows(rows) if any(k.startswith("health/pay/") for k in r)]
    if not train:
        return []
    first, last = train[0], train[-1]
    keys = sorted({k for r in (first, last) for k in r if k.startswith("health/pay/")})
    lines = [f"| component / why it paid | step {first['step']} | step {last['step']} |", "|---|---|---|"]
    for k in keys:
        lines.append(f"| {k.removeprefix('health/pay/')} | {first.get(k, 0.0):.0%} | {last.get(k, 0.0):.0%} |")
    return lines


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(str(text).split())
    text = text if len(text) <= limit else text[:limit] + " …"
    return text.replace("|", "\\|")


def samples(run: Path, per_step: int = 1, max_steps: int = 20) -> list[str]:
    """Per step, the group whose best and worst completions differ most (dpo_pairs.jsonl), as a table."""
    pairs, _ = _read(run / outputs.DPO_PAIRS)
    by_step: dict[int, list[dict]] = {}
    for p in pairs:
        by_step.setdefault(p["step"], []).append(p)
    if not by_step:
        return []
    steps = sorted(by_step)
    if len(steps) > max_steps:  # evenly spread, first and last kept
        steps = sorted({steps[round(i * (len(steps) - 1) / (max_steps - 1))] for i in range(max_steps)})
    lines = ["| step | best (reward) | worst (reward) |", "|---|---|---|"]
    for s in steps:
        ranked = sorted(by_step[s], key=lambda p: p.get("chosen_reward", 0) - p.get("rejected_reward", 0), reverse=True)
        for p in ranked[:per_step]:
            lines.append(f"| {s} | {_short(p['chosen'])} ({p.get('chosen_reward', 0):.2f}) | "
                         f"{_short(p['rejected'])} ({p.get('rejected_reward', 0):.2f}) |")
    return lines


def _monitor_table(fired: list[Finding], logged: list[dict]) -> list[str]:
    from rlvr.health.monitors import MONITORS

    by = {f.monitor: f for f in fired}
    in_run = {r["warning"] for r in logged}
    lines = ["| monitor | fired at step | finding |", "|---|---|---|"]
    for name in MONITORS:
        f = by.get(name)
        note = "" if f is None or name in in_run or not logged else " (replayed; not logged by the run)"
        lines.append(f"| {name} | {f.step if f else '-'} | {(f.message + note) if f else 'quiet'} |")
    return lines


def build(run_dir: str | Path) -> Path:
    """Write `report.md` and `report/*.png` in the run folder from its metrics.jsonl; returns report.md's path."""
    run = Path(run_dir)
    rows, torn, health, weights, cfg = load_run(run)
    metrics = [r for r in rows if "warning" not in r]
    logged = [r for r in rows if "warning" in r]
    fired = replay(metrics, health, weights)
    train = train_rows(metrics)
    steps_cfg = cfg.get("run", {}).get("steps")
    last_step = train[-1]["step"] if train else 0
    finished = bool(steps_cfg) and last_step >= steps_cfg and any(
        r.get("eval_reward") is not None and r["step"] == last_step for r in metrics)
    md = [f"# Run report: {run.name or run}", ""]
    state = "finished" if finished else "unfinished (crashed, stopped, or still running)"
    md.append(f"{len(train)} train steps logged (last step {last_step}"
              + (f" of {steps_cfg}" if steps_cfg else "") + f"); {state}."
              + (f" {torn} torn line(s) in metrics.jsonl were skipped." if torn else ""))
    md += ["", "## Held-out reward", "", "```", *console.summary_lines(metrics, [], run)[1:-2], "```", ""]
    assumed = "" if cfg.get("rewards") else " No saved config: default thresholds, every component weighted 1."
    md += ["## Health monitors", "", f"Rules: docs/health.md. Replayed over metrics.jsonl line by line.{assumed}", "",
           *_monitor_table(fired, logged), ""]
    pay = pay_table(metrics)
    if pay:
        md += ["## Why each verifier paid", "", *pay, ""]
    for caption, name in figures(metrics, run):
        md += [f"## {caption}", "", f"![{caption}]({name})", ""]
    sample = samples(run)
    if sample:
        md += ["## Best and worst completion of one group per step", "", *sample, ""]
    path = run / outputs.REPORT
    path.write_text("\n".join(md))
    return path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m rlvr.report", description="Rebuild a run's report.md + PNGs.")
    p.add_argument("run_dir", help="the run folder (holding metrics.jsonl)")
    args = p.parse_args(argv)
    if not (Path(args.run_dir) / outputs.METRICS).is_file():
        print(f"rlvr.report: error: no metrics.jsonl in {args.run_dir}", file=sys.stderr)
        return 2
    print(build(args.run_dir))
    return 0
