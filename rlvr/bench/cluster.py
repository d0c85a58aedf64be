"""Multi-node Ray on one machine: a short training run split over nodes, one node lost mid-run, nothing lost.

`ray.cluster_utils.Cluster` starts a head and worker nodes, each its own raylet and object store (the
processes `ray start` would run on separate machines). The run is `rlvr.run`'s own (`Trainer`, a shipped
config: `smoke` by default, a tiny model built on the fly) joined to that cluster through the one config line
a user writes (`ray.address`), with the placement keys: the head declares `learner_node`, each worker
`sampler_node`, so the learner runs on the head and the samplers on workers, and every weight push crosses
object stores. Right after step `--kill-after` is logged, the node of sampler 0 is removed (its raylet, object
store and workers killed) while the next batch generates there; the fleet replaces its samplers on the other worker
and the run goes on. Written per run: the nodes, where each actor ran before and after the loss, the steps
requested and completed, the restarts, per-step sync seconds and bytes, the checkpoint reached.

What this does NOT show (one machine): network bandwidth or latency between machines (the object stores
share one memory bus), a shared filesystem (every node reads the same model folder here), or the head's
loss (the driver and the learner live there; surviving it needs Ray's GCS fault tolerance and a resume).
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

from rlvr.bench import common

LEARNER_RESOURCE, SAMPLER_RESOURCE = "learner_node", "sampler_node"


def add_arguments(p) -> None:
    p.add_argument("--config", default="smoke", help="the run config (default smoke: a tiny model, seconds a step)")
    p.add_argument("--steps", type=int, default=None, help="training steps (default 5; --quick 3)")
    p.add_argument("--samplers", type=int, default=None, help="sampler actors (default 2; --quick 1)")
    p.add_argument("--workers", type=int, default=2, help="worker nodes (>= 2: one is lost, one takes over)")
    p.add_argument("--kill-after", type=int, default=1, help="remove the samplers' node once this step is logged")
    p.add_argument("--run-dir", default=None, help="the run's folder (default: a fresh temporary one)")
    p.add_argument("--lora-rank", type=int, default=16,
                   help="the learner's LoRA rank (16: the tiny model's adapter, ~0.3 MB, is above Ray's 100 KB "
                        "inline limit, so every push goes through the object stores, as a real model's does)")


def run(args) -> dict:
    steps = args.steps or (3 if args.quick else 5)
    samplers = args.samplers or (1 if args.quick else 2)
    run_dir = Path(args.run_dir or tempfile.mkdtemp(prefix="rlvr-cluster-"))
    machine = common.machine_info()
    payload = run_on_cluster(args.config, run_dir, steps=steps, samplers=samplers, workers=args.workers,
                             kill_after=args.kill_after, lora_rank=args.lora_rank)
    payload = {"benchmark": "cluster", "quick": bool(args.quick), "config": args.config, **payload,
               "machine": machine}
    rows = [[s["step"], s["sync_s"], s["sync_bytes"], s["sync_max_diff"], s["sampler_restarts"]]
            for s in payload["per_step"]]
    print(common.table(rows, ["step", "sync s", "sync bytes", "probe max |dlogp|", "sampler restarts"]))
    bars = [(str(s["step"]), s["sync_s"]) for s in payload["per_step"]]
    common.write_result(payload, args.out or "results/cluster.json", bars, "sync seconds",
                        f"weight sync across nodes; node of sampler 0 lost after step {args.kill_after}")
    return payload


def start_cluster(workers: int, samplers: int):
    """A head (the driver and the learner: 1 CPU, `learner_node`) and `workers` nodes that can each take
    every sampler (`samplers` CPUs and `sampler_node` slots), so that one node's loss leaves room elsewhere."""
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "resources": {LEARNER_RESOURCE: 1}})
    for _ in range(workers):
        cluster.add_node(num_cpus=samplers, resources={SAMPLER_RESOURCE: samplers})
    cluster.wait_for_nodes()
    return cluster


def run_on_cluster(config: str, run_dir: Path, *, steps: int, samplers: int, workers: int, kill_after: int,
                   lora_rank: int) -> dict:
    """Start the cluster, train on it, lose sampler 0's node after step `kill_after`, and report."""
    import ray

    from rlvr.config import load_config
    from rlvr.run.cli import prepare

    if workers < 2 or not 1 <= kill_after < steps:
        raise ValueError("need >= 2 worker nodes and 1 <= kill_after < steps (a step must follow the loss)")
    t0 = time.perf_counter()
    cluster = start_cluster(workers, samplers)
    common.log(f"cluster up in {time.perf_counter() - t0:.0f} s: head + {workers} worker nodes at {cluster.address}")
    cfg = load_config(config, [f"ray.address={cluster.address}", f"ray.learner_resources={{{LEARNER_RESOURCE}: 1}}",
                               f"ray.sampler_resources={{{SAMPLER_RESOURCE}: 1}}", f"run.output_dir={run_dir}",
                               f"run.steps={steps}", f"sampler.num_samplers={samplers}", "run.save_every=1",
                               f"learner.lora_rank={lora_rank}", f"learner.lora_alpha={2 * lora_rank}"])
    job = trainer = None
    try:
        job = prepare(cfg)
        trainer = _trainer_losing_a_node(cluster, kill_after)(cfg, job)
        trainer.run()
        placement_after = trainer.actors.placement()
        nodes = _nodes(cluster, ray.nodes())
    finally:
        if trainer is not None:
            trainer.close()
        if job is not None:
            job.pool.close()
        ray.shutdown()
        cluster.shutdown()
    out = _report(run_dir, steps, nodes, trainer.loss, placement_after, trainer.adapter_nodes,
                  total_s=time.perf_counter() - t0)
    return {"model": cfg.model.path, "samplers": samplers, **out}


def _trainer_losing_a_node(cluster, after_step: int):
    """rlvr's `Trainer`, which removes the node of sampler 0 right after logging step `after_step`: the
    on-policy loop has already submitted the next batch there, so the node goes while that batch generates."""
    import ray

    from rlvr.run.trainer import Trainer

    class LosingTrainer(Trainer):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.loss = {"after_step": after_step, "killed": None, "placement_before": None}
            self.adapter_nodes: dict[int, list[str]] = {}

        def _record(self, *args) -> None:
            super()._record(*args)
            # the nodes whose object store holds this step's pushed adapter (none: it travelled inline)
            ref = self.actors.sync._adapter
            self.adapter_nodes[self.step] = ray.experimental.get_object_locations([ref])[ref]["node_ids"]
            if self.step == after_step:
                before = self.actors.placement()
                node = next(n for n in cluster.worker_nodes if n.node_id == before["samplers"][0])
                common.log(f"step {after_step} logged: removing node {node.node_id[:12]} (sampler 0's)")
                cluster.remove_node(node)
                self.loss = {"after_step": after_step, "killed": node.node_id, "placement_before": before}

    return LosingTrainer


def _step_rows(metrics: Path) -> list[dict]:
    if not metrics.exists():
        return []
    rows = [json.loads(line) for line in metrics.read_text().splitlines() if line.strip()]
    return [r for r in rows if "reward_mean" in r]


def _nodes(cluster, table: list[dict]) -> list[dict]:
    """Every node the cluster had: its role, declared resources and whether it was alive at the end."""
    head = cluster.head_node.node_id
    return [{"node_id": n["NodeID"], "role": "head" if n["NodeID"] == head else "worker", "alive": bool(n["Alive"]),
             "resources": {k: v for k, v in n["Resources"].items() if not k.startswith("node:")}} for n in table]


def _report(run_dir: Path, steps: int, nodes: list[dict], loss: dict, after: dict, adapter_nodes: dict,
            total_s: float) -> dict:
    rows = _step_rows(run_dir / "metrics.jsonl")
    latest = run_dir / "checkpoints" / "LATEST"
    before = loss["placement_before"] or {}
    return {
        "nodes": nodes, "head_node": next(n["node_id"] for n in nodes if n["role"] == "head"),
        "learner_node": after["learner"], "sampler_nodes_before": before.get("samplers"),
        "sampler_nodes_after": after["samplers"], "node_killed": loss["killed"] is not None,
        "killed_node": loss["killed"], "killed_after_step": loss["after_step"],
        "steps_requested": steps, "steps_completed": len(rows), "logged_steps": [r["step"] for r in rows],
        "sampler_restarts": rows[-1]["sampler_restarts"] if rows else 0,
        "checkpoint": latest.read_text().strip() if latest.exists() else None,
        "adapter_saved": (run_dir / "adapter" / "adapter_model.safetensors").exists(),
        "per_step": [{k: r.get(k) for k in ("step", "sync_s", "sync_bytes", "sync_max_diff", "sync_update_loss",
                                            "sync_base_loss", "gen_s", "step_s", "sampler_restarts")}
                     | {"adapter_object_nodes": adapter_nodes.get(r["step"])} for r in rows],
        "total_s": round(total_s, 1), "run_dir": str(run_dir),
    }
