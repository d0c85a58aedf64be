"""The learner as a Ray actor: the same calls the driver makes, through the object store."""

import pytest
import safetensors.torch

from rlvr.learn.learner import make_learner_actor
from rlvr.types import TrainSample


def load(blob) -> dict:
    """An export read by the `safetensors` library itself: the wire format must stay standard."""
    return safetensors.torch.load(bytes(blob))


SEQ = [5, 17, 42, 99, 7, 250, 31, 8, 64, 120, 3, 77]


@pytest.mark.slow
def test_actor_trains_probes_exports_and_checkpoints(tiny_dir, tmp_path):
    import ray

    ray.init(address="local", num_cpus=1, include_dashboard=False, log_to_driver=False)
    try:
        actor = make_learner_actor(str(tiny_dir), num_cpus=1, quantize="nf4", lora_rank=4, device="cpu")
        before = ray.get(actor.logprobs.remote(SEQ))
        stats = ray.get(actor.train_step.remote([TrainSample(SEQ[:4], SEQ[4:], 1.0)], kl="k3", kl_coef=0.1))
        assert stats["tokens"] == len(SEQ) - 4 and stats["kl"] == pytest.approx(0.0, abs=1e-6)
        after = ray.get(actor.logprobs.remote(SEQ))
        assert sum(after[3:]) > sum(before[3:])
        weights = load(ray.get(actor.export_weights.remote(dtype="float32", full=True)))
        assert "model.layers.1.mlp.down_proj.weight" in weights and "lm_head.weight" in weights
        ray.get(actor.save_checkpoint.remote(str(tmp_path / "ckpt")))
        assert (tmp_path / "ckpt" / "adapter" / "adapter_model.safetensors").exists()
    finally:
        ray.shutdown()
