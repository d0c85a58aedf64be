"""A real multi-node Ray cluster on one machine: a head and two worker nodes, each its own raylet and object
store (`ray.cluster_utils.Cluster`, through `python -m rlvr.bench cluster --quick`). The smoke run joins it with `ray.address`,
the learner lands on the head and the sampler on a worker through `ray.learner_resources` /
`ray.sampler_resources`; that worker is removed mid-run. The sampler must come back on the other worker and
the run must finish every step with every metrics line and its checkpoint.

Slow (a cluster, a learner and vLLM twice): it runs in CI under the slow marker.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

ENV = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE", "RAY_AUTH_MODE": "disabled", "HF_HUB_OFFLINE": "1",
       "TOKENIZERS_PARALLELISM": "false"}


@pytest.mark.slow
def test_run_on_three_nodes_survives_losing_the_samplers_node(tmp_path):
    result = tmp_path / "cluster.json"
    proc = subprocess.run([sys.executable, "-m", "rlvr.bench", "cluster", "--quick", "--out", str(result),
                           "--run-dir", str(tmp_path / "run")], env=ENV, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = json.loads(result.read_text())
    assert out["benchmark"] == "cluster" and out["model"] == "tiny:0" and out["samplers"] == 1
    assert out["machine"]["date"] and len(out["load_avg_end"]) == 3
    nodes = {n["node_id"]: n for n in out["nodes"]}
    workers = {n for n, info in nodes.items() if info["role"] == "worker"}
    assert len(nodes) == 3 and len(workers) == 2  # each its own raylet: three node ids

    # placed through the config: the learner where `learner_node` is, the samplers where `sampler_node` is
    assert out["learner_node"] == out["head_node"] and nodes[out["head_node"]]["resources"]["learner_node"] == 1
    (before,), (after,) = out["sampler_nodes_before"], out["sampler_nodes_after"]
    assert before in workers and after in workers

    # the samplers' node was lost mid-run, and its sampler came back on the other worker
    assert out["node_killed"] and out["killed_node"] == before and not nodes[before]["alive"]
    assert after != before and nodes[after]["alive"]
    steps = out["per_step"]
    assert steps[0]["sampler_restarts"] == 0 and out["sampler_restarts"] >= 1

    # nothing lost: every step logged, checkpointed at the end, the adapter saved
    assert out["steps_requested"] == out["steps_completed"] == 3 and out["logged_steps"] == [1, 2, 3]
    assert out["checkpoint"] == "step-000003" and out["adapter_saved"]
    run = tmp_path / "run"
    rows = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines() if x.strip()]
    assert [r["step"] for r in rows if "reward_mean" in r] == [1, 2, 3]
    assert (run / "checkpoints" / "LATEST").read_text().strip() == "step-000003"
    assert (run / "checkpoints" / "step-000003").is_dir()

    # weights crossed object stores every step (the head's -> the samplers' worker's), and were served exactly
    for s in steps:
        assert s["sync_bytes"] > 100 * 1024 and s["sync_s"] > 0  # above Ray's inline limit: an object store's
        serving = before if s["step"] <= out["killed_after_step"] else after  # the sampler's node at that step
        assert {out["learner_node"], serving} <= set(s["adapter_object_nodes"]), s
        assert s["sync_max_diff"] <= 1e-3 and s["sync_update_loss"] <= 1e-6  # fp32: the sync check passed
        assert s["sync_base_loss"] <= 1e-4  # the replacement sampler got the learner's base too
