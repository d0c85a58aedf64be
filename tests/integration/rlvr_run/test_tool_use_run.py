"""configs/tool_use.yaml through `python -m rlvr.run`: multi-turn episodes end to end (samplers, environment, pool,
rewards, learner, sync). A tiny random model never calls the calculator, so the episode environment is swapped
for the test one that always answers (tests/fixtures/env_helpers.py:ChattyEnv); the config is otherwise the
shipped one, at small sizes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parents[2] / "fixtures"
ENV = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE", "RAY_AUTH_MODE": "disabled", "HF_HUB_OFFLINE": "1",
       "PYTHONPATH": os.pathsep.join([str(FIXTURES), os.environ.get("PYTHONPATH", "")])}


@pytest.mark.slow
def test_tool_use_config_trains_on_whole_episodes(tmp_path):
    out = tmp_path / "tool_use"
    args = ["configs/tool_use.yaml", f"run.output_dir={out}", "run.steps=1", "model.path=tiny:0",
            "model.max_model_len=512", "sampler.dtype=float32", "sampler.kv_cache_gib=0.25", "sampler.max_tokens=16",
            "sampler.group_size=4", "data.prompts_per_step=2", "data.eval_size=4", "env.name=env_helpers:ChattyEnv",
            "env.reward_weight=1.0", "env.max_episode_tokens=200", "rewards.workers=1", "learner.micro_batch=4"]
    proc = subprocess.run([sys.executable, "-m", "rlvr.run", *args], capture_output=True, text=True, timeout=900,
                          env=ENV)
    assert proc.returncode == 0, proc.stderr[-4000:]
    lines = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines() if x.strip()]
    (step,) = [x for x in lines if "reward_mean" in x]
    assert step["turns_mean"] > 1 and step["drift_events"] == 0 and step["obs_tokens_mean"] > 0
    assert step["episodes_failed_frac"] == 0
    assert "mismatch_max_abs" in step and step["mismatch_max_abs"] <= 1e-3  # trained, on the sampled tokens
    evals = [x for x in lines if "eval_reward" in x]
    assert [e["step"] for e in evals] == [0, 1] and all(e["eval_turns_mean"] > 1 for e in evals)
    pairs = [json.loads(x) for x in (out / "dpo_pairs.jsonl").read_text().splitlines()]
    assert pairs and isinstance(pairs[0]["chosen"], list) and pairs[0]["chosen"][0]["role"] == "assistant"


@pytest.mark.parametrize("args, needle", [
    (("run.off_policy=true",), "run.off_policy: false"),
    (("env.name=calculater",), "did you mean 'calculator'"),
    (("env.options={colour: red}",), "environment 'calculator'"),
])
def test_environment_mistakes_are_one_line_before_anything_starts(tmp_path, args, needle):
    proc = subprocess.run([sys.executable, "-m", "rlvr.run", "tool_use", f"run.output_dir={tmp_path}/o",
                           "model.path=tiny:0", "data.train_size=16", "--dry-run", *args],
                          capture_output=True, text=True, timeout=300, env=ENV)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert needle in proc.stderr and "Traceback" not in proc.stderr
