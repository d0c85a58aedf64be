"""The run's Ray actors: one learner and a fleet of samplers, created from the config.

Thin on purpose: the work is done by `learner.Learner` and `sampler.Sampler` (plain classes, tested without
Ray); this module only places them (CPU cores or GPUs, a local or an existing Ray cluster) and hands
them to the weight sync's one owner (`rlvr.sync.push.WeightSync`, `Actors.sync`), which moves and checks
weights between them.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any

from rlvr.rollout.fleet import SamplerFleet
from rlvr.sync.push import WeightSync

log = logging.getLogger(__name__)


def init_ray(address: str | None, num_cpus: int | None) -> None:
    """Connect to `address` (an existing cluster) or start a local one sized to this machine."""
    import ray

    if ray.is_initialized():
        return
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    kwargs: dict[str, Any] = {"include_dashboard": False, "logging_level": logging.WARNING}
    if address:
        ray.init(address=address, **kwargs)
    else:
        ray.init(num_cpus=num_cpus or os.cpu_count(), **kwargs)


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
    def start(cls, cfg, job) -> Actors:
        import ray

        from rlvr.learn.learner import make_learner_actor
        from rlvr.rollout.sampler import make_sampler_actor, pick_dtype

        init_ray(cfg.ray.address, cfg.ray.num_cpus)
        lc, sc = cfg.learner, cfg.sampler
        dtype = pick_dtype(sc.dtype)  # "auto" -> this machine's fast dtype; the learner exports in it
        ncpu = os.cpu_count() or 1
        cpus = cpu_shares(ray.cluster_resources().get("CPU", ncpu), sc.num_samplers)
        learner = make_learner_actor(
            str(job.model_dir), num_cpus=cpus, quantize=lc.quantize, lora_rank=lc.lora_rank, lora_alpha=lc.lora_alpha,
            lora_dropout=lc.lora_dropout, target_modules=tuple(lc.target_modules), lr=lc.lr,
            weight_decay=lc.weight_decay, grad_clip=lc.grad_clip, micro_batch=lc.micro_batch, dtype=lc.dtype,
            seed=cfg.run.seed, num_threads=ncpu)  # Ray sets OMP_NUM_THREADS=1 in actors

        # One sampler gets every core (it alternates with the learner on-policy); several get one each.
        bind = f"0-{ncpu - 1}" if sc.num_samplers == 1 and ncpu > 1 else None

        def make(index: int):
            return make_sampler_actor(index, str(job.model_dir), dtype=dtype,
                                      max_model_len=cfg.model.max_model_len, kv_cache_gib=sc.kv_cache_gib,
                                      seed=cfg.run.seed + index, in_process=sc.in_process, cpu_bind=bind,
                                      num_cpus=cpus)

        fleet = SamplerFleet(make, sc.num_samplers)
        y = cfg.sync
        sync = WeightSync(learner, fleet, mode=y.mode, dtype=dtype, probe=job.probe, check=y.check,
                          tolerance=y.tolerance, update_tolerance=y.update_tolerance)
        return cls(learner=learner, fleet=fleet, sync=sync, sampler_dtype=dtype)

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
