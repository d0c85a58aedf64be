"""`rlvr.learn.samples.train_samples` and `rlvr.rollout.fleet.score_groups`: scored groups -> training samples,
with the sampler's logprobs on every sample and a verifier's "not applicable" (None) kept out of the math."""

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from rewards import Score
from rlvr.learn import grpo
from rlvr.learn.samples import train_samples
from rlvr.rollout.fleet import score_groups
from rlvr.types import NOT_APPLICABLE, Completion, Group


def group(rewards: list[float | None], seed: int) -> Group:
    comps = [Completion(token_ids=[seed, i + 10], logprobs=[-0.5 - i, -1.0 - seed], text=f"c{i}",
                        finish_reason="stop", reward=r) for i, r in enumerate(rewards)]
    return Group(prompt_ids=[1, 2, seed], completions=comps, row={"prompt": "p"})


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


def test_not_applicable_completions_are_left_out_of_the_group_statistics_and_of_training():
    with_none = group([1.0, None, 0.0, None], 5)
    samples, dropped = train_samples([with_none], adv_norm="std", drop_zero_variance=True, eps=1e-6,
                                     with_old_logprobs=False)
    alone, _ = train_samples([group([1.0, 0.0], 5)], adv_norm="std", drop_zero_variance=True, eps=1e-6,
                             with_old_logprobs=False)
    assert dropped == 0.0
    assert [s.completion_ids for s in samples] == [[5, 10], [5, 12]]  # the scored two only
    assert [s.advantage for s in samples] == [s.advantage for s in alone]  # as if the Nones were not sampled


@pytest.mark.parametrize("rewards", [[None, None, None], [1.0, None, None]])
def test_a_group_with_fewer_than_two_scored_completions_is_dropped_even_with_drop_off(rewards):
    samples, dropped = train_samples([group(rewards, 1), group([0.0, 1.0, 0.5], 2)], adv_norm="none",
                                     drop_zero_variance=False, eps=1e-6, with_old_logprobs=False)
    assert dropped == 0.5 and len(samples) == 3


@given(st.lists(st.lists(st.one_of(st.none(), st.sampled_from([0.0, 0.2, 1.0, 1.2])), min_size=2, max_size=6),
                min_size=1, max_size=5), st.sampled_from(["std", "none"]), st.booleans())
def test_matches_the_batched_grpo_math_on_the_scored_completions(batch, adv_norm, drop):
    groups = [group(r, i) for i, r in enumerate(batch)]
    samples, dropped = train_samples(groups, adv_norm=adv_norm, drop_zero_variance=drop, eps=1e-6,
                                     with_old_logprobs=False)
    expected, n_dropped = [], 0
    for i, rewards in enumerate(batch):
        scored = [(j, r) for j, r in enumerate(rewards) if r is not None]
        r = torch.tensor([[v for _, v in scored]])
        if len(scored) < 2 or (drop and bool(grpo.zero_variance_groups(r)[0])):
            n_dropped += 1
            continue
        adv = grpo.group_advantages(r, adv_norm=adv_norm, eps=1e-6)[0]
        expected += [([i, j + 10], float(a)) for (j, _), a in zip(scored, adv, strict=True)]
    assert [(s.completion_ids, s.advantage) for s in samples] == expected
    assert dropped == n_dropped / len(batch)


class ListPool:
    def __init__(self, scores):
        self.scores, self.rows = scores, None

    def map(self, reward, rows):
        self.rows = rows
        return self.scores


def test_score_groups_keeps_a_verifiers_none_and_fills_each_completion_in_place():
    groups = [group([None, None], 1), group([None], 2)]
    groups[1].row = {"prompt": "q", "answer": "4"}
    pool = ListPool([Score(1.0, {"reason": "match", "components": {"math": 1.0}}), None, Score(0.0, {"reason": "timeout"})])
    score_groups(groups, reward=object(), pool=pool)
    assert pool.rows == [{"prompt": "p", "completion": "c0"}, {"prompt": "p", "completion": "c1"},
                         {"prompt": "q", "answer": "4", "completion": "c0"}]
    a, b, c = (c for g in groups for c in g.completions)
    assert (a.reward, a.components, a.reason) == (1.0, {"math": 1.0}, "match")
    assert (b.reward, b.components, b.reason) == (None, {}, NOT_APPLICABLE)
    assert (c.reward, c.reason) == (0.0, "timeout")
    assert groups[0].rewards == [1.0, None]


def test_score_groups_sends_no_skipped_completion_to_the_verifiers_and_leaves_it_as_it_was():
    groups = [group([None, 0.0, None], 1)]
    pool = ListPool([Score(1.0, {"reason": "match"}), Score(0.5, {"reason": "near"})])
    score_groups(groups, reward=object(), pool=pool, skip=lambda c: c.text == "c1")
    assert [r["completion"] for r in pool.rows] == ["c0", "c2"]
    assert groups[0].rewards == [1.0, 0.0, 0.5]
    assert [c.reason for c in groups[0].completions] == ["match", "", "near"]
