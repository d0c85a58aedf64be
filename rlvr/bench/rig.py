"""A learner and a sampler wired together the two ways rlvr can run them, behind one small interface.

- `InProcessRig`: the plain `Learner` and `Sampler` classes in this process (vLLM's in-process engine
  bound to every core; the learner uses every thread). No Ray: a step runs generation and training one
  after the other, so separate processes add only start-up and copies.
- `RayRig`: a learner actor and a sampler actor, as `rlvr.run.actors.Actors` places them for `rlvr.run`;
  weights go learner -> object store -> sampler, the driver passing only the reference.

Both expose: generate, train_step, push (timed export + load: the base and the adapter when `full`,
the adapter alone otherwise, served in `mode`, see `rlvr.sync.push`), probe (max |logprob diff| of a fixed
sequence between learner and sampler), meta (the learner's adapter version and fingerprints), report
(what the sampler serves), close. What this module does NOT do: time whole steps or decide
what to measure (the benchmark modules do).
"""

from __future__ import annotations

import os
import time

from rlvr.config import LORA_TARGETS
from rlvr.sync.push import compare_logprobs

LEARNER = {"quantize": "nf4", "lora_rank": 16, "lora_alpha": 32, "micro_batch": 16, "dtype": "float32",
           "target_modules": LORA_TARGETS}


def make_rig(kind: str, model_dir: str, *, dtype: str, lr: float, seed: int, mode: str = "lora"):
    return (RayRig if kind == "ray" else InProcessRig)(model_dir, dtype=dtype, lr=lr, seed=seed, mode=mode)


def _base_dtype(mode: str, dtype: str) -> str:
    return "float32" if mode == "merge" else dtype  # as rlvr.sync.push.WeightSync: merge keeps the fp32 base


class InProcessRig:
    def __init__(self, model_dir: str, *, dtype: str, lr: float, seed: int, mode: str = "lora"):
        from rlvr.rollout.sampler import actor_env

        cores = os.cpu_count() or 1
        env = actor_env(0, in_process=True, cpu_bind=f"0-{cores - 1}" if cores > 1 else None)
        env["OMP_NUM_THREADS"] = str(cores)
        os.environ.update(env)  # read by vLLM when the engine starts
        from rlvr.learn.learner import Learner
        from rlvr.rollout.sampler import Sampler

        self.dtype, self.mode = dtype, mode
        self.learner = Learner(str(model_dir), lr=lr, seed=seed, device="cpu", num_threads=cores, **LEARNER)
        self.sampler = Sampler(str(model_dir), dtype=dtype, max_model_len=1024, kv_cache_gib=1.0, seed=seed)

    def generate(self, prompts, **sampling):
        return self.sampler.generate(prompts, **sampling)

    def train_step(self, samples, **kw) -> dict:
        return self.learner.train_step(samples, **kw)

    def push(self, full: bool) -> dict:
        t0 = time.perf_counter()
        blob, meta = self.learner.export_adapter()
        if full:
            base = self.learner.export_base(dtype=_base_dtype(self.mode, self.dtype))
            self.sampler.load_base(base, list(meta["fingerprints"]), self.mode)
        t1 = time.perf_counter()
        self.sampler.load_adapter(blob)
        t2 = time.perf_counter()
        return {"sync_s": t2 - t0, "export_s": t1 - t0, "load_s": t2 - t1,
                "bytes": meta["bytes"] + (len(base) if full else 0)}

    def probe(self, token_ids: list[int], stat: str = "max") -> float:
        return compare_logprobs(self.learner.logprobs(token_ids), self.sampler.probe_logprobs(token_ids), stat)

    def meta(self) -> dict:
        return self.learner.export_adapter()[1]

    def report(self) -> dict:
        return self.sampler.adapter_report()

    def serve_adapter(self, on: bool) -> None:
        """`lora` mode only: put the adapter path into vLLM's layers or take it out (the engine's own speed)."""
        from rlvr.sync.serving import unwrap

        worker = self.sampler.llm.llm_engine.model_executor.driver_worker.worker
        worker.rlvr_server.wrap() if on else unwrap(worker.get_model())

    def close(self) -> None:
        pass


class RayRig:
    def __init__(self, model_dir: str, *, dtype: str, lr: float, seed: int, mode: str = "lora"):
        import ray

        from rlvr.learn.learner import make_learner_actor
        from rlvr.rollout.sampler import make_sampler_actor
        from rlvr.run.actors import init_ray

        self.ray, self.dtype, self.mode = ray, dtype, mode
        init_ray(None, max(os.cpu_count() or 1, 2))
        self.learner = make_learner_actor(str(model_dir), num_cpus=1, num_gpus=0, lr=lr, seed=seed, device="cpu",
                                          **LEARNER)
        self.sampler = make_sampler_actor(0, str(model_dir), dtype=dtype, max_model_len=1024, kv_cache_gib=1.0,
                                          seed=seed, in_process=True)
        ray.get([self.sampler.ready.remote(), self.learner.logprobs.remote([1, 2])])

    def generate(self, prompts, **sampling):
        return self.ray.get(self.sampler.generate.remote(prompts, **sampling))

    def train_step(self, samples, **kw) -> dict:
        return self.ray.get(self.learner.train_step.remote(samples, **kw))

    def push(self, full: bool) -> dict:
        """As `rlvr.sync.push.WeightSync`: the learner's export goes into the object store once and the sampler
        reads it there; the driver only passes the reference on."""
        ray = self.ray
        t0 = time.perf_counter()
        ref, meta_ref = self.learner.export_adapter.options(num_returns=2).remote()
        meta = ray.get(meta_ref)
        base_bytes = 0
        if full:
            base = self.learner.export_base.remote(dtype=_base_dtype(self.mode, self.dtype))
            ray.get(self.sampler.load_base.remote(base, list(meta["fingerprints"]), self.mode))
            base_bytes = len(ray.get(base))  # a zero-copy view of the stored array: costs a mapping, not a copy
        ray.wait([ref], fetch_local=False)
        t1 = time.perf_counter()
        ray.get(self.sampler.load_adapter.remote(ref))
        t2 = time.perf_counter()
        return {"sync_s": t2 - t0, "export_s": t1 - t0, "load_s": t2 - t1, "bytes": meta["bytes"] + base_bytes}

    def meta(self) -> dict:
        return self.ray.get(self.learner.export_adapter.options(num_returns=2).remote()[1])

    def report(self) -> dict:
        return self.ray.get(self.sampler.adapter_report.remote())

    def probe(self, token_ids: list[int], stat: str = "max") -> float:
        learner_lp, sampler_lp = self.ray.get([self.learner.logprobs.remote(token_ids),
                                               self.sampler.probe_logprobs.remote(token_ids)])
        return compare_logprobs(learner_lp, sampler_lp, stat)

    def close(self) -> None:
        self.ray.shutdown()
