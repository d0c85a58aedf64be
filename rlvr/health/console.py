"""What a person reads while a run runs: a few start-up lines, one line per step, a final summary table.

Formatting functions are pure (metrics lines in, strings out). `route_logs` sends everything else written to the
process's stdout/stderr (Ray, vLLM and transformers logs, warnings, progress bars, the actors' forwarded output)
to a file in the run folder and returns a stream on the real terminal for these lines; `--verbose` skips it.
What this module does NOT do: decide what is logged in metrics.jsonl, or judge health (`monitors`).
"""

from __future__ import annotations

import logging
import math
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

__all__ = ["LogRoute", "eval_line", "route_logs", "step_line", "summary_lines", "warning_line"]


def _components(row: Mapping[str, Any], prefix: str, suffix: str = "") -> dict[str, float]:
    """`reward_math_mean` -> {"math": v} (prefix "reward_", suffix "_mean"); `eval_reward_math` likewise."""
    out = {}
    for key, value in row.items():
        if (key.startswith(prefix) and key.endswith(suffix) and isinstance(value, int | float)
                and not key.endswith("_se") and key != prefix.rstrip("_")):
            name = key[len(prefix):len(key) - len(suffix)] if suffix else key[len(prefix):]
            if name and name not in ("mean", "std", "s"):
                out[name] = float(value)
    return out


def step_line(row: Mapping[str, Any], steps: int, warnings: Sequence[str] = ()) -> str:
    """`step  3/16  reward 0.094 (math 0.000 format 0.469)  len 38 trunc 3%  gen 9.9s train 18.4s sync 0.10s = 28.6s`."""
    comps = " ".join(f"{k} {v:.3f}" for k, v in _components(row, "reward_", "_mean").items())
    width = len(str(steps))
    parts = [f"step {row['step']:>{width}}/{steps}", f"reward {row['reward_mean']:.3f}" + (f" ({comps})" if comps else "")]
    length = f"len {row.get('completion_len_mean', 0):.0f}"
    if row.get("health/trunc_frac") is not None:
        length += f" trunc {row['health/trunc_frac']:.0%}"
    parts.append(length)
    times = [f"{name} {row[key]:.1f}s" for name, key in (("gen", "gen_s"), ("train", "seconds"), ("sync", "sync_s"))
             if isinstance(row.get(key), int | float)]
    parts.append(" ".join(times) + (f" = {row['step_s']:.1f}s" if isinstance(row.get("step_s"), int | float) else ""))
    if warnings:
        parts.append("! " + ", ".join(warnings))
    return "  ".join(parts)


def _pm(row: Mapping[str, Any], key: str) -> str:
    se = row.get(f"{key}_se")
    return f"{row[key]:.3f}" + (f" ± {se:.3f}" if isinstance(se, int | float) else "")


def eval_line(row: Mapping[str, Any], n: int | None = None) -> str:
    """`eval step 8: held-out 0.606 ± 0.050 (math 0.406 format 1.000; 64 prompts)  regression 0.440 ± 0.080`."""
    comps = " ".join(f"{k} {v:.3f}" for k, v in _components(row, "eval_reward_").items())
    line = f"eval step {row['step']}: held-out {_pm(row, 'eval_reward')}"
    if comps or n:
        line += " (" + "; ".join(x for x in (comps, f"{n} prompts" if n else "") if x) + ")"
    if row.get("regression_reward") is not None:
        line += f"  regression set {_pm(row, 'regression_reward')}"
    return line


def warning_line(finding: Any) -> str:
    return f"WARNING [{finding.monitor}] step {finding.step}: {finding.message}"


def _fmt(row: Mapping[str, Any] | None, key: str) -> str:
    if row is None or not isinstance(row.get(key), int | float):
        return "-"
    se = row.get(f"{key}_se")
    return f"{row[key]:.3f}" + (f" ± {se:.3f}" if isinstance(se, int | float) and math.isfinite(se) else "")


def summary_lines(rows: Sequence[Mapping[str, Any]], fired: Sequence[Any], out_dir: str | Path) -> list[str]:
    """The final table: held-out before/after (± standard error) overall, per component and on the regression set;
    then the monitors that fired, and where the outputs are."""
    evals = [r for r in rows if r.get("eval_reward") is not None]
    first, last = (evals[0], evals[-1]) if evals else (None, None)
    keys = ["eval_reward", *(f"eval_reward_{c}" for c in _components(first or {}, "eval_reward_"))]
    regs = [r for r in rows if r.get("regression_reward") is not None]
    rfirst, rlast = (regs[0], regs[-1]) if regs else (None, None)
    table = [(k.removeprefix("eval_reward_") if k != "eval_reward" else "held-out reward", _fmt(first, k), _fmt(last, k))
             for k in keys]
    if regs:
        table.append(("regression set", _fmt(rfirst, "regression_reward"), _fmt(rlast, "regression_reward")))
    before = f"before (step {first['step']})" if first else "before"
    after = f"after (step {last['step']})" if last else "after"
    w0 = max([len(r[0]) for r in table] + [9])
    w1 = max([len(r[1]) for r in table] + [len(before)])
    lines = ["", f"{'':<{w0}}  {before:<{w1}}  {after}"]
    lines += [f"{name:<{w0}}  {a:<{w1}}  {b}" for name, a, b in table]
    if fired:
        lines.append(f"monitors fired: {len(fired)}")
        lines += [f"  {warning_line(f)}" for f in fired]
    else:
        lines.append("monitors fired: none")
    out = Path(out_dir)
    lines.append(f"outputs: {out}/ (metrics.jsonl, report.md, adapter/, checkpoints/, run.log)")
    return lines


class LogRoute:
    """stdout/stderr (file descriptors 1 and 2, so child processes and C libraries too) redirected to a file; the
    real terminal stays reachable through `console`. `restore()` puts everything back."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        sys.stdout.flush()
        sys.stderr.flush()
        self._saved = (os.dup(1), os.dup(2))
        self.console: TextIO = os.fdopen(os.dup(self._saved[0]), "w", buffering=1)
        self.errors: TextIO = os.fdopen(os.dup(self._saved[1]), "w", buffering=1)
        self._log = open(self.path, "a", buffering=1)
        os.dup2(self._log.fileno(), 1)
        os.dup2(self._log.fileno(), 2)
        self._handler = logging.StreamHandler(self.errors)  # errors still reach the person
        self._handler.setLevel(logging.ERROR)
        self._handler.setFormatter(logging.Formatter("rlvr: %(levelname)s %(name)s: %(message)s"))
        logging.getLogger().addHandler(self._handler)

    def say(self, line: str) -> None:
        self.console.write(line + "\n")
        self.console.flush()

    def restore(self) -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        logging.getLogger().removeHandler(self._handler)
        os.dup2(self._saved[0], 1)
        os.dup2(self._saved[1], 2)
        for fd in self._saved:
            os.close(fd)
        self.console.close()
        self.errors.close()
        self._log.close()


def route_logs(path: str | Path) -> LogRoute:
    """Send the process's stdout/stderr to `path` (appending); print the person's lines with `.say`."""
    return LogRoute(path)
