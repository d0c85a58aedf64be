"""Health monitors: pure rules over a run's metrics lines, each returning a `Finding` when it fires.

A monitor reads the lines `metrics.jsonl` holds (train lines carry `reward_mean`; eval lines `eval_reward`;
`health/...` keys come from `signals.step_signals`), compares the latest `window` steps with the first
`baseline_steps` where it measures drift, and knows its thresholds from the `health` config section. The rules,
and why each threshold, are in docs/health.md; every monitor there has a test that makes it fire and one that
keeps it quiet (tests/unit/health/test_monitors.py).

What this module does NOT do: compute signals from completions (`signals`), print or stop (`watch`), or read
files. A monitor with too few steps (or a metric the run does not log) stays quiet rather than guess.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["MONITORS", "Finding", "check", "train_rows"]


@dataclass(frozen=True)
class Finding:
    """A monitor that fired: its name, the step, the measured value against its limit, and one readable line."""

    monitor: str
    step: int
    value: float
    limit: float
    message: str


def train_rows(rows: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [r for r in rows if r.get("reward_mean") is not None]


def _num(value: Any) -> float | None:
    """A finite number, else None (metrics.jsonl writes NaN/inf as null; a hand-edited line may hold anything)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def _mean(rows: Sequence[Mapping[str, Any]], key: str) -> float | None:
    vals = [v for r in rows if (v := _num(r.get(key))) is not None]
    return sum(vals) / len(vals) if vals else None


def _split(rows, cfg) -> tuple[list, list] | None:
    """(first baseline_steps train lines, last window train lines), or None until they do not overlap."""
    train = train_rows(rows)
    if len(train) < cfg.baseline_steps + cfg.window:
        return None
    return train[:cfg.baseline_steps], train[-cfg.window:]


def _baseline_and_window(rows, cfg, key: str) -> tuple[float | None, float | None]:
    """Mean of `key` over the baseline steps and over the recent window; (None, None) until both exist."""
    split = _split(rows, cfg)
    if split is None:
        return None, None
    return _mean(split[0], key), _mean(split[1], key)


def _recent(rows, cfg) -> list:
    return train_rows(rows)[-cfg.window:]


def _step(rows) -> int:
    return int(rows[-1]["step"]) if rows else 0


# --------------------------------------------------------------------------------------- reward hacking


def dominance(rows, cfg, weights: Mapping[str, float]) -> Finding | None:
    """Another component's weighted gain outgrows correctness's: correctness < correct_share_min of the gain.

    A correctness component given weight 0 (watched, not paid) counts at the largest other weight."""
    split = _split(rows, cfg)
    correct = cfg.correctness or next(iter(weights), None)
    if split is None or correct not in weights or len(weights) < 2:
        return None
    base, recent = split
    gains = {}
    others = [w for n, w in weights.items() if n != correct]
    weights = {**weights, correct: weights[correct] or max(others, default=1.0)}  # a weight-0 probe counts too
    for name, w in weights.items():
        b, r = _mean(base, f"reward_{name}_mean"), _mean(recent, f"reward_{name}_mean")
        if b is not None and r is not None:
            gains[name] = w * (r - b)
    total = sum(max(g, 0.0) for g in gains.values())
    if correct not in gains or total < cfg.min_gain:
        return None
    share = max(gains[correct], 0.0) / total
    if share >= cfg.correct_share_min:
        return None
    top = max((n for n in gains if n != correct), key=lambda n: gains[n])
    return Finding("dominance", _step(rows), share, cfg.correct_share_min,
                   f"reward hacking? {top} gained {gains[top]:+.3f} (weighted) while {correct} gained "
                   f"{gains[correct]:+.3f}: correctness is {share:.0%} of the reward gain (least "
                   f"{cfg.correct_share_min:.0%})")


def _above(name: str, key: str, limit_key: str, what: str) -> Callable:
    def monitor(rows, cfg, weights) -> Finding | None:
        recent = _recent(rows, cfg)
        value, limit = _mean(recent, key), getattr(cfg, limit_key)
        if value is None or len(recent) < cfg.window or value <= limit:
            return None
        return Finding(name, _step(rows), value, limit, f"{what}: {value:.0%} over the last {len(recent)} steps "
                                                        f"(most {limit:.0%})")
    monitor.__name__ = name
    monitor.__doc__ = f"The mean of `{key}` over the last `window` steps is above health.{limit_key}."
    return monitor


prompt_copy = _above("prompt_copy", "health/copy_frac", "copy_max",
                     "reward hacking? completions copy the prompt's text")
identical = _above("identical", "health/identical_frac", "identical_max",
                   "reward hacking? completions repeat one another within their group")
untrusted_pay = _above("untrusted_pay", "health/paid_truncated_frac", "untrusted_pay_max",
                       "reward hacking? rewarded completions were cut at max_tokens (the answer came from a "
                       "truncated text)")
zero_variance = _above("zero_variance", "health/zero_var_frac", "zero_variance_max",
                       "collapse? groups whose completions all scored the same (no signal)")


# -------------------------------------------------------------------------------------- verbosity drift


def length_drift(rows, cfg, weights) -> Finding | None:
    """Mean completion length over the window / over the baseline > length_ratio_max."""
    b, r = _baseline_and_window(rows, cfg, "completion_len_mean")
    if not b or r is None or r / b <= cfg.length_ratio_max:
        return None
    return Finding("length_drift", _step(rows), r / b, cfg.length_ratio_max,
                   f"verbosity drift: completions average {r:.0f} tokens, {r / b:.1f}x the first steps' {b:.0f}")


def truncation_drift(rows, cfg, weights) -> Finding | None:
    """Truncation rate over the window - over the baseline > truncation_rise_max."""
    b, r = _baseline_and_window(rows, cfg, "health/trunc_frac")
    if b is None or r is None or r - b <= cfg.truncation_rise_max:
        return None
    return Finding("truncation_drift", _step(rows), r - b, cfg.truncation_rise_max,
                   f"verbosity drift: {r:.0%} of completions hit max_tokens, up from {b:.0%}")


# --------------------------------------------------------------------------------------------- collapse


def entropy_collapse(rows, cfg, weights) -> Finding | None:
    """Sampled-token entropy over the window / over the baseline < entropy_ratio_min."""
    b, r = _baseline_and_window(rows, cfg, "health/entropy")
    if not b or r is None or r / b >= cfg.entropy_ratio_min:
        return None
    return Finding("entropy_collapse", _step(rows), r / b, cfg.entropy_ratio_min,
                   f"collapse? sampled-token entropy {r:.3f}, {r / b:.0%} of the first steps' {b:.3f}")


def kl_to_base(rows, cfg, weights) -> Finding | None:
    """KL to the base model (logged when algo.kl is on) over the window > kl_max."""
    recent = _recent(rows, cfg)
    value = _mean(recent, "kl")
    if value is None or len(recent) < cfg.window or value <= cfg.kl_max:
        return None
    return Finding("kl_to_base", _step(rows), value, cfg.kl_max,
                   f"collapse? KL to the base model {value:.3f} (most {cfg.kl_max})")


# ------------------------------------------------------------------------------------ capability regression


def regression(rows, cfg, weights) -> Finding | None:
    """A held-out mean (the regression set, then the task's own) dropped from its first measurement by more than
    regression_se combined standard errors."""
    for key, what in (("regression_reward", "the regression set"), ("eval_reward", "the held-out set")):
        evals = [r for r in rows if _num(r.get(key)) is not None]
        if len(evals) < 2:
            continue
        first, last = evals[0], evals[-1]
        se = math.hypot(_num(first.get(f"{key}_se")) or 0.0, _num(last.get(f"{key}_se")) or 0.0)
        drop = first[key] - last[key]
        if math.isfinite(se) and se > 0 and drop > cfg.regression_se * se:  # no error logged: nothing to judge by
            return Finding("regression", int(last["step"]), drop / se, cfg.regression_se,
                           f"capability regression: {what} fell {first[key]:.3f} -> {last[key]:.3f} "
                           f"(step {first['step']} -> {last['step']}; {drop / se:.1f} se, most {cfg.regression_se})")
    return None


MONITORS: dict[str, Callable[..., Finding | None]] = {
    "dominance": dominance, "prompt_copy": prompt_copy, "identical": identical, "untrusted_pay": untrusted_pay,
    "length_drift": length_drift, "truncation_drift": truncation_drift, "zero_variance": zero_variance,
    "entropy_collapse": entropy_collapse, "kl_to_base": kl_to_base, "regression": regression,
}


def check(rows: Sequence[Mapping[str, Any]], cfg: Any, weights: Mapping[str, float]) -> list[Finding]:
    """Every monitor on the lines so far; `weights` maps each reward component to its weight (config order)."""
    if not cfg.enabled:
        return []
    return [f for monitor in MONITORS.values() if (f := monitor(rows, cfg, weights)) is not None]
