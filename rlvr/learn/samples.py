"""Scored groups -> training samples: group advantages applied to each completion, pure and Ray-free.

Why here and not in the driver: this is the step of the diagram between rewards and the learner, and the
benchmarks and tests need exactly what the run does. The math itself is `rlvr.learn.grpo`'s; this module
only decides which completions take part:
- a completion whose verifier said "not applicable" (`reward is None`) is left out of its group's
  statistics and out of training: it is neither right nor wrong, so it must not pull the group mean (TRL
  would count it as 0 when it is the only reward function);
- a group with fewer than two scored completions has no baseline and is dropped;
- a group whose scored completions all got the same reward is dropped when `drop_zero_variance`, else kept
  with advantage 0 (`grpo.group_advantages`);
- an empty completion (no tokens) carries no gradient and is skipped.
"""

from __future__ import annotations

import torch

from rlvr.learn import grpo
from rlvr.types import Group, TrainSample

__all__ = ["train_samples"]


def train_samples(groups: list[Group], *, adv_norm: str, drop_zero_variance: bool, eps: float,
                  with_old_logprobs: bool) -> tuple[list[TrainSample], float]:
    """One TrainSample per scored, non-empty completion of each kept group; returns (samples, fraction of
    groups dropped).

    Every sample carries the sampler's logprobs (for the mismatch metrics and TIS); `with_old_logprobs`
    also makes them the clipped ratio's old policy (off-policy without TIS: the ratio is then taken
    against the sampler itself)."""
    samples: list[TrainSample] = []
    dropped = 0
    for g in groups:
        scored = [c for c in g.completions if c.reward is not None]
        rewards = torch.tensor([[c.reward for c in scored]], dtype=torch.float32)  # [1, G']
        if len(scored) < 2 or (drop_zero_variance and bool(grpo.zero_variance_groups(rewards)[0])):
            dropped += 1
            continue
        adv = grpo.group_advantages(rewards, adv_norm=adv_norm, eps=eps)[0]  # [G']
        samples += [TrainSample(prompt_ids=list(g.prompt_ids), completion_ids=list(c.token_ids),
                                advantage=float(a), old_logprobs=list(c.logprobs) if with_old_logprobs else None,
                                sampler_logprobs=list(c.logprobs),
                                loss_mask=None if c.loss_mask is None else list(c.loss_mask))
                    for c, a in zip(scored, adv, strict=True) if c.token_ids]
    return samples, dropped / len(groups) if groups else 0.0
