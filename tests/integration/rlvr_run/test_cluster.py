"""A real multi-node Ray cluster on one machine: a head and two worker nodes, each its own raylet and object
store (`ray.cluster_utils.Cluster`, through `rlvr.bench.cluster`). The smoke run joins it with `ray.address`,
the learner lands on the head and the sampler on a worker through `ray.learner_resources` /
`ray.sampler_resources`; that worker is removed mid-run. The sampler must come back on the other worker and
the run must finish every step with every metrics line and its checkpoint.

Slow (a cluster, a learner and vLLM twice): it runs in CI under the slow marker.
"""

from __future__ import annotations

import pytest


@pytest.mark.slow
def test_run_on_three_nodes_survives_losing_the_samplers_node(tmp_path):
    from rlvr.bench.cluster import run_on_cluster

    out = run_on_cluster("smoke", tmp_path / "run", steps=3, samplers=1, workers=2, kill_after=1)
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

    # weights crossed object stores every step (head -> worker), and the samplers served them exactly
    for s in steps:
        assert s["sync_bytes"] > 0 and s["sync_s"] > 0
        assert s["sync_max_diff"] <= 1e-3 and s["sync_update_loss"] <= 1e-6  # fp32: the sync check passed
