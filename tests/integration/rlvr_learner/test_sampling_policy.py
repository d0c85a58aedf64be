"""The learner trains the policy that samples: tempered logprobs, the mismatch it logs, and TIS in a real step."""

import math

import pytest

from rlvr.types import TrainSample

PROMPT, COMPLETION = [5, 17, 42, 99, 7], [250, 31, 8, 64, 120, 3]


def completion_logprobs(learner, **sampling) -> list[float]:
    return learner.logprobs(PROMPT + COMPLETION, **sampling)[len(PROMPT) - 1 :]


def test_logprobs_follow_the_sampling_temperature_and_top_p(make_learner):
    learner = make_learner()
    raw = completion_logprobs(learner)
    assert completion_logprobs(learner, temperature=1.0, top_p=1.0) == raw
    cold, hot = completion_logprobs(learner, temperature=0.7), completion_logprobs(learner, temperature=1.3)
    assert max(abs(a - b) for a, b in zip(raw, cold, strict=True)) > 1e-2
    assert max(abs(a - b) for a, b in zip(raw, hot, strict=True)) > 1e-2
    nucleus = completion_logprobs(learner, top_p=0.5)
    assert all(n >= r - 1e-6 for n, r in zip(nucleus, raw, strict=True))  # renormalised over fewer tokens


@pytest.mark.parametrize("temperature", [0.7, 1.3])
def test_mismatch_is_zero_when_the_learner_scores_at_the_sampling_temperature(make_learner, temperature):
    learner = make_learner()
    sampled = completion_logprobs(learner, temperature=temperature)  # what an exact sampler would report
    sample = TrainSample(PROMPT, COMPLETION, 1.0, sampler_logprobs=sampled)
    matched = learner.train_step([sample], temperature=temperature)
    assert matched["mismatch_kl"] == pytest.approx(0.0, abs=1e-10)
    assert matched["mismatch_max_abs"] < 1e-5
    untempered = make_learner().train_step([sample])  # the old learner: T = 1 against a T != 1 sampler
    assert untempered["mismatch_max_abs"] > 1e-2 and untempered["mismatch_kl"] > 1e-5


@pytest.mark.parametrize("shift, weight, clipped", [(0.0, 1.0, 0.0), (0.5, math.exp(0.5), 0.0),
                                                    (-1.0, math.exp(-1.0), 0.0), (1.0, 2.0, 1.0)])
def test_tis_scales_the_on_policy_gradient_by_the_truncated_weight(make_learner, lora_grads, shift, weight, clipped):
    """On-policy (ratio 1), the gradient is linear in the per-token weight: a sampler that gave every token
    `shift` less logprob than the learner gives w = min(e^shift, 2) on every token."""
    learner, plain = make_learner(grad_clip=0), make_learner(grad_clip=0)  # same seed: the same adapter
    sampler = [x - shift for x in completion_logprobs(learner, temperature=0.7)]
    plain.train_step([TrainSample(PROMPT, COMPLETION, 1.0)], temperature=0.7)
    stats = learner.train_step([TrainSample(PROMPT, COMPLETION, 1.0, sampler_logprobs=sampler)],
                               temperature=0.7, tis_cap=2.0)
    assert stats["tis_weight_mean"] == pytest.approx(weight, rel=1e-4)
    assert stats["tis_clip_frac"] == clipped
    g_plain, g_tis = lora_grads(plain), lora_grads(learner)
    assert float((g_tis - weight * g_plain).abs().max()) <= 1e-4 * float(g_plain.abs().max())


def test_without_tis_the_sampler_logprobs_only_measure(make_learner, lora_grads):
    a, b = make_learner(grad_clip=0), make_learner(grad_clip=0)
    a.train_step([TrainSample(PROMPT, COMPLETION, 1.0)])
    far = [x - 1.0 for x in completion_logprobs(b)]
    stats = b.train_step([TrainSample(PROMPT, COMPLETION, 1.0, sampler_logprobs=far)])
    assert "tis_weight_mean" not in stats and stats["mismatch_max_abs"] == pytest.approx(1.0, abs=1e-4)
    assert stats["ratio_mean"] == pytest.approx(1.0, abs=1e-6)  # the old policy is still the learner's own
    assert float((lora_grads(a) - lora_grads(b)).abs().max()) == 0.0


def test_sampler_logprobs_of_the_wrong_length_are_refused(make_learner):
    with pytest.raises(ValueError, match="sampler_logprobs has 1 entries"):
        make_learner().train_step([TrainSample(PROMPT, COMPLETION, 1.0, sampler_logprobs=[0.0])])
