"""The main job end to end on CPU: `python -m rlvr.run` with Ray, vLLM, the learner and the rewards pool.

These start real actors (tens of seconds each), so they are `slow`; they still run in CI.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

HERE = Path(__file__).parent
ENV = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE", "RAY_AUTH_MODE": "disabled", "HF_HUB_OFFLINE": "1"}


def run_cli(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rlvr.run", *args], capture_output=True, text=True,
                          timeout=timeout, env=ENV)


def step_lines(out: Path) -> list[dict]:
    lines = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines() if x.strip()]
    return [x for x in lines if "reward_mean" in x]


def eval_lines(out: Path) -> list[dict]:
    lines = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines() if x.strip()]
    return [x for x in lines if "eval_reward" in x]


# -- errors come before any expensive start-up ------------------------------------------------------------
@pytest.mark.parametrize("args, needle", [
    (("smoke", "run.stepz=3"), "stepz"),
    (("smoke", "model.path=/nonexistent/model"), "/nonexistent/model"),
    (("smoke", "sampler.group_size=many"), "group_size"),
    (("no-such-config",), "no-such-config"),
])
def test_user_errors_are_one_clear_message(args, needle, tmp_path):
    proc = run_cli(*args, f"run.output_dir={tmp_path}", timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert needle in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "metrics.jsonl").exists()


def test_unknown_verifier_lists_the_known_ones(tmp_path):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text((HERE / "learn.yaml").read_text().replace("name: format,", "name: fromat,"))
    proc = run_cli(str(cfg), f"run.output_dir={tmp_path}/out", timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "fromat" in proc.stderr and "length_penalty" in proc.stderr


# -- the shipped smoke config ------------------------------------------------------------------------------
@pytest.mark.slow
def test_smoke_config_runs_the_whole_loop(tmp_path):
    out = tmp_path / "smoke"
    proc = run_cli("configs/smoke.yaml", f"run.output_dir={out}", "sampler.temperature=0.7")
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "truncated importance sampling off" in proc.stdout  # fp32 sampler, fp32 learner
    steps = step_lines(out)
    assert [s["step"] for s in steps] == [1, 2, 3]
    for s in steps:
        assert s["sync_max_diff"] <= 1e-3  # fp32 sampler: the push must be exact up to kernels
        assert s["sync_update_loss"] <= 1e-6 and 0 < s["sync_bytes"]  # only the adapter, served exactly
        assert s["sync_base_loss"] <= 1e-4  # on the learner's base, through the live kernels
        assert s["tokens_per_s"] > 0 and s["completion_len_mean"] > 0
        assert "tis_weight_mean" not in s
    trained = [s for s in steps if "mismatch_max_abs" in s]
    assert trained, steps  # the length term gives groups variance: the learner steps
    for s in trained:  # at T = 0.7 the learner scores the sampled tokens as the sampler drew them
        assert s["mismatch_max_abs"] <= 1e-3 and 0 <= s["mismatch_kl"] <= 1e-6
    evals = eval_lines(out)
    assert evals[0]["step"] == 0 and evals[-1]["step"] == 3
    assert (out / "adapter" / "adapter_config.json").exists()
    adapter_bytes = (out / "adapter" / "adapter_model.safetensors").stat().st_size
    assert all(s["sync_bytes"] <= 2 * adapter_bytes for s in steps)
    assert (out / "reward_curve.png").stat().st_size > 1000
    assert (out / "dpo_pairs.jsonl").exists()
    assert list(out.glob("**/events.out.tfevents.*"))
    assert (out / "checkpoints" / "LATEST").read_text().strip() == "step-000003"
    memory = json.loads((out / "memory.json").read_text())  # sampled over the driver's whole process tree
    assert "peak memory of the job" in proc.stdout and memory["samples"] >= 3
    assert 0 < memory["peak_pss_gib"] <= memory["peak_rss_gib"] + 1e-3
    names = " ".join(p["cmd"] for p in memory["largest"])
    assert "ray::Learner" in names and "ray::Sampler" in names  # the actors are inside the sum


# -- learning: signs, advantages, update and sync together ---------------------------------------------------
@pytest.mark.slow
def test_mean_reward_rises_on_a_toy_task(tmp_path):
    out = tmp_path / "learn"
    proc = run_cli(str(HERE / "learn.yaml"), f"run.output_dir={out}")
    assert proc.returncode == 0, proc.stderr[-4000:]
    rewards = [s["reward_mean"] for s in step_lines(out)]
    assert len(rewards) == 10
    first, last = sum(rewards[:2]) / 2, sum(rewards[-2:]) / 2
    assert last > first + 0.15, rewards


# -- resume after SIGKILL loses at most one step ----------------------------------------------------------
@pytest.mark.slow
def test_resume_after_sigkill(tmp_path):
    out = tmp_path / "resume"
    args = [sys.executable, "-m", "rlvr.run", str(HERE / "learn.yaml"), f"run.output_dir={out}",
            "run.steps=6", "run.save_every=1"]
    proc = subprocess.Popen(args, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.time() + 600
    while time.time() < deadline:
        if (out / "metrics.jsonl").exists() and len(step_lines(out)) >= 3:
            break
        assert proc.poll() is None, "run ended before it could be killed"
        time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    logged = len(step_lines(out))
    saved = int((out / "checkpoints" / "LATEST").read_text().strip().split("-")[1])
    assert saved >= logged - 1, (saved, logged)
    done = run_cli(str(HERE / "learn.yaml"), f"run.output_dir={out}", "run.steps=6", "run.save_every=1",
                   "--resume")
    assert done.returncode == 0, done.stderr[-4000:]
    assert [s["step"] for s in step_lines(out)] == [1, 2, 3, 4, 5, 6]


# -- the sync check stops a run whose samplers kept stale weights -------------------------------------------
@pytest.mark.slow
def test_skipped_sync_stops_the_run(tmp_path, monkeypatch):
    from rlvr.config import load_config
    from rlvr.run.cli import prepare
    from rlvr.run.trainer import Trainer
    from rlvr.sync.push import SyncMismatchError, WeightSync

    pushes = []

    def forget(self):  # the start-up sync happens; every later push is "forgotten"
        pushes.append(self._adapter)

    monkeypatch.setattr(WeightSync, "_send", forget)
    cfg = load_config(HERE / "learn.yaml", [f"run.output_dir={tmp_path}", "run.steps=3"])
    job = prepare(cfg)
    trainer = Trainer(cfg, job)
    try:
        with pytest.raises(SyncMismatchError, match="push did not arrive") as err:
            trainer.run()
    finally:
        trainer.close()
        job.pool.close()
        import ray

        ray.shutdown()
    assert err.value.step == 1 and err.value.max_diff > err.value.tolerance
    assert len(pushes) == 1


# -- two samplers share each batch; one dies mid-run, is replaced and its prompts generated again ----------
@pytest.mark.slow
def test_dead_sampler_is_restarted_and_run_completes(tmp_path, monkeypatch):
    import ray

    from rlvr.config import load_config
    from rlvr.run.cli import prepare
    from rlvr.run.trainer import Trainer

    real_train = Trainer._train
    killed = []

    def train_then_kill(self, samples):  # the next batch is already generating (off-policy): kill its sampler
        out = real_train(self, samples)
        if not killed:
            killed.append(self.actors.fleet.actors[0])
            ray.kill(self.actors.fleet.actors[0], no_restart=True)
        return out

    monkeypatch.setattr(Trainer, "_train", train_then_kill)
    cfg = load_config(HERE / "learn.yaml", [f"run.output_dir={tmp_path}", "run.steps=3", "run.off_policy=true",
                                            "sampler.num_samplers=2"])  # the batch is spread over two
    job = prepare(cfg)
    trainer = Trainer(cfg, job)
    try:
        final = trainer.run()
    finally:
        trainer.close()
        job.pool.close()
        ray.shutdown()
    steps = step_lines(tmp_path)
    assert [s["step"] for s in steps] == [1, 2, 3]
    assert steps[-1]["sampler_restarts"] >= 1
    assert all(s["sync_max_diff"] <= 1e-3 for s in steps)
    assert final["eval_reward"] >= 0.0
