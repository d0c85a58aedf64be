"""A learner and a sampler wired together the two ways rlvr can run them, behind one small interface.

- `InProcessRig`: the plain `Learner` and `Sampler` classes in this process (vLLM's in-process engine
  bound to every core; the learner uses every thread). No Ray: a step runs generation and training one
  after the other, so separate processes add only start-up and copies.
- `RayRig`: a learner actor and a sampler actor, as `rlvr.actors.Actors` places them for `rlvr.run`;
  weights go learner -> object store -> sampler, the driver passing only the reference.

Both expose: generate, train_step, push (timed export + load), probe (max |logprob diff| of a fixed
sequence between learner and sampler), close. What this module does NOT do: time whole steps or decide
what to measure (the benchmark modules do).
"""

from __future__ import annotations

import os
import time

from rlvr.sync import compare_logprobs

LEARNER = {"quantize": "nf4", "lora_rank": 16, "lora_alpha": 32, "micro_batch": 16, "dtype": "float32",
           "target_modules": ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")}


def make_rig(kind: str, model_dir: str, *, dtype: str, lr: float, seed: int):
    return (RayRig if kind == "ray" else InProcessRig)(model_dir, dtype=dtype, lr=lr, seed=seed)


class InProcessRig:
    def __init__(self, model_dir: str, *, dtype: str, lr: float, seed: int):
        from rlvr.sampler import actor_env

        cores = os.cpu_count() or 1
        env = actor_env(0, in_process=True, cpu_bind=f"0-{cores - 1}" if cores > 1 else None)
        env["OMP_NUM_THREADS"] = str(cores)
        os.environ.update(env)  # read by vLLM when the engine starts
        from rlvr.learner import Learner
        from rlvr.sampler import Sampler

        self.dtype = dtype
        self.learner = Learner(str(model_dir), lr=lr, seed=seed, device="cpu", num_threads=cores, **LEARNER)
        self.sampler = Sampler(str(model_dir), dtype=dtype, max_model_len=1024, kv_cache_gib=1.0, seed=seed)

    def generate(self, prompts, **sampling):
        return self.sampler.generate(prompts, **sampling)

    def train_step(self, samples, **kw) -> dict:
        return self.learner.train_step(samples, **kw)

    def push(self, full: bool) -> dict:
        t0 = time.perf_counter()
        blob = self.learner.export_weights(dtype=self.dtype, full=full)
        t1 = time.perf_counter()
        self.sampler.load_weights(blob)
        t2 = time.perf_counter()
        return {"sync_s": t2 - t0, "export_s": t1 - t0, "load_s": t2 - t1, "bytes": len(blob)}

    def probe(self, token_ids: list[int]) -> float:
        return compare_logprobs(self.learner.logprobs(token_ids), self.sampler.probe_logprobs(token_ids))

    def close(self) -> None:
        pass


class RayRig:
    def __init__(self, model_dir: str, *, dtype: str, lr: float, seed: int):
        import ray

        from rlvr.actors import init_ray
        from rlvr.learner import make_learner_actor
        from rlvr.sampler import make_sampler_actor

        self.ray, self.dtype = ray, dtype
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
        """As `rlvr.actors.Actors.push_weights`: the learner's export goes into the object store once and
        the sampler reads it there; the driver only passes the reference on."""
        ray = self.ray
        t0 = time.perf_counter()
        ref = self.learner.export_weights.remote(dtype=self.dtype, full=full)
        ray.wait([ref], fetch_local=False)
        t1 = time.perf_counter()
        ray.get(self.sampler.load_weights.remote(ref))
        t2 = time.perf_counter()
        size = len(ray.get(ref))  # a zero-copy view of the stored array: costs a mapping, not a copy
        return {"sync_s": t2 - t0, "export_s": t1 - t0, "load_s": t2 - t1, "bytes": size}

    def probe(self, token_ids: list[int]) -> float:
        learner_lp, sampler_lp = self.ray.get([self.learner.logprobs.remote(token_ids),
                                               self.sampler.probe_logprobs.remote(token_ids)])
        return compare_logprobs(learner_lp, sampler_lp)

    def close(self) -> None:
        self.ray.shutdown()
