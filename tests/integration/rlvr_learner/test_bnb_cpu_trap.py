"""The bitsandbytes AVX512-BF16 trap (docs/STACK-FACTS): an eval no-grad forward must not change training.

bitsandbytes 0.50 repacks 4-bit weights in place on the first eval-mode no-grad CPU forward when a layer's
`support_avx512bf16_for_cpu` is true (set on CPUs with that instruction set); training and dequantization
go wrong afterwards. The learner switches the flag off; the control test forces it back on to show that
the comparison used here does detect the trap on this machine.
"""

import bitsandbytes as bnb
import pytest
import safetensors.torch
import torch

from rlvr.types import TrainSample


def load(blob) -> dict:
    """An export read by the `safetensors` library itself: the wire format must stay standard."""
    return safetensors.torch.load(bytes(blob))


SEQ = [5, 17, 42, 99, 7, 250, 31, 8, 64, 120, 3, 77]
BATCH = [TrainSample(SEQ[:5], SEQ[5:], 1.0), TrainSample(SEQ[:3], SEQ[3:9], -0.5)]


def probe_then_step(learner, probe: bool):
    if probe:
        learner.logprobs(SEQ)  # eval mode, no grad: the forward that triggers the repack
    stats = learner.train_step(BATCH)
    grads = torch.cat([p.grad.flatten() for p in learner.params])
    return stats, grads, load(learner.export_weights(dtype="float32"))


def test_every_4bit_layer_has_the_repack_switched_off(make_learner):
    layers = [m for m in make_learner().model.modules() if isinstance(m, bnb.nn.Linear4bit)]
    assert len(layers) == 14  # 7 projections x 2 layers
    assert not any(m.support_avx512bf16_for_cpu for m in layers)


def test_eval_probe_before_a_step_changes_nothing(make_learner):
    plain_stats, plain_grads, plain_weights = probe_then_step(make_learner(), probe=False)
    stats, grads, weights = probe_then_step(make_learner(), probe=True)
    assert torch.equal(grads, plain_grads)
    assert stats["loss"] == plain_stats["loss"]
    assert all(torch.equal(weights[k], plain_weights[k]) for k in plain_weights)


@pytest.mark.skipif(torch.cuda.is_available(), reason="the repack is a CPU code path")
def test_control_with_the_repack_forced_on_the_comparison_catches_it(make_learner):
    _, plain_grads, _ = probe_then_step(make_learner(), probe=False)
    trapped = make_learner()
    for module in trapped.model.modules():
        if isinstance(module, bnb.nn.Linear4bit):
            module.support_avx512bf16_for_cpu = True
    try:
        _, grads, _ = probe_then_step(trapped, probe=True)
    except RuntimeError:
        return  # the training forward or the export refused the repacked weights: also detected
    assert not torch.equal(grads, plain_grads)
