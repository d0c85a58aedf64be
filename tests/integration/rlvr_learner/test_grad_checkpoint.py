"""learner.grad_checkpoint: the same step for less memory. Each decoder block runs twice per micro-batch (the
recompute in the backward pass: the proof it is on) and the loss, gradients and updated adapter equal those of
a learner that keeps its activations."""

import pytest
import torch

from tests.integration.rlvr_learner.conftest import grads


def _block_calls(learner) -> list[int]:
    calls = [0]
    block = learner.model.get_base_model().model.layers[0]
    # a pre-hook: the recompute stops early once it has what the backward needs, so a post-hook may not run
    block.register_forward_pre_hook(lambda *_: calls.__setitem__(0, calls[0] + 1))
    return calls


@pytest.mark.parametrize("quantize", ["none", "nf4"])
def test_checkpointed_step_equals_the_plain_one_and_recomputes(make_learner, samples, quantize):
    batch = samples(6, seed=3)
    out, calls, adapters, grad = {}, {}, {}, {}
    for ckpt in (False, True):
        learner = make_learner(quantize=quantize, micro_batch=2, grad_checkpoint=ckpt, seed=0)
        counter = _block_calls(learner)
        out[ckpt] = learner.train_step(batch)
        calls[ckpt] = counter[0]
        grad[ckpt] = grads(learner)
        adapters[ckpt] = torch.cat([p.detach().flatten() for p in learner.params])
    assert calls[False] == 3 and calls[True] == 6  # 3 micro-batches; each block re-run in the backward pass
    assert out[True]["loss"] == pytest.approx(out[False]["loss"], abs=1e-6)
    assert torch.allclose(grad[True], grad[False], atol=1e-6, rtol=1e-5)
    assert torch.allclose(adapters[True], adapters[False], atol=1e-7)
