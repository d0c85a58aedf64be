"""Checkpoint folders: atomic publish, LATEST, pruning, driver RNG round trip, clearing for a fresh run."""

import json
import random

import numpy as np

from rlvr.run import checkpoint
from rlvr.run import folder as run_folder


def _learner_writer(calls):
    def save(path):
        calls.append(path)
        from pathlib import Path

        Path(path).mkdir()
        (Path(path) / "state.json").write_text("{}")

    return save


def test_save_publishes_latest_and_restores_driver_rng(tmp_path):
    random.seed(1)
    np.random.seed(2)
    calls = []
    ckpt = checkpoint.save(tmp_path, 3, {"stream": {"pos": 7}}, _learner_writer(calls))
    expected = (random.random(), np.random.rand())
    random.seed(99)
    np.random.seed(99)
    assert checkpoint.latest(tmp_path) == ckpt and ckpt.name == "step-000003"
    state = checkpoint.load_driver_state(ckpt)
    assert state == {"stream": {"pos": 7}, "step": 3}
    assert (random.random(), np.random.rand()) == expected
    assert (ckpt / "learner" / "state.json").exists() and calls == [str(ckpt.parent / ".tmp-step-000003" / "learner")]


def test_only_the_newest_are_kept_and_a_half_written_one_is_ignored(tmp_path):
    for step in (1, 2, 3):
        checkpoint.save(tmp_path, step, {}, _learner_writer([]), keep=2)
    names = sorted(p.name for p in (tmp_path / "checkpoints").iterdir() if p.is_dir())
    assert names == ["step-000002", "step-000003"]
    (tmp_path / "checkpoints" / ".tmp-step-000004").mkdir()  # a kill in the middle of the next save
    assert checkpoint.latest(tmp_path).name == "step-000003"


def test_latest_is_none_without_a_complete_checkpoint(tmp_path):
    assert checkpoint.latest(tmp_path) is None
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / "LATEST").write_text("step-000009")  # points at nothing
    assert checkpoint.latest(tmp_path) is None


def test_clearing_the_folder_lets_a_fresh_run_start_at_step_one(tmp_path):
    for step in (15, 16):
        checkpoint.save(tmp_path, step, {}, _learner_writer([]))
    run_folder.clear(tmp_path)  # what --overwrite does
    assert checkpoint.latest(tmp_path) is None
    checkpoint.save(tmp_path, 1, {}, _learner_writer([]))
    assert checkpoint.latest(tmp_path).name == "step-000001"
    assert json.loads((checkpoint.latest(tmp_path) / "driver.json").read_text())["step"] == 1
