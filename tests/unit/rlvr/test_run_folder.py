"""Run-folder rules: an existing run is refused without --resume/--overwrite, --overwrite removes only rlvr's
outputs, --resume compares the checkpoint's config (allowed keys said, others refused by name), a finished
run is recognised. All on fake folders: no actor starts."""

from __future__ import annotations

import pytest
import yaml

from rlvr.config import load_config
from rlvr.run import checkpoint
from rlvr.run import folder as run_folder
from rlvr.run.preflight import UserError


def _cfg(out, *overrides):
    return load_config("smoke", [f"run.output_dir={out}", *overrides])


def _fake_run(out, step, *overrides, adapter=False):
    """A folder as a run leaves it: config.resolved.yaml, metrics, a checkpoint at `step` (carrying the config)."""
    cfg = _cfg(out, *overrides)
    run_folder.start(cfg, run_folder.plan(cfg))
    (out / "metrics.jsonl").write_text('{"step": 1, "reward_mean": 0.5}\n')
    checkpoint.save(out, step, {"stream": {}}, lambda d: __import__("os").mkdir(d))
    if adapter:
        (out / "adapter").mkdir()
    return cfg


def test_a_fresh_folder_is_used_and_an_existing_run_is_refused(tmp_path):
    out = tmp_path / "run"
    assert run_folder.plan(_cfg(out)).action == "fresh"
    out.mkdir()
    (out / "notes.txt").write_text("mine")  # a folder with other files is not a run
    assert run_folder.plan(_cfg(out)).action == "fresh"
    _fake_run(out, 2)
    with pytest.raises(UserError, match=r"already holds a run \(checkpoint at step 2\): pass --resume .* --overwrite"):
        run_folder.plan(_cfg(out))
    (out / "checkpoints").rename(tmp_path / "moved")  # metrics alone still mean a run
    with pytest.raises(UserError, match="already holds a run:"):
        run_folder.plan(_cfg(out))


def test_overwrite_removes_rlvr_outputs_and_nothing_else(tmp_path):
    out = tmp_path / "run"
    _fake_run(out, 2, adapter=True)
    (out / "notes.txt").write_text("mine")
    (out / "config.yaml").write_text("mine")  # a user's own config next to the run is not rlvr's
    cfg = _cfg(out, "learner.lr=0.5")
    p = run_folder.plan(cfg, overwrite=True)
    assert p.action == "overwrite" and "removing" in p.note
    run_folder.start(cfg, p)
    assert sorted(x.name for x in out.iterdir()) == ["config.resolved.yaml", "config.yaml", "notes.txt"]
    assert load_config(out / "config.resolved.yaml") == cfg


def test_each_checkpoint_carries_the_resolved_config(tmp_path):
    out = tmp_path / "run"
    cfg = _fake_run(out, 3)
    ckpt = checkpoint.latest(out)
    assert load_config(ckpt / "config.resolved.yaml") == cfg


def test_resume_allows_listed_changes_and_says_them(tmp_path):
    out = tmp_path / "run"
    _fake_run(out, 2)
    p = run_folder.plan(_cfg(out, "run.steps=9", "run.eval_every=3"), resume=True)
    assert p.action == "resume" and p.step == 2
    assert p.note == f"resuming {out} from step 2; changed on resume: run.steps 3 -> 9, run.eval_every 2 -> 3"
    assert "\n" not in p.note


def test_resume_refuses_other_changes_naming_every_key(tmp_path):
    out = tmp_path / "run"
    _fake_run(out, 2)
    cfg = _cfg(out, "data.prompts_per_step=2", "learner.lr=0.5", "run.steps=9",
               "rewards.verifiers=[{name: math}]")
    with pytest.raises(UserError) as err:
        run_folder.plan(cfg, resume=True)
    msg = str(err.value)
    assert "data.prompts_per_step (4 -> 2)" in msg and "learner.lr (0.0001 -> 0.5)" in msg
    assert "rewards.verifiers" in msg and "run.steps (" not in msg and str(out / "checkpoints") in msg
    assert "\n" not in msg


def test_a_finished_run_is_recognised_and_a_longer_one_resumes(tmp_path):
    out = tmp_path / "run"
    _fake_run(out, 3, adapter=True)
    p = run_folder.plan(_cfg(out), resume=True)
    assert p.action == "finished" and "already finished at step 3" in p.note
    assert run_folder.plan(_cfg(out, "run.steps=5"), resume=True).action == "resume"
    assert run_folder.plan(_cfg(out, "run.steps=2"), resume=True).action == "finished"
    (out / "adapter").rmdir()  # killed while finishing: the last steps are done again
    assert run_folder.plan(_cfg(out), resume=True).action == "resume"
    with pytest.raises(UserError, match="past run.steps=2"):
        run_folder.plan(_cfg(out, "run.steps=2"), resume=True)


def test_resume_without_a_checkpoint_starts_afresh_and_says_so(tmp_path):
    out = tmp_path / "run"
    assert run_folder.plan(_cfg(out), resume=True) == run_folder.Plan("fresh", out)
    out.mkdir()
    (out / "metrics.jsonl").write_text("")
    assert "no checkpoint" in run_folder.plan(_cfg(out), resume=True).note


def test_resume_and_overwrite_together_is_an_error(tmp_path):
    with pytest.raises(UserError, match="contradict"):
        run_folder.plan(_cfg(tmp_path), resume=True, overwrite=True)


def test_an_old_checkpoint_without_config_resumes_with_a_note(tmp_path):
    out = tmp_path / "run"
    checkpoint.save(out, 1, {}, lambda d: __import__("os").mkdir(d))
    p = run_folder.plan(_cfg(out), resume=True)
    assert p.action == "resume" and "no saved config" in p.note


def test_changed_keys_of_a_config_and_its_saved_yaml_is_empty(tmp_path):
    cfg = _cfg(tmp_path, "data.system_prompt=hi", "algo.kl=k3", "algo.kl_coef=0.01")
    saved = yaml.safe_load(yaml.safe_dump(cfg.to_dict()))
    assert run_folder.changed_keys(saved, cfg.to_dict()) == []
    other = _cfg(tmp_path, "sampler.top_p=0.5", "data.system_prompt=hi")
    assert run_folder.changed_keys(saved, other.to_dict()) == [
        ("sampler.top_p", 1.0, 0.5), ("algo.kl", "k3", "off"), ("algo.kl_coef", 0.01, 0.0)]
