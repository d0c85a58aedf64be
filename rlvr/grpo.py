"""Pure GRPO math: group advantages, the clipped policy loss and KL estimators.

Every function takes tensors and plain scalars and returns tensors (plus a dict of floats for logging),
so each can be checked by hand and against a plain-Python loop (tests/unit/rlvr/test_grpo.py).

Shapes: B prompts, G samples per prompt (a group), N = B*G sequences, L completion tokens (padded).

Variants are small registries, picked by name:
- advantage normalisation (`ADV_NORMS`): "std" (GRPO: (r - mean) / (std + eps)) or "none" (Dr.GRPO:
  r - mean only, which removes the bias towards groups with small reward spread);
- loss aggregation (`LOSS_NORMS`): "token" (DAPO: mean over all valid tokens of the batch), "sequence"
  (original GRPO: mean over each sequence's tokens, then over sequences) or "constant" (Dr.GRPO: sum
  over tokens divided by N * max_len, so long and short answers are not re-weighted);
- KL estimators (`KL_ESTIMATORS`): "k1" (log-ratio) and "k3" (Schulman's unbiased, non-negative one).
The clip is asymmetric (DAPO clip-higher): ratio in [1 - clip_low, 1 + clip_high].

What this module does NOT do: compute log-probabilities (the learner), drop groups (the caller uses
`zero_variance_groups`), read configs, or touch devices, Ray or files.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

__all__ = [
    "ADV_NORMS", "KL_ESTIMATORS", "LOSS_NORMS", "group_advantages", "kl_penalty", "policy_loss",
    "zero_variance_groups",
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


def group_advantages(rewards: torch.Tensor, norm: str = "std", eps: float = 1e-6) -> torch.Tensor:
    """Advantage of each sample relative to its group.

    A_ij = (r_ij - mean_j r_ij) / (std_j r_ij + eps)   for norm="std" (GRPO; std with Bessel's correction)
    A_ij =  r_ij - mean_j r_ij                         for norm="none" (Dr.GRPO)

    rewards: [B, G] float. Returns [B, G]. A group whose rewards are all equal gets A = 0.

    >>> group_advantages(torch.tensor([[1.0, 0.0]]), norm="none")
    tensor([[ 0.5000, -0.5000]])
    """
    if rewards.dim() != 2 or rewards.shape[1] < 2:
        raise ValueError(f"rewards must be [B, G] with G >= 2; got shape {tuple(rewards.shape)}")
    return _pick(ADV_NORMS, norm, "advantage norm")(rewards.float(), eps)  # [B, G]


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


def kl_penalty(logp: torch.Tensor, ref_logp: torch.Tensor, kind: str = "k3") -> torch.Tensor:
    """Per-token estimate of KL(pi || pi_ref) from tokens sampled from pi.

    k1 = log pi - log pi_ref                          (unbiased, can be negative)
    k3 = pi_ref/pi - log(pi_ref/pi) - 1               (unbiased, always >= 0; Schulman 2020)

    logp, ref_logp: [N, L]. Returns [N, L].
    """
    return _pick(KL_ESTIMATORS, kind, "KL estimator")(logp, ref_logp)  # [N, L]


# -------------------------------------------------------------------------------------------------- loss


def _norm_token(per_token: torch.Tensor, mask: torch.Tensor, max_len: int) -> torch.Tensor:
    return (per_token * mask).sum() / mask.sum().clamp(min=1.0)  # []


def _norm_sequence(per_token: torch.Tensor, mask: torch.Tensor, max_len: int) -> torch.Tensor:
    per_seq = (per_token * mask).sum(dim=-1) / mask.sum(dim=-1).clamp(min=1.0)  # [N]
    return per_seq.mean()  # []


def _norm_constant(per_token: torch.Tensor, mask: torch.Tensor, max_len: int) -> torch.Tensor:
    return (per_token * mask).sum() / (per_token.shape[0] * max_len)  # []


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
    clip_low: float = 0.2,
    clip_high: float = 0.28,
    loss_norm: str = "token",
    max_len: int | None = None,
    ref_logp: torch.Tensor | None = None,
    kl: str = "off",
    kl_coef: float = 0.0,
) -> tuple[torch.Tensor, dict[str, float]]:
    """Clipped GRPO surrogate loss (to minimise) and logging stats.

    r_it = exp(logp_it - old_logp_it)
    l_it = -min(r_it * A_i, clip(r_it, 1 - clip_low, 1 + clip_high) * A_i) + kl_coef * KL_it
    loss = sum_it mask_it * l_it / norm, where norm depends on `loss_norm`:
      token:    sum_it mask_it                         (all valid tokens of the batch)
      sequence: per sequence sum_t mask_it, then mean over N sequences
      constant: N * max_len                            (max_len defaults to L)
    At r = 1 the gradient is d loss / d logp_it = -A_i * mask_it / norm (the plain policy gradient).

    logp (with grad), old_logp, ref_logp, mask: [N, L]; adv: [N]. Stats are floats: clip_frac (and its
    low/high parts), ratio_mean, ratio_max, approx_kl (k3 of the new policy from the old), kl (when a
    KL term is on), loss.
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
    stats: dict[str, float] = {}
    if kl != "off":
        kl_tok = kl_penalty(logp, ref_logp.detach(), kl)  # [N, L]
        per_token = per_token + kl_coef * kl_tok  # [N, L]
        stats["kl"] = _masked_mean(kl_tok.detach(), mask)
    loss = norm_fn(per_token, mask, max_len if max_len is not None else logp.shape[-1])  # []
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
