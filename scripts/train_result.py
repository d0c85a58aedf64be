"""Run one shipped config and write its held-out before/after summary to results/train_<config>.json.

    python scripts/train_result.py configs/gsm.yaml run.steps=20          # train, then summarise
    python scripts/train_result.py configs/gsm.yaml --from-run runs/gsm   # summarise a finished run only

Before / after are the held-out greedy mean rewards of the run's first and last `eval_reward` lines in
`metrics.jsonl`, on the config's *first* verifier (the task's correctness verifier: `math` for gsm, not the
format term), each with its standard error; the overall weighted reward and every component are kept too.
`delta_se` is sqrt(se_before^2 + se_after^2) (unpaired, so conservative). Where the run folder has
`eval_items.jsonl` (per-item rewards of each evaluation), `paired` holds the difference's standard error over
the same held-out items (std of after_i - before_i over sqrt(n)) and how many items moved each way: the right
error for two evaluations of one fixed set.
Minutes are the wall time of the `rlvr.run` process (with `--from-run`: steps + evaluations from the
metrics, start-up excluded); load is `os.getloadavg()` at start and end (the machine may be shared; with
`--from-run` none is measured: `--note` records what it was).
What this script does NOT do: train (that is `python -m rlvr.run`) or decide whether a run learned.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def summarise(run_dir: Path, *, minutes: float | None = None, load: dict | None = None,
              command: str | None = None) -> dict:
    """The results dict of one finished run folder (metrics.jsonl + its resolved config: `config.resolved.yaml`,
    or `config.resolved.json` from runs made before the YAML; `rlvr.health.report.load_run` reads either)."""
    from rlvr.health.report import load_run

    rows, _, _, _, cfg = load_run(run_dir)
    if not cfg:
        raise SystemExit(f"{run_dir}: no resolved config (config.resolved.yaml) in the run folder")
    evals = [r for r in rows if "eval_reward" in r]
    if len(evals) < 2:
        raise SystemExit(f"{run_dir}: needs a before and an after eval line in metrics.jsonl, found {len(evals)}")
    first, last = evals[0], evals[-1]
    verifiers = cfg["rewards"]["verifiers"]
    primary = verifiers[0]["name"]
    key = f"eval_reward_{primary}" if f"eval_reward_{primary}" in first else "eval_reward"
    if f"{key}_se" not in first:
        raise SystemExit(f"{run_dir}: eval lines carry no {key}_se (run made before stderr was logged)")
    before, after = first[key], last[key]
    se_b, se_a = first[f"{key}_se"], last[f"{key}_se"]
    delta_se = (se_b ** 2 + se_a ** 2) ** 0.5
    train = [r for r in rows if "reward_mean" in r]
    if minutes is None:
        minutes = (sum(r.get("step_s", 0.0) for r in train) + sum(r.get("eval_s", 0.0) for r in evals)) / 60
    components = sorted({k[len("eval_reward_"):-len("_se")] for k in first if k.endswith("_se")
                         and k.startswith("eval_reward_") and k != "eval_reward_se"})
    return {
        "config": run_dir.name,
        "model": cfg["model"]["path"],
        "metric": key, "steps": len(train), "minutes": round(minutes, 1),
        "heldout_n": first.get("eval_n"),
        "before": before, "after": after,
        "stderr": {"before": se_b, "after": se_a},
        "delta": after - before, "delta_se": delta_se,
        "delta_over_se": (after - before) / delta_se if delta_se else None,
        "overall": {"before": first["eval_reward"], "after": last["eval_reward"],
                    "stderr": {"before": first["eval_reward_se"], "after": last["eval_reward_se"]}},
        "components": {c: {"before": first.get(f"eval_reward_{c}"), "after": last.get(f"eval_reward_{c}"),
                           "stderr": {"before": first.get(f"eval_reward_{c}_se"),
                                      "after": last.get(f"eval_reward_{c}_se")}} for c in components},
        "paired": paired_delta(run_dir, primary, first["step"], last["step"]),
        "reward_components": verifiers,
        "train_reward_first_last": [train[0]["reward_mean"], train[-1]["reward_mean"]] if train else None,
        "groups_dropped_frac_mean": (sum(r.get("groups_dropped_frac", 0.0) for r in train) / len(train)
                                     if train else None),
        "machine": {"cpus": os.cpu_count(), "platform": platform.machine(), "load": load},
        "command": command,
    }


def paired_delta(run_dir: Path, component: str, step_before: int, step_after: int) -> dict | None:
    """The item-by-item difference between the held-out evaluations at two steps, on `component` (None when the
    run has no eval_items.jsonl or the two evaluations are not of the same items)."""
    from rlvr.health.signals import mean_se
    from rlvr.run.outputs import EVAL_ITEMS, read_jsonl

    path = run_dir / EVAL_ITEMS
    if not path.exists():
        return None
    evals = {r["step"]: r["items"] for r in read_jsonl(path) if r.get("split") == "eval"}
    before, after = evals.get(step_before), evals.get(step_after)
    if not before or not after or [i["id"] for i in before] != [i["id"] for i in after]:
        return None

    pairs = [(b["components"].get(component, b["reward"]), a["components"].get(component, a["reward"]))
             for b, a in zip(before, after, strict=True)]
    diffs = [a - b for b, a in pairs if a is not None and b is not None]
    delta, se = mean_se(diffs)
    return {"n": len(diffs), "delta": delta, "se": se, "delta_over_se": delta / se if se else None,
            "improved": sum(d > 0 for d in diffs), "worsened": sum(d < 0 for d in diffs)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("config")
    ap.add_argument("overrides", nargs="*", help="section.key=value, passed to rlvr.run")
    ap.add_argument("--from-run", help="summarise this finished run folder instead of training")
    ap.add_argument("--out", help="results file (default results/train_<config>.json)")
    ap.add_argument("--command", help="with --from-run: the command(s) that made the run, to record")
    ap.add_argument("--note", help="to record beside the figures: the load while it ran, what cut or resumed it")
    args = ap.parse_args(argv)
    name = Path(args.config).stem
    run_dir = Path(args.from_run) if args.from_run else ROOT / "runs" / name
    cmd = [sys.executable, "-m", "rlvr.run", args.config, f"run.output_dir={run_dir}", *args.overrides,
           "--overwrite"]
    # with --from-run the run is over: the load now says nothing about it (--note can say what it was)
    minutes, load = None, (None if args.from_run else {"start": os.getloadavg()})
    if not args.from_run:
        t0 = time.perf_counter()
        rc = subprocess.call(cmd, cwd=ROOT)
        if rc != 0:
            return rc
        minutes = (time.perf_counter() - t0) / 60
        load["end"] = os.getloadavg()
    command = (args.command if args.from_run
               else "python scripts/train_result.py " + shlex.join([args.config, *args.overrides]))
    result = summarise(run_dir, minutes=minutes, load=load, command=command)
    result["config"] = name
    if args.note:
        result["note"] = args.note
    out = Path(args.out) if args.out else ROOT / "results" / f"train_{name}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"[train_result] {name}: {result['metric']} {result['before']:.3f}±{result['stderr']['before']:.3f} -> "
          f"{result['after']:.3f}±{result['stderr']['after']:.3f} on {result['heldout_n']} held-out "
          f"({result['minutes']} min) -> {out}")
    if result["paired"]:
        p = result["paired"]
        print(f"[train_result] paired over {p['n']} items: delta {p['delta']:+.3f} ± {p['se']:.3f} "
              f"({p['improved']} improved, {p['worsened']} worsened)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
