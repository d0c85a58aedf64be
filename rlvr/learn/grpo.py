"""Pure GRPO math: group advantages, the clipped policy loss and KL estimators.

Every function takes tensors and plain scalars and returns tensors (plus a dict of floats for logging),
so each can be checked by hand and against a plain-Python loop (tests/unit/rlvr/test_grpo.py).

Shapes: B prompts, G samples per prompt (a group), N = B*G sequences, L completion tokens (padded).

Variants are small registries, picked by name:
- advantage normalisation (`ADV_NORMS`): "std" (GRPO: (r - mean) / (std + eps)) or "none" (Dr.GRPO:
  r - mean only, which removes the bias towards groups with small reward spread);
- loss aggregation (`LOSS_NORMS`): "token" (DAPO: mean over all valid tokens of the batch), "sequence"
  (original GRPO: mean over each sequence's tokens, then over sequences) or "constant" (Dr.GRPO: sum
  over tokens divided by N * max_tokens, so long and short answers are not re-weighted);
- KL estimators (`KL_ESTIMATORS`): "k1" (log-ratio) and "k3" (Schulman's unbiased, non-negative one).
The clip is asymmetric (DAPO clip-higher): ratio in [1 - clip_low, 1 + clip_high].

The sampler and the learner must agree on which distribution is being trained, and rarely agree to the
last bit on its numbers. Three pure pieces handle that:
- `sampling_logprobs`: log-probabilities of the *sampling* distribution from raw logits (temperature, then
  top-p renormalised over the nucleus), so the learner's score function is the sampler's policy;
- `logprob_mismatch`: how far the sampler's logprobs of its own tokens are from the learner's (k3 KL and
  max |dlogp|), logged every step;
- `tis_weights`: truncated importance sampling (TIS) against the sampler's logprobs, which corrects the
  policy gradient for what mismatch remains (bf16 sampler vs fp32 learner, kernels, a one-step lag).

What this module does NOT do: run the model (the learner, `rlvr.learn.policy`), drop groups (the caller uses
`zero_variance_groups`), read configs, or touch devices, Ray or files.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

__all__ = [
    "ADV_NORMS", "KL_ESTIMATORS", "LOSS_NORMS", "TIS_MODES", "group_advantages", "kl_penalty", "logprob_mismatch",
    "policy_loss", "sampling_logprobs", "tis_enabled", "tis_stats", "tis_weights", "zero_variance_groups",
]


def _pick(registry: dict[str, Callable], name: str, what: str) -> Callable:
    try:
        return registry[name]
    except KeyError:
        raise ValueError(f"unknown {what} {name!r}; choose one of {', '.join(registry)}") from None


# ------------------------------------------------------------------------------------------- advantages


def _adv_std(rewards: torch.Tensor, eps: float) -> torch.Tensor:
    centred = rewards - rewards.mean(dim=-1, keepdim=True)  # [B, G]
    std = rewards.std(dim=-1, keepdim=True)  # [B, 1] (unbiased, as in TRL and verl)
    return centred / (std + eps)  # [B, G]


def _adv_none(rewards: torch.Tensor, eps: float) -> torch.Tensor:
    return rewards - rewards.mean(dim=-1, keepdim=True)  # [B, G]


ADV_NORMS: dict[str, Callable[[torch.Tensor, float], torch.Tensor]] = {"std": _adv_std, "none": _adv_none}


def group_advantages(rewards: torch.Tensor, *, adv_norm: str, eps: float) -> torch.Tensor:
    """Advantage of each sample relative to its group.

    A_ij = (r_ij - mean_j r_ij) / (std_j r_ij + eps)   for adv_norm="std" (GRPO; std with Bessel's correction)
    A_ij =  r_ij - mean_j r_ij                         for adv_norm="none" (Dr.GRPO)

    rewards: [B, G] float. Returns [B, G]. A group whose rewards are all equal gets A = 0 exactly: the
    float32 mean of G copies of a value that float32 cannot hold (a composite reward of 1.2) is off by an
    ulp, and dividing that residue by std + eps (~eps) would turn it into |A| ~ 0.1-0.3.

    >>> group_advantages(torch.tensor([[1.0, 0.0]]), adv_norm="none", eps=1e-6)
    tensor([[ 0.5000, -0.5000]])
    """
    if rewards.dim() != 2 or rewards.shape[1] < 2:
        raise ValueError(f"rewards must be [B, G] with G >= 2; got shape {tuple(rewards.shape)}")
    rewards = rewards.float()  # [B, G]
    adv = _pick(ADV_NORMS, adv_norm, "advantage norm")(rewards, eps)  # [B, G]
    return adv.masked_fill(zero_variance_groups(rewards).unsqueeze(-1), 0.0)  # [B, G]


def zero_variance_groups(rewards: torch.Tensor) -> torch.Tensor:
    """True for each group whose samples all got the same reward: no learning signal, so callers drop them.

    rewards: [B, G]. Returns a bool mask [B].
    """
    return rewards.amax(dim=-1) == rewards.amin(dim=-1)  # [B]


# ---------------------------------------------------------------------------------------------------- KL


def _kl_k1(logp: torch.Tensor, ref_logp: torch.Tensor) -> torch.Tensor:
    return logp - ref_logp  # [N, L]


def _kl_k3(logp: torch.Tensor, ref_logp: torch.Tensor) -> torch.Tensor:
    log_r = ref_logp - logp  # [N, L]
    return torch.exp(log_r) - log_r - 1.0  # [N, L]


KL_ESTIMATORS: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {"k1": _kl_k1, "k3": _kl_k3}


def kl_penalty(logp: torch.Tensor, ref_logp: torch.Tensor, *, kl: str) -> torch.Tensor:
    """Per-token estimate of KL(pi || pi_ref) from tokens sampled from pi.

    k1 = log pi - log pi_ref                          (unbiased, can be negative)
    k3 = pi_ref/pi - log(pi_ref/pi) - 1               (unbiased, always >= 0; Schulman 2020)

    logp, ref_logp: [N, L]. Returns [N, L].
    """
    return _pick(KL_ESTIMATORS, kl, "KL estimator")(logp, ref_logp)  # [N, L]


# -------------------------------------------------------------------------------------------------- loss


def _norm_token(per_token: torch.Tensor, mask: torch.Tensor, max_tokens: int) -> torch.Tensor:
    return (per_token * mask).sum() / mask.sum().clamp(min=1.0)  # []


def _norm_sequence(per_token: torch.Tensor, mask: torch.Tensor, max_tokens: int) -> torch.Tensor:
    per_seq = (per_token * mask).sum(dim=-1) / mask.sum(dim=-1).clamp(min=1.0)  # [N]
    return per_seq.mean()  # []


def _norm_constant(per_token: torch.Tensor, mask: torch.Tensor, max_tokens: int) -> torch.Tensor:
    return (per_token * mask).sum() / (per_token.shape[0] * max_tokens)  # []


LOSS_NORMS: dict[str, Callable[[torch.Tensor, torch.Tensor, int], torch.Tensor]] = {
    "token": _norm_token, "sequence": _norm_sequence, "constant": _norm_constant,
}


def _masked_mean(x: torch.Tensor, mask: torch.Tensor) -> float:
    return float((x * mask).sum() / mask.sum().clamp(min=1.0))


def policy_loss(
    logp: torch.Tensor,
    old_logp: torch.Tensor,
    adv: torch.Tensor,
    mask: torch.Tensor,
    *,
    clip_low: float,
    clip_high: float,
    loss_norm: str,
    max_tokens: int | None,
    kl: str,
    kl_coef: float,
    ref_logp: torch.Tensor | None = None,
    is_weights: torch.Tensor | None = None,
) -> tuple[torch.Tensor, dict[str, float]]:
    """Clipped GRPO surrogate loss (to minimise) and logging stats.

    r_it = exp(logp_it - old_logp_it)
    l_it = -w_it * min(r_it * A_i, clip(r_it, 1 - clip_low, 1 + clip_high) * A_i) + kl_coef * KL_it
    loss = sum_it mask_it * l_it / norm, where norm depends on `loss_norm`:
      token:    sum_it mask_it                         (all valid tokens of the batch)
      sequence: per sequence sum_t mask_it, then mean over N sequences
      constant: N * max_tokens                         (max_tokens None: L)
    At r = 1 the gradient is d loss / d logp_it = -w_it * A_i * mask_it / norm (the plain policy gradient).
    w_it are per-token importance weights (`tis_weights`; 1 when `is_weights` is None), detached: they
    scale the policy-gradient term only, never the KL term.

    logp (with grad), old_logp, ref_logp, mask, is_weights: [N, L]; adv: [N]. Stats are floats: clip_frac
    (and its low/high parts), ratio_mean, ratio_max, approx_kl (k3 of the new policy from the old), kl
    (when a KL term is on), loss; all but loss and ratio_max are means over the valid tokens.
    """
    norm_fn = _pick(LOSS_NORMS, loss_norm, "loss norm")
    if kl != "off" and ref_logp is None:
        raise ValueError(f"kl={kl!r} needs ref_logp")
    mask = mask.to(logp.dtype)  # [N, L]
    a = adv.to(logp.dtype).unsqueeze(-1)  # [N, 1]
    log_ratio = logp - old_logp.detach()  # [N, L]
    ratio = torch.exp(log_ratio)  # [N, L]
    surr = ratio * a  # [N, L]
    surr_clipped = torch.clamp(ratio, 1.0 - clip_low, 1.0 + clip_high) * a  # [N, L]
    per_token = -torch.minimum(surr, surr_clipped)  # [N, L]
    if is_weights is not None:
        per_token = per_token * is_weights.detach().to(logp.dtype)  # [N, L]
    stats: dict[str, float] = {}
    if kl != "off":
        kl_tok = kl_penalty(logp, ref_logp.detach(), kl=kl)  # [N, L]
        per_token = per_token + kl_coef * kl_tok  # [N, L]
        stats["kl"] = _masked_mean(kl_tok.detach(), mask)
    loss = norm_fn(per_token, mask, max_tokens if max_tokens is not None else logp.shape[-1])  # []
    stats.update(_clip_stats(ratio.detach(), a.detach(), log_ratio.detach(), mask, clip_low, clip_high))
    stats["loss"] = float(loss.detach())
    return loss, stats


def _clip_stats(ratio: torch.Tensor, a: torch.Tensor, log_ratio: torch.Tensor, mask: torch.Tensor,
                clip_low: float, clip_high: float) -> dict[str, float]:
    """How often the clip is active (its gradient is zero) and how far the policy moved from the sampler."""
    low = ((ratio < 1.0 - clip_low) & (a < 0)).to(mask.dtype)  # [N, L]
    high = ((ratio > 1.0 + clip_high) & (a > 0)).to(mask.dtype)  # [N, L]
    valid = mask > 0  # [N, L]
    return {
        "clip_frac": _masked_mean(low + high, mask),
        "clip_frac_low": _masked_mean(low, mask),
        "clip_frac_high": _masked_mean(high, mask),
        "ratio_mean": _masked_mean(ratio, mask),
        "ratio_max": float(ratio[valid].max()) if valid.any() else 1.0,
        "approx_kl": _masked_mean(torch.exp(-log_ratio) + log_ratio - 1.0, mask),
    }


# ------------------------------------------------------------------------------ the sampling distribution


def sampling_logprobs(logits: torch.Tensor, targets: torch.Tensor, *, temperature: float,
                      top_p: float) -> torch.Tensor:
    """Log-probability of each target under the distribution the sampler draws from.

    log pi(y) = log softmax(z / T)_y                      (top_p = 1)
    log pi(y) = log softmax(mask_p(z / T))_y              (top_p < 1: renormalised over the nucleus)

    The nucleus of a row is its most probable tokens (of softmax(z / T)) down to the first one at which
    the mass ranked above it reaches `top_p`: a token is kept when the mass strictly above it is < top_p,
    so the top token always is. That is the set vLLM samples from (its `processed_logprobs` are this
    renormalised distribution); every other logit is set to -inf. The target itself is always kept: the
    sampler drew it from *its* nucleus, and a learner whose slightly different numbers put it just
    outside must still give it a finite logprob (and a gradient), not -inf. The mask is a constant of
    the logits (no gradient flows through the choice of nucleus). TRL and verl divide by T and ignore
    top-p in the learner; with top_p < 1 that scores tokens under a distribution nobody sampled from.
    top-k, min-p and penalties are not modelled: the sampler config does not expose them and vLLM's
    defaults leave them off.

    logits: [n, V] (any float dtype; computed in fp32, divided as vLLM does: z / T); targets: [n] long.
    Returns [n] fp32, differentiable in `logits`.
    """
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0 (greedy decoding has no logprobs to train); got {temperature}")
    if not 0 < top_p <= 1:
        raise ValueError(f"top_p must be in (0, 1]; got {top_p}")
    scaled = logits.float()  # [n, V]
    if temperature != 1.0:
        scaled = scaled / temperature  # [n, V]
    if top_p < 1.0:
        keep = _nucleus(scaled.detach(), targets, top_p)  # [n, V] bool
        scaled = scaled.masked_fill(~keep, float("-inf"))  # [n, V]
    return -torch.nn.functional.cross_entropy(scaled, targets, reduction="none")  # [n]


def _nucleus(scaled: torch.Tensor, targets: torch.Tensor, top_p: float) -> torch.Tensor:
    """Tokens of the top-p nucleus of softmax(scaled), plus each row's target: a bool mask [n, V]."""
    probs = scaled.softmax(dim=-1)  # [n, V]
    sorted_p, order = probs.sort(dim=-1, descending=True)  # [n, V]
    above = sorted_p.cumsum(dim=-1) - sorted_p  # [n, V] mass ranked strictly above each token
    keep = torch.zeros_like(probs, dtype=torch.bool).scatter_(-1, order, above < top_p)  # [n, V]
    keep[torch.arange(keep.shape[0], device=keep.device), targets] = True
    return keep


# ------------------------------------------------------------------------- sampler/learner mismatch, TIS


def logprob_mismatch(learner_logp: torch.Tensor, sampler_logp: torch.Tensor) -> dict[str, float]:
    """How far the learner's policy is from the one that sampled, on the sampled tokens.

    mismatch_kl      = mean_t k3(r_t),  r_t = pi_learner(y_t) / pi_sampler(y_t),  k3 = r - 1 - log r
                       (an unbiased, non-negative estimate of KL(pi_sampler || pi_learner): the tokens
                       come from the sampler; Schulman 2020)
    mismatch_max_abs = max_t |log pi_learner(y_t) - log pi_sampler(y_t)|

    learner_logp, sampler_logp: [T] logprobs of the same T valid (unpadded) tokens. Both are 0 when T = 0.
    """
    if learner_logp.shape != sampler_logp.shape:
        raise ValueError(f"shapes differ: learner {tuple(learner_logp.shape)}, sampler {tuple(sampler_logp.shape)}")
    if learner_logp.numel() == 0:
        return {"mismatch_kl": 0.0, "mismatch_max_abs": 0.0}
    learner_logp, sampler_logp = learner_logp.double(), sampler_logp.double()  # [T]; k3 ~ d^2/2 needs the bits
    k3 = _kl_k3(sampler_logp, learner_logp)  # [T]
    return {"mismatch_kl": float(k3.mean()), "mismatch_max_abs": float((learner_logp - sampler_logp).abs().max())}


TIS_MODES = ("auto", "on", "off")


def tis_enabled(mode: str, *, sampler_dtype: str, learner_dtype: str) -> bool:
    """Whether truncated importance sampling is on: "on"/"off" as said; "auto" where the sampler and the
    learner compute in different dtypes (a bf16 sampler against an fp32 learner differs by ~0.3 in
    logprob on some tokens), off where they match (fp32 vs fp32 agree to ~1e-5: the weights would be 1)."""
    if mode not in TIS_MODES:
        raise ValueError(f"unknown TIS mode {mode!r}; choose one of {', '.join(TIS_MODES)}")
    return mode == "on" or (mode == "auto" and sampler_dtype != learner_dtype)


def tis_weights(old_logp: torch.Tensor, sampler_logp: torch.Tensor, *, cap: float) -> torch.Tensor:
    """Truncated importance weights of each token, from the sampler's policy to the learner's.

    w_t = min(pi_old(y_t) / pi_sampler(y_t), cap),  detached

    The tokens were drawn by the sampler (pi_sampler: another engine, dtype or a step behind), but the
    clipped surrogate's ratio is taken against the learner's own pi_old; multiplying each token's
    policy-gradient term by w_t makes the gradient that of pi_old's samples again, and the cap bounds the
    variance a rare token with a tiny sampler probability would bring (the bias it leaves is small).
    The idea and the cap come from Yao et al. 2025, "Your efficient RL framework secretly brings you
    off-policy RL training" (fengyao.notion.site/off-policy-rl), as used by verl (`tis_imp_ratio_cap`,
    later its rollout correction), SkyRL and OpenRLHF. Where pi_old is the sampler itself (old_logp =
    sampler_logp), w = 1: no correction twice.

    old_logp, sampler_logp: [N, L] (pads: any equal values, e.g. 0 and 0, give w = 1). Returns [N, L].
    """
    if not cap >= 1.0:
        raise ValueError(f"the TIS cap must be >= 1 (a weight of 1 is no correction); got {cap}")
    log_w = (old_logp.detach() - sampler_logp.detach()).clamp(max=math.log(cap))  # [N, L]
    return torch.exp(log_w)  # [N, L]


def tis_stats(old_logp: torch.Tensor, sampler_logp: torch.Tensor, *, cap: float) -> dict[str, float]:
    """Mean TIS weight and the fraction of tokens whose weight the cap truncated.

    old_logp, sampler_logp: [T] logprobs of the same T valid tokens. Returns floats (1.0 and 0.0 at T = 0).
    """
    if old_logp.numel() == 0:
        return {"tis_weight_mean": 1.0, "tis_clip_frac": 0.0}
    log_w = (old_logp - sampler_logp).double()  # [T]
    w = tis_weights(old_logp, sampler_logp, cap=cap).double()  # [T]
    return {"tis_weight_mean": float(w.mean()), "tis_clip_frac": float((log_w > math.log(cap)).double().mean())}
