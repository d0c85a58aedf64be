"""`trainer.train_samples`: scored groups -> training samples, with the sampler's logprobs on every sample."""

import pytest

from rlvr.rollout.fleet import ScoredGroup
from rlvr.rollout.sampler import Completion
from rlvr.run.trainer import train_samples


def group(rewards: list[float], seed: int) -> ScoredGroup:
    comps = [Completion(token_ids=[seed, i + 10], logprobs=[-0.5 - i, -1.0 - seed], text="", finish_reason="stop")
             for i in range(len(rewards))]
    return ScoredGroup(row={}, prompt="p", prompt_ids=[1, 2, seed], completions=comps, rewards=list(rewards))


@pytest.mark.parametrize("with_old", [False, True])
def test_every_sample_carries_the_samplers_logprobs_and_old_ones_only_when_asked(with_old):
    groups = [group([1.0, 0.0, 0.2], 3), group([0.0, 1.0, 1.0], 4)]
    samples, dropped = train_samples(groups, adv_norm="std", drop_zero_variance=True, eps=1e-6,
                                     with_old_logprobs=with_old)
    assert dropped == 0.0 and len(samples) == 6
    for s, c in zip(samples, [c for g in groups for c in g.completions], strict=True):
        assert s.completion_ids == c.token_ids and s.sampler_logprobs == c.logprobs
        assert s.old_logprobs == (c.logprobs if with_old else None)


def test_a_flat_group_kept_with_drop_off_has_zero_advantages():
    samples, dropped = train_samples([group([1.2] * 4, 3), group([0.0, 1.2, 0.0, 1.2], 4)], adv_norm="std",
                                     drop_zero_variance=False, eps=1e-6, with_old_logprobs=False)
    assert dropped == 0.0
    assert [s.advantage for s in samples[:4]] == [0.0] * 4
    assert all(abs(s.advantage) > 0.5 for s in samples[4:])
