"""One GRPO step on the tiny model: direction of the update, micro-batch invariance, KL, sampler logprobs."""

import dataclasses
import random

import pytest
import torch

from rlvr.types import TrainSample

PROMPT, COMPLETION = [5, 17, 42, 99, 7], [250, 31, 8, 64, 120, 3]


def completion_logprob(learner) -> float:
    return sum(learner.logprobs(PROMPT + COMPLETION)[len(PROMPT) - 1 :])


@pytest.mark.parametrize("quantize", ["nf4", "none"])
@pytest.mark.parametrize("advantage, sign", [(1.0, 1), (-1.0, -1)])
def test_step_moves_sequence_logprob_with_the_sign_of_its_advantage(make_learner, quantize, advantage, sign):
    learner = make_learner(quantize=quantize)
    before = completion_logprob(learner)
    stats = learner.train_step([TrainSample(PROMPT, COMPLETION, advantage)])
    after = completion_logprob(learner)
    assert sign * (after - before) > 0.05
    assert stats["tokens"] == len(COMPLETION)
    assert stats["loss"] == pytest.approx(-advantage)  # on-policy: ratio 1, token mean of -A
    assert stats["grad_norm"] > 0 and stats["seconds"] > 0


@pytest.mark.parametrize("loss_norm", ["token", "sequence", "constant"])
def test_micro_batch_size_does_not_change_the_update(make_learner, samples, lora_grads, loss_norm):
    batch = samples(8, seed=1)
    results = []
    for micro in (2, 8):
        learner = make_learner(micro_batch=micro, grad_clip=0)  # no clipping: compare raw gradients
        stats = learner.train_step(batch, loss_norm=loss_norm, max_tokens=16)
        results.append((stats, lora_grads(learner), completion_logprob(learner)))
    (s2, g2, lp2), (s8, g8, lp8) = results
    assert torch.allclose(g2, g8, rtol=1e-4, atol=1e-7), (g2 - g8).abs().max()
    assert s2["grad_norm"] == pytest.approx(s8["grad_norm"], rel=1e-4)
    assert s2["loss"] == pytest.approx(s8["loss"], rel=1e-4, abs=1e-6)
    assert lp2 == pytest.approx(lp8, abs=1e-4)


@pytest.mark.parametrize("loss_norm", ["token", "sequence", "constant"])
def test_logged_stats_are_the_batch_token_means_whatever_the_micro_batch(make_learner, samples, loss_norm):
    """Off-policy ratios (stale old logprobs), a KL term and sampler logprobs, so that every stat is non-trivial;
    sequences of different lengths, so that a chunk's share of sequences is not its share of tokens."""
    rng = random.Random(5)
    batch = [dataclasses.replace(s, old_logprobs=[rng.uniform(-9, -4) for _ in s.completion_ids],
                                 sampler_logprobs=[rng.uniform(-9, -4) for _ in s.completion_ids])
             for s in samples(8, seed=3)]
    args = dict(loss_norm=loss_norm, max_tokens=16, kl="k3", kl_coef=0.1, clip_high=0.2, tis_cap=2.0)
    s2, s8 = (make_learner(micro_batch=micro).train_step(batch, **args) for micro in (2, 8))
    for key in ("clip_frac", "clip_frac_low", "clip_frac_high", "ratio_mean", "approx_kl", "kl", "loss",
                "mismatch_kl", "mismatch_max_abs", "tis_weight_mean", "tis_clip_frac", "logp_diff", "ratio_max"):
        assert s2[key] == pytest.approx(s8[key], rel=1e-5, abs=1e-7), key
    assert 0 < s8["clip_frac"] < 1 and s8["kl"] >= 0


def test_k3_kl_is_zero_before_the_adapter_moves_and_positive_after(make_learner, samples):
    learner = make_learner(lr=1e-2)
    batch = samples(4, seed=2)
    first = learner.train_step(batch, kl="k3", kl_coef=0.1)
    assert first["kl"] == pytest.approx(0.0, abs=1e-6)
    later = [learner.train_step(batch, kl="k3", kl_coef=0.1)["kl"] for _ in range(2)]
    assert all(k > 1e-4 for k in later)
    assert learner.train_step(batch)["kl"] == 0.0  # kl off: no reference pass, reported as 0


def test_sampler_logprobs_set_the_ratio_and_their_gap_is_reported(make_learner):
    learner = make_learner()
    exact = learner.logprobs(PROMPT + COMPLETION)[len(PROMPT) - 1 :]
    on_policy = learner.train_step([TrainSample(PROMPT, COMPLETION, 1.0, old_logprobs=exact)])
    assert on_policy["logp_diff"] == pytest.approx(0.0, abs=1e-5)
    assert on_policy["ratio_mean"] == pytest.approx(1.0, abs=1e-4)
    learner = make_learner()
    stale = [x - 0.5 for x in exact]  # the sampler thought these tokens less likely: ratio e^0.5 > 1 + clip
    off_policy = learner.train_step([TrainSample(PROMPT, COMPLETION, 1.0, old_logprobs=stale)], clip_high=0.2)
    assert off_policy["logp_diff"] == pytest.approx(0.5, abs=1e-4)
    assert off_policy["clip_frac"] == pytest.approx(1.0)
    assert "logp_diff" not in learner.train_step([TrainSample(PROMPT, COMPLETION, 1.0)])


def test_bad_inputs_are_refused(make_learner):
    learner = make_learner()
    with pytest.raises(ValueError, match="at least one"):
        learner.train_step([])
    with pytest.raises(ValueError, match="old_logprobs"):
        learner.train_step([TrainSample(PROMPT, COMPLETION, 1.0, old_logprobs=[0.0])])
    with pytest.raises(ValueError, match="non-empty"):
        learner.train_step([TrainSample(PROMPT, [], 1.0)])
    assert learner.step == 0


def test_a_non_finite_gradient_skips_the_update_and_says_so(make_learner):
    learner = make_learner()
    before = learner.logprobs(PROMPT + COMPLETION)
    stats = learner.train_step([TrainSample(PROMPT, COMPLETION, float("nan"))])
    assert stats["nonfinite_grad"] == 1.0
    assert learner.logprobs(PROMPT + COMPLETION) == before
    assert "nonfinite_grad" not in learner.train_step([TrainSample(PROMPT, COMPLETION, 1.0)])


def test_each_step_hands_its_freed_heap_back(make_learner, monkeypatch):
    """The step's activations are freed and then trimmed (rlvr.learn.heap), after the step's stats are made."""
    import rlvr.learn.learner as learner_module

    calls = []
    monkeypatch.setattr(learner_module, "release_heap", lambda: calls.append("trim") or True)
    learner = make_learner()
    learner.train_step([TrainSample(PROMPT, COMPLETION, 1.0), TrainSample(PROMPT, COMPLETION[:3], -1.0)])
    assert calls == ["trim"]
    learner.export_base()
    assert calls == ["trim", "trim"]
