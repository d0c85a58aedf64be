"""GRPO math: hand-worked numbers, a plain-Python reference loop, and gradient checks."""

import math
import random

import pytest
import torch

from rlvr.learn import grpo

# ------------------------------------------------------------------------------- plain-Python reference



def loss_args(**given):
    """policy_loss's keyword arguments: the config's defaults (AlgoConfig), overridden by `given`."""
    from rlvr.config import AlgoConfig

    a = AlgoConfig()
    return {"clip_low": a.clip_low, "clip_high": a.clip_high, "loss_norm": a.loss_norm, "max_tokens": None,
            "kl": a.kl, "kl_coef": a.kl_coef, **given}

def ref_advantages(rewards, norm, eps):
    out = []
    for group in rewards:
        g = len(group)
        mean = sum(group) / g
        std = math.sqrt(sum((r - mean) ** 2 for r in group) / (g - 1))
        out.append([(r - mean) / (std + eps) if norm == "std" else r - mean for r in group])
    return out


def ref_kl(lp, ref, kind):
    if kind == "k1":
        return lp - ref
    return math.exp(ref - lp) - (ref - lp) - 1.0


def ref_loss(logp, old, adv, mask, clip_low, clip_high, loss_norm, max_len, ref, kl, kl_coef, w=None):
    n, length = len(logp), len(logp[0])
    per_seq, total, count = [], 0.0, 0.0
    for i in range(n):
        seq_sum, seq_count = 0.0, 0.0
        for t in range(length):
            if not mask[i][t]:
                continue
            ratio = math.exp(logp[i][t] - old[i][t])
            clipped = min(max(ratio, 1 - clip_low), 1 + clip_high)
            term = -min(ratio * adv[i], clipped * adv[i]) * (1.0 if w is None else w[i][t])
            if kl != "off":
                term += kl_coef * ref_kl(logp[i][t], ref[i][t], kl)
            seq_sum, seq_count = seq_sum + term, seq_count + 1
        per_seq.append(seq_sum / max(seq_count, 1))
        total, count = total + seq_sum, count + seq_count
    if loss_norm == "token":
        return total / max(count, 1)
    if loss_norm == "sequence":
        return sum(per_seq) / n
    return total / (n * max_len)


# ------------------------------------------------------------------------------------------ advantages


def test_advantages_hand_worked():
    rewards = torch.tensor([[1.0, 0.0, 0.0, 1.0], [2.0, 2.0, 2.0, 2.0]])  # [B=2, G=4]
    # group 0: mean 0.5, unbiased std sqrt(4 * 0.25 / 3) = sqrt(1/3)
    s = math.sqrt(1 / 3)
    std = grpo.group_advantages(rewards[:1], adv_norm="std", eps=0.0)
    assert std[0].tolist() == pytest.approx([0.5 / s, -0.5 / s, -0.5 / s, 0.5 / s])
    with_eps = grpo.group_advantages(rewards, adv_norm="std", eps=1e-6)
    assert with_eps[0].tolist() == pytest.approx([0.5 / (s + 1e-6)] + [-0.5 / (s + 1e-6)] * 2 + [0.5 / (s + 1e-6)])
    assert with_eps[1].tolist() == [0.0] * 4  # a flat group: no signal, no NaN
    none = grpo.group_advantages(rewards, adv_norm="none", eps=1e-6)
    assert none.tolist() == [[0.5, -0.5, -0.5, 0.5], [0.0] * 4]


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("norm", ["std", "none"])
def test_advantages_match_loop(seed, norm):
    gen = torch.Generator().manual_seed(seed)
    rewards = torch.rand(6, 5, generator=gen).round(decimals=1)  # [B, G]
    got = grpo.group_advantages(rewards, adv_norm=norm, eps=1e-6)
    want = torch.tensor(ref_advantages(rewards.tolist(), norm, 1e-6))
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("norm", ["std", "none"])
@pytest.mark.parametrize("value", [1.2, 0.1, 1 / 3, -0.7, 2.0])
def test_a_flat_group_gets_exactly_zero_advantage_even_when_float32_cannot_hold_its_reward(norm, value):
    rewards = torch.tensor([[value] * 8, [0.0, 1.0] * 4])  # [B=2, G=8]
    adv = grpo.group_advantages(rewards, adv_norm=norm, eps=1e-6)
    assert adv[0].tolist() == [0.0] * 8
    assert adv[1].abs().min() > 0.1  # the other group keeps its signal
    # what the mask is for: the float32 mean of eight 1.2s misses 1.2 by an ulp, and / (std + eps) blows it up
    raw = grpo.ADV_NORMS["std"](torch.full((1, 8), 1.2), 1e-6)
    assert float(raw.abs().max()) > 0.01


def test_advantages_reject_bad_input():
    with pytest.raises(ValueError, match="unknown advantage norm 'zscore'.*std, none"):
        grpo.group_advantages(torch.zeros(2, 3), adv_norm="zscore", eps=1e-6)
    with pytest.raises(ValueError, match=r"\[B, G\]"):
        grpo.group_advantages(torch.zeros(4), adv_norm="std", eps=1e-6)


def test_zero_variance_groups():
    rewards = torch.tensor([[1.0, 1.0, 1.0], [0.0, 1.0, 0.0], [0.2, 0.2, 0.2], [0.0, 0.0, 1e-3]])
    assert grpo.zero_variance_groups(rewards).tolist() == [True, False, True, False]


# ------------------------------------------------------------------------------------------------- KL


def test_kl_hand_worked():
    logp = torch.tensor([[math.log(0.5), math.log(0.25)]])
    ref = torch.tensor([[math.log(0.25), math.log(0.25)]])
    k1 = grpo.kl_penalty(logp, ref, kl="k1")
    assert k1[0].tolist() == pytest.approx([math.log(2), 0.0])
    k3 = grpo.kl_penalty(logp, ref, kl="k3")  # ref/p = 0.5: 0.5 - log 0.5 - 1
    assert k3[0].tolist() == pytest.approx([0.5 + math.log(2) - 1, 0.0])


def test_kl_k3_is_non_negative_and_k1_estimates_true_kl():
    gen = torch.Generator().manual_seed(0)
    p = torch.softmax(torch.randn(6, generator=gen), 0)
    q = torch.softmax(torch.randn(6, generator=gen), 0)
    true_kl = float((p * (p / q).log()).sum())
    idx = torch.multinomial(p, 200_000, replacement=True, generator=gen)
    logp, logq = p.log()[idx][None], q.log()[idx][None]  # [1, S]
    assert (grpo.kl_penalty(logp, logq, kl="k3") >= 0).all()
    assert float(grpo.kl_penalty(logp, logq, kl="k1").mean()) == pytest.approx(true_kl, abs=0.02)
    assert float(grpo.kl_penalty(logp, logq, kl="k3").mean()) == pytest.approx(true_kl, abs=0.02)
    with pytest.raises(ValueError, match="k1, k3"):
        grpo.kl_penalty(logp, logq, kl="k2")


# ----------------------------------------------------------------------------------------------- loss


def test_policy_loss_hand_worked():
    # two sequences; seq 0 has 2 valid tokens, seq 1 has 1 valid token and 1 padding
    old = torch.zeros(2, 2)
    logp = torch.log(torch.tensor([[1.5, 0.9], [0.5, 7.0]]))  # ratios, since old = 0
    adv = torch.tensor([1.0, -2.0])
    mask = torch.tensor([[1.0, 1.0], [1.0, 0.0]])
    # seq 0 (A=1): ratio 1.5 -> clipped to 1.28 -> -1.28; ratio 0.9 -> -0.9
    # seq 1 (A=-2): ratio 0.5 -> min(-1.0, 0.8 * -2 = -1.6) = -1.6 -> loss +1.6
    token = (-1.28 - 0.9 + 1.6) / 3
    sequence = ((-1.28 - 0.9) / 2 + 1.6 / 1) / 2
    constant = (-1.28 - 0.9 + 1.6) / (2 * 4)
    for norm, want, max_tokens in [("token", token, None), ("sequence", sequence, None), ("constant", constant, 4)]:
        loss, stats = grpo.policy_loss(logp, old, adv, mask, **loss_args(loss_norm=norm, max_tokens=max_tokens))
        assert float(loss) == pytest.approx(want), norm
    # clipping active: token (0,0) high-clipped with A>0, token (1,0) low-clipped with A<0 -> 2 of 3
    assert stats["clip_frac"] == pytest.approx(2 / 3)
    assert stats["clip_frac_high"] == pytest.approx(1 / 3)
    assert stats["clip_frac_low"] == pytest.approx(1 / 3)
    assert stats["ratio_mean"] == pytest.approx((1.5 + 0.9 + 0.5) / 3)
    assert stats["ratio_max"] == pytest.approx(1.5)  # the padded 7.0 does not count
    assert stats["loss"] == pytest.approx(constant)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("loss_norm", ["token", "sequence", "constant"])
@pytest.mark.parametrize("kl", ["off", "k1", "k3"])
@pytest.mark.parametrize("tis", [False, True])
def test_policy_loss_matches_loop(seed, loss_norm, kl, tis):
    gen = torch.Generator().manual_seed(seed)
    n, length = 6, 7
    old = -torch.rand(n, length, generator=gen) * 3  # [N, L]
    logp = old + torch.randn(n, length, generator=gen) * 0.4  # [N, L], ratios well outside the clip
    ref = old + torch.randn(n, length, generator=gen) * 0.2  # [N, L]
    adv = torch.randn(n, generator=gen)  # [N]
    lengths = torch.randint(0, length + 1, (n,), generator=gen)  # includes an empty sequence sometimes
    mask = (torch.arange(length)[None] < lengths[:, None]).float()  # [N, L]
    mask[0, :2] = 1.0
    coef = 0.0 if kl == "off" else random.Random(seed).uniform(0.01, 0.5)
    w = torch.rand(n, length, generator=gen) * 2 if tis else None  # [N, L] importance weights
    loss, stats = grpo.policy_loss(logp, old, adv, mask, **loss_args(loss_norm=loss_norm, max_tokens=10, kl=kl,
                                   kl_coef=coef), ref_logp=ref, is_weights=w)
    want = ref_loss(logp.tolist(), old.tolist(), adv.tolist(), mask.tolist(), 0.2, 0.28, loss_norm, 10,
                    ref.tolist(), kl, coef, None if w is None else w.tolist())
    assert float(loss) == pytest.approx(want, rel=1e-5, abs=1e-6)
    assert ("kl" in stats) == (kl != "off")


@pytest.mark.parametrize("loss_norm", ["token", "sequence", "constant"])
def test_gradient_at_ratio_one_is_policy_gradient(loss_norm):
    gen = torch.Generator().manual_seed(1)
    n, length, max_tokens = 4, 5, 8
    old = -torch.rand(n, length, generator=gen)  # [N, L]
    logp = old.clone().requires_grad_(True)  # ratio = 1 everywhere
    adv = torch.tensor([1.0, -0.5, 2.0, 0.0])  # [N]
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0], [1, 1, 0, 0, 0]]).float()
    loss, _ = grpo.policy_loss(logp, old, adv, mask, **loss_args(loss_norm=loss_norm, max_tokens=max_tokens))
    loss.backward()
    norm = {
        "token": mask.sum().expand(n, 1),
        "sequence": n * mask.sum(-1, keepdim=True),
        "constant": torch.full((n, 1), float(n * max_tokens)),
    }[loss_norm]  # [N, 1]
    want = -adv[:, None] * mask / norm  # [N, L]
    torch.testing.assert_close(logp.grad, want)


def test_positive_advantage_raises_that_sequence_logp():
    torch.manual_seed(0)
    logits = torch.randn(3, 4, 10, requires_grad=True)  # [N, L, V]
    tokens = torch.randint(0, 10, (3, 4))  # [N, L]

    def seq_logp():
        return torch.log_softmax(logits, -1).gather(-1, tokens[..., None]).squeeze(-1)  # [N, L]

    before = seq_logp().detach()
    adv = torch.tensor([1.0, -1.0, 0.0])  # [N]
    opt = torch.optim.SGD([logits], lr=0.5)
    loss, _ = grpo.policy_loss(seq_logp(), before, adv, torch.ones(3, 4), **loss_args())
    loss.backward()
    opt.step()
    delta = (seq_logp().detach() - before).sum(-1)  # [N]
    assert delta[0] > 0 and delta[1] < 0
    assert abs(float(delta[2])) < 1e-6


def test_clipped_tokens_get_no_gradient():
    old = torch.zeros(1, 2)
    logp = torch.log(torch.tensor([[1.5, 1.1]])).requires_grad_(True)  # first beyond 1 + 0.28
    loss, _ = grpo.policy_loss(logp, old, torch.tensor([1.0]), torch.ones(1, 2), **loss_args())
    loss.backward()
    assert logp.grad[0, 0] == 0 and logp.grad[0, 1] < 0


def test_policy_loss_rejects_unknown_variants():
    x = torch.zeros(1, 2)
    with pytest.raises(ValueError, match="unknown loss norm 'mean'"):
        grpo.policy_loss(x, x, torch.zeros(1), torch.ones(1, 2), **loss_args(loss_norm="mean"))
    with pytest.raises(ValueError, match="needs ref_logp"):
        grpo.policy_loss(x, x, torch.zeros(1), torch.ones(1, 2), **loss_args(kl="k3", kl_coef=0.1))
