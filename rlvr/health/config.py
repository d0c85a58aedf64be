"""The `health:` section of a run config: the monitors' thresholds and windows, and which monitors stop a run.

It lives here, next to the rules it tunes (`rlvr.health.monitors`, docs/health.md); `rlvr.config` puts it in
`RunConfig` and loads it strictly like every other section. What this module does NOT do: apply the rules.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rlvr.config_schema import Section, require

__all__ = ["HealthConfig"]


@dataclass(frozen=True)
class HealthConfig(Section):
    """The run's health monitors (rlvr.health; rules in docs/health.md): thresholds, windows, what stops the run."""

    _name = "health"
    enabled: bool = True
    baseline_steps: int = 3            # the first steps every drift is measured against
    window: int = 3                    # the latest steps a monitor averages over
    correctness: str | None = None     # the task's correctness component (None: the first verifier)
    correct_share_min: float = 0.33    # dominance: least share of the weighted reward gain from correctness
    min_gain: float = 0.05             # dominance: smallest weighted gain worth judging
    copy_ngram: int = 6                # prompt copy: words in a row shared with the prompt
    copy_max: float = 0.25             # prompt copy: largest fraction of completions that copy
    identical_max: float = 0.5         # identical: largest fraction of completions repeating one in their group
    untrusted_pay_max: float = 0.2     # untrusted pay: largest fraction of paid completions that were truncated
    length_ratio_max: float = 1.5      # verbosity: window mean length / baseline mean length
    truncation_rise_max: float = 0.2   # verbosity: window truncation rate - baseline rate
    zero_variance_max: float = 0.9     # collapse: largest fraction of groups with equal rewards
    entropy_ratio_min: float = 0.3     # collapse: least window entropy / baseline entropy
    kl_max: float = 0.5                # collapse: largest KL to the base (when algo.kl is on)
    regression_task: str | None = None  # a second held-out set: a reasoning-gym task (None: none)
    regression_task_kwargs: dict = field(default_factory=dict)
    regression_size: int = 32
    regression_se: float = 2.0         # regression: a drop beyond this many standard errors warns
    stop_on: list[str] = field(default_factory=list)  # monitors that stop the run when they fire ("all": any)

    def _check(self) -> None:
        from rlvr.health.monitors import MONITORS

        require(self.baseline_steps >= 1 and self.window >= 1, "health.baseline_steps and health.window must be >= 1")
        require(self.copy_ngram >= 2, "health.copy_ngram must be >= 2")
        require(self.regression_size >= 2, "health.regression_size must be >= 2")
        for key in ("correct_share_min", "copy_max", "identical_max", "untrusted_pay_max", "zero_variance_max",
                    "entropy_ratio_min"):
            require(0 <= getattr(self, key) <= 1, f"health.{key} must be in [0, 1]")
        for key in ("min_gain", "length_ratio_max", "truncation_rise_max", "kl_max", "regression_se"):
            require(getattr(self, key) >= 0, f"health.{key} must be >= 0")
        for name in self.stop_on:
            require(name == "all" or name in MONITORS,
                     f"health.stop_on: unknown monitor {name!r} (known: all, {', '.join(MONITORS)})")
