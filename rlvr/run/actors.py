"""The run's Ray actors: one learner and a fleet of samplers, created from the config.

Thin on purpose: the work is done by `learner.Learner` and `sampler.Sampler` (plain classes, tested without
Ray); this module only places them (CPU cores or GPUs, a local or an existing Ray cluster) and hands
them to the weight sync's one owner (`rlvr.sync.push.WeightSync`, `Actors.sync`), which moves and checks
weights between them.

Placement on a cluster is Ray's own: `ray.learner_resources` / `ray.sampler_resources` are custom resources
the actors ask for, so they land only on the nodes declaring them (a replacement for a sampler lost with
its node lands on another node that declares them). What this module does NOT do: start cluster nodes
(`ray start`, KubeRay, `ray up`, or `ray.cluster_utils.Cluster` in `rlvr.bench.cluster`), or ship the
model to other machines (every node reads `model.path`'s converted folder: a shared filesystem).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rlvr.rollout.fleet import SamplerFleet
from rlvr.sync.push import WeightSync

log = logging.getLogger(__name__)


def init_ray(address: str | None, num_cpus: int | None, resources: Mapping[str, float] | None = None) -> None:
    """Connect to `address` (an existing cluster: its nodes declare their CPUs and custom resources) or start
    a local one sized to this machine that declares `resources` (`local_resources`: what the actors ask
    for), so that a config written for a cluster runs unchanged on one machine."""
    import ray

    if ray.is_initialized():
        return
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    kwargs: dict[str, Any] = {"include_dashboard": False, "logging_level": logging.WARNING}
    if address:
        ray.init(address=address, **kwargs)
    else:
        ray.init(num_cpus=num_cpus or os.cpu_count(), resources=dict(resources or {}) or None, **kwargs)


def local_resources(learner: Mapping[str, float], sampler: Mapping[str, float],
                    num_samplers: int) -> dict[str, float]:
    """The custom resources the learner and `num_samplers` samplers ask for together (each sampler its own)."""
    out = {name: float(amount) for name, amount in learner.items()}
    for name, amount in sampler.items():
        out[name] = out.get(name, 0.0) + float(amount) * num_samplers
    return out


def unplaceable(resources: Mapping[str, float], nodes: list[dict]) -> list[str]:
    """The resources of one actor that no alive node declares enough of (all of them when each is somewhere
    but no node has them together; `nodes`: `ray.nodes()`). Ray keeps such an actor pending until a node
    that has them joins (an autoscaler may add one; nothing else will)."""
    alive = [node.get("Resources", {}) for node in nodes if node.get("Alive")]
    if any(all(r.get(name, 0) >= amount for name, amount in resources.items()) for r in alive):
        return []
    return [name for name, amount in resources.items() if not any(r.get(name, 0) >= amount for r in alive)] or list(resources)


def actor_node(actor) -> str | None:
    """The id of the node `actor` runs on (None until placed, or where the driver cannot read the table: Ray
    Client), from the GCS actor table. Ray's HTTP state API (`ray list actors`) says the same but needs the
    dashboard, which a minimal Ray install lacks."""
    from ray._private import state

    try:
        info = state.actors(actor_id=actor._actor_id.hex()) or {}
    except Exception:  # noqa: BLE001 - where an actor runs is for the console and the benchmark only
        return None
    return (info.get("Address") or {}).get("NodeID") or None


def cpu_shares(total_cpus: float, num_samplers: int) -> float:
    """Ray CPU reservation per actor (the learner and each sampler): 1 where they all fit, else an equal
    share, so that two samplers and a learner still get placed on a 2-core machine instead of waiting
    forever. Reservations only steer placement; threads are bound per actor (see sampler.actor_env)."""
    need = 1 + num_samplers
    return 1.0 if total_cpus >= need else total_cpus / need


@dataclass
class Actors:
    learner: Any
    fleet: SamplerFleet
    sync: WeightSync
    sampler_dtype: str

    @classmethod
    def start(cls, cfg, job, say=print) -> Actors:
        import ray

        from rlvr.learn.learner import make_learner_actor
        from rlvr.rollout.sampler import make_sampler_actor, pick_dtype

        rc, lc, sc = cfg.ray, cfg.learner, cfg.sampler
        init_ray(rc.address, rc.num_cpus, local_resources(rc.learner_resources, rc.sampler_resources, sc.num_samplers))
        _warn_unplaceable(rc.learner_resources, rc.sampler_resources, say)
        dtype = pick_dtype(sc.dtype)  # "auto" -> this machine's fast dtype; the learner exports in it
        ncpu = os.cpu_count() or 1
        cpus = cpu_shares(ray.cluster_resources().get("CPU", ncpu), sc.num_samplers)
        learner = make_learner_actor(
            str(job.model_dir), num_cpus=cpus, quantize=lc.quantize, lora_rank=lc.lora_rank, lora_alpha=lc.lora_alpha,
            lora_dropout=lc.lora_dropout, target_modules=tuple(lc.target_modules), lr=lc.lr,
            weight_decay=lc.weight_decay, grad_clip=lc.grad_clip, micro_batch=lc.micro_batch, dtype=lc.dtype,
            grad_checkpoint=lc.grad_checkpoint,
            seed=cfg.run.seed, num_threads=ncpu,  # Ray sets OMP_NUM_THREADS=1 in actors
            resources=rc.learner_resources)

        # One sampler gets every core (it alternates with the learner on-policy); several get one each.
        bind = f"0-{ncpu - 1}" if sc.num_samplers == 1 and ncpu > 1 else None

        def make(index: int):
            return make_sampler_actor(index, str(job.model_dir), dtype=dtype,
                                      max_model_len=cfg.model.max_model_len, kv_cache_gib=sc.kv_cache_gib,
                                      seed=cfg.run.seed + index, in_process=sc.in_process, cpu_bind=bind,
                                      num_cpus=cpus, resources=rc.sampler_resources)

        fleet = SamplerFleet(make, sc.num_samplers)
        y = cfg.sync
        sync = WeightSync(learner, fleet, mode=y.mode, dtype=dtype, probe=job.probe, check=y.check,
                          tolerance=y.tolerance, update_tolerance=y.update_tolerance)
        return cls(learner=learner, fleet=fleet, sync=sync, sampler_dtype=dtype)

    def placement(self) -> dict:
        """Node id of the learner and of each sampler (a replaced sampler: where its replacement runs)."""
        return {"learner": actor_node(self.learner), "samplers": [actor_node(a) for a in self.fleet.actors]}

    def train_step(self, samples, **algo) -> dict:
        import ray

        return ray.get(self.learner.train_step.remote(samples, **algo))

    def save_learner(self, path: str) -> None:
        import ray

        ray.get(self.learner.save_checkpoint.remote(path))

    def load_learner(self, path: str) -> None:
        import ray

        ray.get(self.learner.load_checkpoint.remote(path))

    def save_adapter(self, path: str) -> None:
        import ray

        ray.get(self.learner.save_adapter.remote(path))

    def close(self) -> None:
        import ray

        for actor in [self.learner, *self.fleet.actors]:
            try:
                ray.kill(actor)
            except Exception:
                pass


def _warn_unplaceable(learner: Mapping[str, float], sampler: Mapping[str, float], say) -> None:
    """Say (on the person's console), instead of hanging silently, when no node offers what an actor asks for."""
    import ray

    nodes = ray.nodes()
    for who, resources in (("the learner", learner), ("a sampler", sampler)):
        if missing := unplaceable(resources, nodes):
            say(f"[rlvr] WARNING: no node of the Ray cluster declares {missing} in the amounts {who} asks for "
                f"({dict(resources)}); it waits until such a node joins (ray start --resources=...)")
