"""`python -m rlvr.bench rollout|step|sync --quick` end to end on the tiny model: the commands run, and the
JSON they write has the promised shape and internally consistent, physically possible numbers.

No timing thresholds: these machines are shared and noisy; the ratios are for people to read.
"""

import json
import math
import os
import subprocess
import sys

import pytest


def _bench(tmp_path, name: str, *extra: str) -> dict:
    out = tmp_path / f"{name}.json"
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE", "RAY_AUTH_MODE": "disabled"}
    proc = subprocess.run([sys.executable, "-m", "rlvr.bench", name, "--quick", "--out", str(out), *extra],
                          env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert out.with_suffix(".png").stat().st_size > 1000
    data = json.loads(out.read_text())
    assert data["benchmark"] == name and data["quick"] is True and data["model"] == "tiny:0"
    assert data["machine"]["cores"] >= 1 and len(data["machine"]["load_avg_start"]) == 3
    assert len(data["load_avg_end"]) == 3
    return data


@pytest.mark.slow
def test_rollout_quick(tmp_path):
    data = _bench(tmp_path, "rollout")
    from rlvr.config import SamplerConfig
    from rlvr.rollout.sampler import pick_dtype

    by = {c["name"]: c for c in data["contenders"]}
    assert len(by) == 2 and by["hf_generate"]["dtype"] == "float32"
    rlvr = next(c for name, c in by.items() if name.startswith("rlvr_"))
    assert rlvr["dtype"] == pick_dtype(SamplerConfig().dtype)  # quick mode: rlvr's configured dtype, resolved
    n_seq = data["prompts"] * data["group_size"]
    for c in by.values():
        assert c["sequences"] == n_seq
        assert n_seq <= c["tokens"] <= n_seq * data["max_tokens"]
        assert c["gen_s"] > 0 and c["startup_s"] > c["gen_s"] * 0  # start-up reported apart
        assert c["tok_s"] == pytest.approx(c["tokens"] / c["gen_s"], rel=0.01)
        assert 0 < c["peak_fraction"] < 1, c  # a fraction of the machine's own matmul peak
    ratio = data["ratios"][f"{rlvr['name']}_vs_hf"]
    assert ratio == pytest.approx(rlvr["tok_s"] / by["hf_generate"]["tok_s"], rel=0.01)
    assert data["matmul_peak_gflops"] > 0 and data["model_flops"]["flops_per_token"] > 0


@pytest.mark.slow
def test_step_quick(tmp_path):
    data = _bench(tmp_path, "step")
    by = {s["name"]: s for s in data["sides"]}
    assert set(by) == {"rlvr", "trl"}
    for side in by.values():
        assert len(side["steps"]) == data["warmup"] + data["steps"]
        assert side["step_s_mean"] > 0
        assert all(0.0 <= s["reward_mean"] <= 1.0 or math.isnan(s["reward_mean"]) for s in side["steps"])
    rlvr = by["rlvr"]
    for s in rlvr["steps"]:
        parts = s["gen_s"] + s["reward_s"] + s["train_s"] + s["sync_s"]
        assert parts == pytest.approx(s["step_s"], rel=1e-6)
        assert 0 < s["completion_tokens"] <= data["prompts"] * data["group_size"] * data["max_tokens"]
        assert math.isfinite(s["sync_max_diff"])
    assert data["speedup_vs_trl"] == pytest.approx(by["trl"]["step_s_mean"] / rlvr["step_s_mean"], rel=0.01)


@pytest.mark.slow
def test_sync_quick(tmp_path):
    data = _bench(tmp_path, "sync")
    assert {c["mode"] for c in data["contenders"]} == {"lora", "merge"}
    for c in data["contenders"]:
        assert len(c["updates"]) == 2
        for u in c["updates"]:
            assert u["bytes"] > 0 and 0 < u["load_s"] <= u["sync_s"] and u["export_s"] <= u["sync_s"]
            assert math.isfinite(u["max_diff"]) and u["update_loss"] >= 0
            assert u["stale_max_diff"] > 0  # the update moved the policy: a skipped push would show
            assert u["stale_update_loss"] > u["update_loss"]
        # the base once, then the adapter alone, the same size each time (SmolLM2: 270-538 MB vs 19.6 MB)
        assert c["first_full_sync"]["bytes"] > 2 * c["updates"][0]["bytes"] == 2 * c["updates"][1]["bytes"]
        s = c["summary"]
        assert s["check_passed"] == (s["max_diff"] <= s["tolerance"]
                                     and (c["lossy"] or s["update_loss_max"] <= c["update_tolerance"]))
        assert s["sync_s_max"] >= s["sync_s_p50"] > 0 and c["gen_tok_s"] > 0
        if c["mode"] == "lora":  # exact in every dtype
            assert s["update_loss_max"] < 1e-6 and s["check_passed"]
