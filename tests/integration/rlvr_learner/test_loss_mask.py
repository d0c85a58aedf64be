"""`TrainSample.loss_mask`: an episode's observation tokens are context, never trained on, in every loss_norm; an
all-ones mask is today's loss exactly."""

import dataclasses

import pytest
import torch

from rlvr.learn.policy import pack_batch, token_logprobs
from rlvr.types import TrainSample

PROMPT = [5, 17, 42, 99, 7]
COMPLETION = [250, 31, 8, 64, 120, 3, 77, 19]  # model, model, obs, obs, obs, model, model, model
MASK = [1, 1, 0, 0, 0, 1, 1, 1]


@pytest.mark.parametrize("loss_norm", ["token", "sequence", "constant"])
def test_an_all_ones_mask_is_exactly_the_unmasked_loss(make_learner, samples, lora_grads, loss_norm):
    batch = samples(6, seed=2)
    ones = [dataclasses.replace(s, loss_mask=[1] * len(s.completion_ids)) for s in batch]
    out = []
    for b in (batch, ones):
        learner = make_learner(grad_clip=0)
        stats = learner.train_step(b, loss_norm=loss_norm, max_tokens=16)
        out.append((stats, lora_grads(learner)))
    (s0, g0), (s1, g1) = out
    assert torch.equal(g0, g1)
    assert {k: v for k, v in s0.items() if k != "seconds"} == {k: v for k, v in s1.items() if k != "seconds"}


@pytest.mark.parametrize("loss_norm", ["token", "sequence", "constant"])
def test_observation_tokens_get_no_gradient(make_learner, lora_grads, loss_norm):
    """The step's gradient is that of -A * (sum of the model tokens' logprobs) / norm computed by hand, and the
    values at observation positions (their old/sampler logprobs) cannot move it."""
    adv, max_tokens = 1.3, 16
    sample = TrainSample(PROMPT, COMPLETION, adv, loss_mask=MASK)
    learner = make_learner(grad_clip=0)
    stats = learner.train_step([sample], loss_norm=loss_norm, max_tokens=max_tokens)
    assert stats["tokens"] == sum(MASK)

    by_hand = make_learner(grad_clip=0)
    batch = pack_batch([PROMPT], [COMPLETION], by_hand.device)
    logp = token_logprobs(by_hand.model, batch, temperature=1.0, top_p=1.0)[0]  # [Lc]
    m = torch.tensor(MASK, dtype=logp.dtype)
    norm = max_tokens if loss_norm == "constant" else m.sum()
    (-(adv * logp * m).sum() / norm).backward()
    assert torch.allclose(lora_grads(learner), lora_grads(by_hand), rtol=1e-5, atol=1e-8)

    garbage = [0.0 if k else -50.0 for k in MASK]  # absurd old/sampler logprobs where the mask is 0
    odd = make_learner(grad_clip=0)
    odd_stats = odd.train_step([dataclasses.replace(sample, old_logprobs=garbage, sampler_logprobs=garbage)],
                               loss_norm=loss_norm, max_tokens=max_tokens)
    plain = make_learner(grad_clip=0)
    plain.train_step([dataclasses.replace(sample, old_logprobs=[0.0] * len(MASK), sampler_logprobs=[0.0] * len(MASK))],
                     loss_norm=loss_norm, max_tokens=max_tokens)
    assert torch.equal(lora_grads(odd), lora_grads(plain))
    assert odd_stats["mismatch_max_abs"] < 50  # the observation positions are not in the mismatch either


def test_malformed_masks_are_refused(make_learner):
    learner = make_learner()
    for mask in ([1, 0], [1] * 7 + [2], [0] * 8):
        with pytest.raises(ValueError, match="loss_mask"):
            learner.train_step([TrainSample(PROMPT, COMPLETION, 1.0, loss_mask=mask)])
