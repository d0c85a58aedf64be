"""A run made to game a verifier trips the reward-hacking monitor, says so on a short console, and stops.

The embedded SmolLM2-135M-Instruct is paid for a final `\\boxed{}` only (format weight 1) while math correctness is
watched at weight 0: it learns the box within a few steps (the default job's format reward goes 0.34 -> 0.9 by
step 4) and not the arithmetic, which is what `dominance` is for. `health.stop_on: [dominance]` ends the run the
step it fires (exit code 4), so the test costs only the steps it needs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

ENV = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE", "RAY_AUTH_MODE": "disabled", "HF_HUB_OFFLINE": "1"}
GAMED = [
    "rewards.verifiers=[{name: math, weight: 0.0}, {name: format, weight: 1.0, options: {style: boxed}}]",
    "health.baseline_steps=2", "health.window=2", "health.stop_on=[dominance]", "health.regression_task=null",
    "run.steps=10", "run.eval_every=0", "data.eval_size=16", "sampler.kv_cache_gib=0.5", "learner.micro_batch=4",
]


@pytest.mark.slow
def test_a_format_only_reward_trips_the_reward_hacking_warning(tmp_path):
    out = tmp_path / "gamed"
    proc = subprocess.run([sys.executable, "-m", "rlvr.run", "math", f"run.output_dir={out}", *GAMED],
                          capture_output=True, text=True, timeout=1500, env=ENV)
    assert proc.returncode == 4, (proc.stdout[-3000:], proc.stderr[-3000:])
    assert "WARNING [dominance]" in proc.stdout and "reward hacking?" in proc.stdout
    assert "stopped by a health monitor" in proc.stdout
    lines = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    warned = [x for x in lines if x.get("warning") == "dominance"]
    assert len(warned) == 1 and warned[0]["warning_value"] < 0.33
    steps = [x for x in lines if "reward_mean" in x]
    assert steps[-1]["step"] == warned[0]["step"] < 10  # stopped the step it fired
    assert steps[-1]["reward_format_mean"] > steps[0]["reward_format_mean"]
    # the console is short: Ray/vLLM/transformers went to run.log
    assert len(proc.stdout.splitlines()) + len(proc.stderr.splitlines()) <= 30, proc.stdout + proc.stderr
    print(proc.stdout, proc.stderr)  # pytest -s shows the console a person would have seen
    noise = ("WARNING 1", "Loading weights", "Loading safetensors", "(Sampler pid", "(Learner pid")
    assert not [n for n in noise if n in proc.stdout + proc.stderr]
    assert (out / "run.log").stat().st_size > 0
    assert "| dominance |" in (out / "report.md").read_text()
