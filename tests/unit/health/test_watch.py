"""The run loop's health hook: a monitor warns once, stop_on stops, and a resumed run does not warn again."""

from dataclasses import replace

import pytest

from rlvr.config import ConfigError, HealthConfig, load_config
from rlvr.health.watch import Watch, warning_record

WEIGHTS = {"math": 1.0, "format": 0.2}


def line(step, copy):
    return {"step": step, "reward_mean": 0.3, "reward_math_mean": 0.2, "reward_format_mean": 0.5,
            "health/copy_frac": copy}


def test_a_monitor_warns_once_when_it_starts_firing():
    watch = Watch(HealthConfig(), WEIGHTS)
    new = [watch.observe(line(s, 0.6 if s >= 3 else 0.0)) for s in range(1, 9)]
    assert [[f.monitor for f in n] for n in new] == [[], [], [], ["prompt_copy"], [], [], [], []]
    assert watch.fired["prompt_copy"].step == 4  # the last 3 steps average 0.2, then 0.4 > 0.25


def test_stop_on_names_the_monitors_that_stop_the_run():
    watch = Watch(HealthConfig(stop_on=["prompt_copy"]), WEIGHTS)
    found = [f for s in range(1, 6) for f in watch.observe(line(s, 0.9))]
    assert watch.stops(found).monitor == "prompt_copy"
    assert Watch(HealthConfig(stop_on=["identical"]), WEIGHTS).stops(found) is None
    assert Watch(HealthConfig(stop_on=["all"]), WEIGHTS).stops(found) is not None


def test_a_resumed_run_keeps_its_warnings_and_does_not_repeat_them():
    first = Watch(HealthConfig(), WEIGHTS)
    rows = []
    for s in range(1, 6):
        rows.append(line(s, 0.9))
        rows += [warning_record(f) for f in first.observe(rows[-1])]
    resumed = Watch(HealthConfig(), WEIGHTS, rows=rows)
    assert set(resumed.fired) == {"prompt_copy"} and len(resumed.rows) == 5
    assert resumed.observe(line(6, 0.9)) == []


def test_health_section_is_loaded_strictly(tmp_path):
    cfg = load_config(None, ["health.stop_on=[dominance]", "health.copy_max=0.1"])
    assert cfg.health.stop_on == ["dominance"] and cfg.health.copy_max == 0.1
    with pytest.raises(ConfigError, match="copy_maxx"):
        load_config(None, ["health.copy_maxx=0.1"])
    with pytest.raises(ConfigError, match="unknown monitor 'dominanse'"):
        load_config(None, ["health.stop_on=[dominanse]"])
    with pytest.raises(ConfigError, match="health.identical_max"):
        load_config(None, ["health.identical_max=2"])
    assert replace(HealthConfig(), window=5).window == 5


def test_the_default_job_ships_a_regression_set():
    cfg = load_config("math")
    assert cfg.health.regression_task and cfg.health.regression_task != cfg.data.task
