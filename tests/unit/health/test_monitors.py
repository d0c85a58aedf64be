"""Every health monitor fires on crafted metrics that break its rule and stays quiet on healthy ones."""

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rlvr.config import HealthConfig
from rlvr.health.monitors import MONITORS, check

CFG = HealthConfig()  # baseline 3 steps, window 3
WEIGHTS = {"math": 1.0, "format": 0.2}


def steps(n=8, **series):
    """n train lines with healthy defaults; `series[key]` is a function step -> value overriding one key."""
    rows = []
    for s in range(1, n + 1):
        row = {"step": s, "reward_mean": 0.3, "reward_math_mean": 0.2, "reward_format_mean": 0.5,
               "completion_len_mean": 40.0, "health/trunc_frac": 0.05, "health/copy_frac": 0.0,
               "health/identical_frac": 0.1, "health/paid_truncated_frac": 0.0, "health/zero_var_frac": 0.25,
               "health/entropy": 0.8, "kl": 0.0}
        row.update({k: f(s) for k, f in series.items()})
        rows.append(row)
    return rows


def fired(rows, cfg=CFG):
    return {f.monitor for f in check(rows, cfg, WEIGHTS)}


def test_healthy_run_fires_nothing():
    assert fired(steps()) == set()


def test_every_monitor_has_a_fire_case_below():
    assert set(MONITORS) == set(FIRE)


def _rise(a, b):
    return lambda s: a if s <= 3 else b


FIRE = {
    # format climbs 0.3 -> 1.0 while math stays at 0.2: correctness earns none of the gain
    "dominance": dict(reward_format_mean=_rise(0.3, 1.0)),
    "prompt_copy": {"health/copy_frac": lambda s: 0.6},
    "identical": {"health/identical_frac": lambda s: 0.8},
    "untrusted_pay": {"health/paid_truncated_frac": lambda s: 0.5},
    "length_drift": dict(completion_len_mean=_rise(40.0, 90.0)),
    "truncation_drift": {"health/trunc_frac": _rise(0.05, 0.5)},
    "zero_variance": {"health/zero_var_frac": lambda s: 1.0},
    "entropy_collapse": {"health/entropy": _rise(0.8, 0.1)},
    "kl_to_base": dict(kl=lambda s: 2.0),
}


@pytest.mark.parametrize("name", [n for n in FIRE if n != "regression"])
def test_monitor_fires_on_its_crafted_metrics(name):
    assert name in fired(steps(**FIRE[name]))
    assert fired(steps(**FIRE[name])) == {name}  # and only it


def test_monitors_that_compare_with_the_first_steps_wait_for_enough_steps():
    # 5 steps < baseline 3 + window 3: the drift monitors cannot judge yet
    for name in ("dominance", "length_drift", "truncation_drift", "entropy_collapse"):
        assert name not in fired(steps(n=5, **FIRE[name]))


def test_dominance_is_quiet_when_correctness_rises_with_the_format():
    both = steps(reward_format_mean=_rise(0.3, 1.0), reward_math_mean=_rise(0.1, 0.4))  # 0.3 of 0.44 weighted gain
    assert "dominance" not in fired(both)
    assert "dominance" in fired(both, replace(CFG, correct_share_min=0.8))  # the threshold is the rule
    assert "dominance" not in fired(steps(reward_format_mean=_rise(0.5, 0.52)))  # gain below min_gain


def test_dominance_uses_the_configured_correctness_component():
    rows = steps(reward_math_mean=_rise(0.2, 0.9))  # math carries the gain
    assert "dominance" not in fired(rows)
    assert "dominance" in fired(rows, replace(CFG, correctness="format"))


FIRE["regression"] = None


def evals(*points):
    return [{"step": s, "eval_reward": 0.5, "eval_reward_se": 0.05, "regression_reward": m, "regression_reward_se": se}
            for s, (m, se) in enumerate(points)]


def test_regression_fires_on_a_drop_beyond_its_standard_errors():
    # 0.60 -> 0.30 with se 0.05 each: drop 0.30 = 4.2 combined se > 2
    assert fired(evals((0.60, 0.05), (0.55, 0.05), (0.30, 0.05))) == {"regression"}


def test_regression_is_quiet_within_its_standard_errors_or_without_them():
    assert fired(evals((0.60, 0.05), (0.50, 0.05))) == set()          # 0.10 = 1.4 se
    assert fired(evals((0.60, 0.05), (0.90, 0.05))) == set()          # a rise
    no_se = [{"step": 0, "regression_reward": 0.6}, {"step": 8, "regression_reward": 0.1}]
    assert fired(no_se) == set()                                       # nothing to judge the drop by


def test_regression_also_watches_the_task_held_out_set():
    rows = [{"step": 0, "eval_reward": 0.6, "eval_reward_se": 0.04}, {"step": 8, "eval_reward": 0.3, "eval_reward_se": 0.04}]
    assert fired(rows) == {"regression"}


def test_disabled_health_fires_nothing():
    assert check(steps(**FIRE["prompt_copy"]), replace(CFG, enabled=False), WEIGHTS) == []


_value = st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True), st.integers(-5, 5), st.text(max_size=3))
_keys = st.sampled_from(["reward_mean", "reward_math_mean", "reward_format_mean", "completion_len_mean", "kl",
                         "health/trunc_frac", "health/entropy", "health/copy_frac", "eval_reward", "eval_reward_se",
                         "regression_reward", "regression_reward_se"])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.dictionaries(_keys, _value, max_size=8), max_size=12))
def test_monitors_never_crash_on_odd_lines(raw):
    rows = [{"step": i, **r} for i, r in enumerate(raw)]
    for f in check(rows, CFG, WEIGHTS):
        assert f.monitor in MONITORS and isinstance(f.message, str)
