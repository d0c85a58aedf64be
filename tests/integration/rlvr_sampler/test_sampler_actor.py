"""The Ray actor wrapper: a sampler actor with its own env generates and takes a verified push."""

import os

import pytest
import torch
from safetensors.torch import save

from rlvr.model import build_tiny_model
from rlvr.rollout.sampler import actor_env, make_sampler_actor
from rlvr.sync.push import SyncMismatchError, check_sync, make_probe, reference_logprobs


def test_actor_env_binds_each_sampler_to_its_own_core():
    a, b = actor_env(0), actor_env(1, in_process=False, kv_cache_gib=2.0)
    assert a["VLLM_CPU_OMP_THREADS_BIND"] == "0"
    assert b["VLLM_CPU_OMP_THREADS_BIND"] == str(1 % (os.cpu_count() or 1))
    assert a["VLLM_ENABLE_V1_MULTIPROCESSING"] == "0" and a["OMP_NUM_THREADS"] == "1"
    assert b["VLLM_ENABLE_V1_MULTIPROCESSING"] == "1" and "OMP_NUM_THREADS" not in b
    assert b["VLLM_CPU_KVCACHE_SPACE"] == "2"
    assert actor_env(0, cpu_bind="nobind")["VLLM_CPU_OMP_THREADS_BIND"] == "nobind"


@pytest.mark.slow
def test_sampler_actor_generates_and_takes_a_verified_push(tmp_path):
    import ray
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model_dir = build_tiny_model(tmp_path / "m", seed=0)
    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        actor = make_sampler_actor(0, str(model_dir), dtype="float32", max_model_len=256, kv_cache_gib=0.25)
        groups = ray.get(actor.generate.remote(["1+1="], group_size=2, max_tokens=5, temperature=1.0))
        assert len(groups) == 1 and len(groups[0].completions) == 2

        learner = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
        probe = make_probe(AutoTokenizer.from_pretrained(model_dir), 32)
        with torch.no_grad():
            learner.model.layers[0].mlp.down_proj.weight.mul_(1.5)
        blob = save({"model.layers.0.mlp.down_proj.weight": learner.model.layers[0].mlp.down_proj.weight.clone()})
        learner_lp = reference_logprobs(learner, probe)

        def verified_push(step: int, weights) -> float:
            ray.get(actor.load_weights.remote(weights))
            return check_sync(step, learner_lp, [ray.get(actor.probe_logprobs.remote(probe))], tolerance=1e-4)

        with pytest.raises(SyncMismatchError):  # not pushed yet
            verified_push(0, save({}))
        assert verified_push(1, blob) < 1e-4
        ray.kill(actor)
    finally:
        if started:
            ray.shutdown()


@pytest.mark.slow
def test_multiprocess_engine_actor_serves_the_adapter_exactly(tmp_path):
    """`sampler.in_process: false`: the adapter is served in vLLM's worker process, reached by RPC."""
    import ray

    from rlvr.learn.learner import Learner
    from rlvr.sync.push import compare_logprobs, verify_update
    from rlvr.types import TrainSample

    model_dir = build_tiny_model(tmp_path / "m", seed=0)
    learner = Learner(str(model_dir), quantize="nf4", lora_rank=4, lora_alpha=8, lr=1e-2, device="cpu")
    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        actor = make_sampler_actor(0, str(model_dir), dtype="float32", max_model_len=256, kv_cache_gib=0.25,
                                   in_process=False)
        blob, meta = learner.export_adapter()
        ray.get(actor.load_base.remote(learner.export_base(dtype="float32"), list(meta["fingerprints"]), "lora"))
        learner.train_step([TrainSample([5, 6, 7], [8, 9, 10], 1.0), TrainSample([5, 6, 7], [11, 9, 3], -1.0)])
        blob, meta = learner.export_adapter()
        ray.get(actor.load_adapter.remote(blob))
        assert verify_update(1, meta, [ray.get(actor.adapter_report.remote())], exact=True,
                             update_tolerance=0.01) < 1e-9
        probe = [5, 17, 42, 99, 7, 250, 31, 8, 64, 120]
        assert compare_logprobs(learner.logprobs(probe), ray.get(actor.probe_logprobs.remote(probe))) < 1e-4
        ray.kill(actor)
    finally:
        if started:
            ray.shutdown()
