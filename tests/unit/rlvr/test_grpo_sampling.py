"""The sampling distribution, the sampler/learner mismatch and TIS: plain-Python references and hand-worked numbers."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from rlvr.config import AlgoConfig
from rlvr.learn import grpo


def loss_args(**given):
    """policy_loss's keyword arguments: the config's defaults, overridden by `given`."""
    a = AlgoConfig()
    return {"clip_low": a.clip_low, "clip_high": a.clip_high, "loss_norm": a.loss_norm, "max_tokens": None,
            "kl": a.kl, "kl_coef": a.kl_coef, **given}

# ------------------------------------------------------------------------------- plain-Python reference


def ref_sampling_logprob(row: list[float], target: int, temperature: float, top_p: float) -> float:
    """log pi(target) for one row of logits: divide by T, keep the top tokens until the mass above reaches top_p
    (plus the target), renormalise over what is kept. Written from the definition, one token at a time."""
    z = [x / temperature for x in row]
    top = max(z)
    total = sum(math.exp(x - top) for x in z)
    probs = [math.exp(x - top) / total for x in z]
    kept, above = set(), 0.0
    for i in sorted(range(len(z)), key=lambda i: -probs[i]):
        if above >= top_p:
            break
        kept.add(i)
        above += probs[i]
    kept.add(target)
    norm = sum(math.exp(z[i] - top) for i in kept)
    return z[target] - top - math.log(norm)


def draw(probs: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    return torch.multinomial(probs, 1, generator=gen).squeeze(-1)  # [n]


# ------------------------------------------------------------------------------ the sampling distribution


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("temperature", [1.0, 0.7, 1.3, 0.2])
@pytest.mark.parametrize("top_p", [1.0, 0.95, 0.6, 0.05])
def test_sampling_logprobs_match_the_plain_reference(seed, temperature, top_p):
    gen = torch.Generator().manual_seed(seed)
    logits = torch.randn(12, 40, generator=gen) * 3  # [n, V]
    targets = torch.cat([draw(torch.softmax(logits[:6] / temperature, -1), gen),  # sampled: mostly in the nucleus
                         torch.randint(0, 40, (6,), generator=gen)])  # anywhere: some outside it  [n]
    got = grpo.sampling_logprobs(logits, targets, temperature=temperature, top_p=top_p)  # [n]
    want = [ref_sampling_logprob(r, int(t), temperature, top_p) for r, t in zip(logits.tolist(), targets, strict=True)]
    assert got.tolist() == pytest.approx(want, abs=2e-5)
    assert torch.isfinite(got).all()


def test_temperature_one_and_no_top_p_is_the_models_own_distribution():
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(5, 30, generator=gen)  # [n, V]
    targets = torch.randint(0, 30, (5,), generator=gen)  # [n]
    want = torch.log_softmax(logits, -1).gather(-1, targets[:, None]).squeeze(-1)  # [n]
    got = grpo.sampling_logprobs(logits, targets, temperature=1.0, top_p=1.0)
    torch.testing.assert_close(got, want)
    tempered = grpo.sampling_logprobs(logits, targets, temperature=0.5, top_p=1.0)
    torch.testing.assert_close(tempered, torch.log_softmax(logits * 2, -1).gather(-1, targets[:, None]).squeeze(-1))


def test_top_p_renormalises_over_the_nucleus_hand_worked():
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]]))  # [1, V=4], probs as written
    lp = grpo.sampling_logprobs(logits.expand(4, 4), torch.arange(4), temperature=1.0, top_p=0.7)
    # mass above: 0, 0.5, 0.8, 0.95 -> nucleus {0, 1}; tokens 2 and 3 are kept only as their own targets
    assert lp.tolist() == pytest.approx([math.log(0.5 / 0.8), math.log(0.3 / 0.8),
                                         math.log(0.15 / 0.95), math.log(0.05 / 0.85)], abs=1e-6)


def test_no_gradient_reaches_logits_outside_the_nucleus():
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]])).requires_grad_(True)  # [1, V]
    grpo.sampling_logprobs(logits, torch.tensor([0]), temperature=0.8, top_p=0.7).sum().backward()
    assert logits.grad[0, 2:].tolist() == [0.0, 0.0]
    assert logits.grad[0, 0] > 0 and logits.grad[0, 1] < 0


@settings(max_examples=60, deadline=None)
@given(st.floats(0.05, 3.0), st.floats(0.01, 1.0), st.integers(0, 2**31 - 1))
def test_sampling_logprobs_are_a_distribution_over_the_nucleus(temperature, top_p, seed):
    gen = torch.Generator().manual_seed(seed)
    logits = torch.randn(1, 16, generator=gen) * 4  # [1, V]
    lp = grpo.sampling_logprobs(logits.expand(16, 16), torch.arange(16), temperature=temperature, top_p=top_p)
    assert (lp <= 1e-6).all() and torch.isfinite(lp).all()
    nucleus = grpo._nucleus(logits / temperature, logits.argmax(-1), top_p)[0]  # [V]; the argmax is in anyway
    assert float(lp[nucleus].double().exp().sum()) == pytest.approx(1.0, abs=1e-4)


def test_sampling_logprobs_refuse_bad_settings():
    x, t = torch.zeros(2, 3), torch.zeros(2, dtype=torch.long)
    with pytest.raises(ValueError, match="temperature"):
        grpo.sampling_logprobs(x, t, temperature=0.0, top_p=1.0)
    with pytest.raises(ValueError, match="top_p"):
        grpo.sampling_logprobs(x, t, temperature=1.0, top_p=0.0)


# ---------------------------------------------------------------------------------------------- mismatch


def test_mismatch_hand_worked():
    learner = torch.log(torch.tensor([0.5, 0.25, 0.4]))
    sampler = torch.log(torch.tensor([0.25, 0.25, 0.1]))
    # r = learner / sampler = 2, 1, 4; k3 = r - 1 - log r (the other direction, 1/r - 1 + log r, is smaller)
    k3 = [2 - 1 - math.log(2), 0.0, 4 - 1 - math.log(4)]
    got = grpo.logprob_mismatch(learner, sampler)
    assert got["mismatch_kl"] == pytest.approx(sum(k3) / 3, rel=1e-6)
    assert got["mismatch_max_abs"] == pytest.approx(math.log(4), rel=1e-6)


def test_mismatch_is_zero_when_the_logprobs_agree_and_grows_with_the_gap():
    lp = -torch.rand(50, generator=torch.Generator().manual_seed(0)) * 5  # [T]
    assert grpo.logprob_mismatch(lp, lp.clone()) == {"mismatch_kl": 0.0, "mismatch_max_abs": 0.0}
    small = grpo.logprob_mismatch(lp, lp + 0.01 * torch.sin(torch.arange(50.0)))
    large = grpo.logprob_mismatch(lp, lp + 0.1 * torch.sin(torch.arange(50.0)))
    assert 0 < small["mismatch_kl"] < large["mismatch_kl"]
    assert large["mismatch_kl"] == pytest.approx(100 * small["mismatch_kl"], rel=0.05)  # k3 ~ d^2 / 2
    assert grpo.logprob_mismatch(lp[:0], lp[:0]) == {"mismatch_kl": 0.0, "mismatch_max_abs": 0.0}
    with pytest.raises(ValueError, match="shapes differ"):
        grpo.logprob_mismatch(lp, lp[:3])


def test_mismatch_kl_estimates_the_true_kl_from_sampled_tokens():
    gen = torch.Generator().manual_seed(0)
    sampler_p = torch.softmax(torch.randn(8, generator=gen), 0)  # the tokens come from here
    learner_p = torch.softmax(torch.log(sampler_p) + torch.randn(8, generator=gen), 0)  # KL ~ 0.14: far enough for the two k3 directions to differ by 7%
    true_kl = float((sampler_p * (sampler_p / learner_p).log()).sum())
    idx = torch.multinomial(sampler_p, 200_000, replacement=True, generator=gen)
    got = grpo.logprob_mismatch(learner_p.log()[idx], sampler_p.log()[idx])["mismatch_kl"]
    assert got == pytest.approx(true_kl, rel=0.05)


# --------------------------------------------------------------------------------------------------- TIS


def test_tis_weights_hand_worked():
    old = torch.log(torch.tensor([[0.5, 0.1, 0.3]]))
    sampler = torch.log(torch.tensor([[0.25, 0.2, 0.3]]))
    # pi_old / pi_sampler = 2, 0.5, 1; the cap 1.5 truncates the first
    assert grpo.tis_weights(old, sampler, cap=1.5)[0].tolist() == pytest.approx([1.5, 0.5, 1.0], rel=1e-6)
    stats = grpo.tis_stats(old[0], sampler[0], cap=1.5)
    assert stats["tis_weight_mean"] == pytest.approx(1.0, rel=1e-6)
    assert stats["tis_clip_frac"] == pytest.approx(1 / 3)
    assert grpo.tis_stats(old[0, :0], sampler[0, :0], cap=2.0) == {"tis_weight_mean": 1.0, "tis_clip_frac": 0.0}
    with pytest.raises(ValueError, match="cap"):
        grpo.tis_weights(old, sampler, cap=0.5)


def test_tis_weights_are_detached():
    old = torch.zeros(1, 2, requires_grad=True)
    assert not grpo.tis_weights(old, torch.zeros(1, 2), cap=2.0).requires_grad


@pytest.mark.parametrize("loss_norm", ["token", "sequence", "constant"])
def test_tis_is_a_no_op_when_the_sampler_agrees_with_the_learner(loss_norm):
    gen = torch.Generator().manual_seed(3)
    old = -torch.rand(4, 6, generator=gen) * 3  # [N, L]
    adv = torch.randn(4, generator=gen)  # [N]
    mask = (torch.rand(4, 6, generator=gen) > 0.2).float()  # [N, L]
    results = []
    for weights in (None, grpo.tis_weights(old, old.clone(), cap=2.0)):
        logp = (old + 0.3 * torch.randn(4, 6, generator=torch.Generator().manual_seed(1))).requires_grad_(True)
        loss, stats = grpo.policy_loss(logp, old, adv, mask, **loss_args(loss_norm=loss_norm, max_tokens=6), is_weights=weights)
        loss.backward()
        results.append((float(loss.detach()), logp.grad.clone(), stats))
    (loss_a, grad_a, stats_a), (loss_b, grad_b, stats_b) = results
    assert loss_a == loss_b and torch.equal(grad_a, grad_b) and stats_a == stats_b


def test_tis_scales_the_policy_gradient_per_token_and_leaves_the_kl_term_alone():
    old = torch.zeros(2, 3)  # [N, L]
    logp = old.clone().requires_grad_(True)  # ratio 1: the gradient is the plain policy gradient
    ref = torch.full((2, 3), -0.5)  # [N, L]
    adv = torch.tensor([1.0, -2.0])  # [N]
    mask = torch.ones(2, 3)
    w = torch.tensor([[2.0, 1.0, 0.5], [1.0, 0.0, 1.5]])  # [N, L]
    loss, _ = grpo.policy_loss(logp, old, adv, mask, **loss_args(kl="k1", kl_coef=0.1), ref_logp=ref, is_weights=w)
    loss.backward()
    want = (-w * adv[:, None] + 0.1) / 6  # d(k1)/d logp = 1, not weighted
    torch.testing.assert_close(logp.grad, want)
    assert float(loss.detach()) == pytest.approx(float((-w * adv[:, None] + 0.1 * 0.5).sum() / 6), rel=1e-6)


@pytest.mark.parametrize("mode, sampler, learner, on", [
    ("auto", "bfloat16", "float32", True), ("auto", "float32", "float32", False),
    ("auto", "float16", "float32", True), ("on", "float32", "float32", True), ("off", "bfloat16", "float32", False),
])
def test_tis_auto_is_on_exactly_where_the_dtypes_differ(mode, sampler, learner, on):
    assert grpo.tis_enabled(mode, sampler_dtype=sampler, learner_dtype=learner) is on


def test_unknown_tis_mode_is_refused():
    with pytest.raises(ValueError, match="auto, on, off"):
        grpo.tis_enabled("maybe", sampler_dtype="float32", learner_dtype="float32")
