"""Per-step health signals computed from crafted scored groups, and the verifiers' pay reasons reaching them."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rewards import Composite
from rlvr.health.signals import copies_prompt, entropy, identical_frac, mean_se, pay_mix, step_signals
from rlvr.rollout.fleet import score_groups
from rlvr.types import Completion, Group

SYSTEM = "You are a calculator. Example: 3 + 4 * 2 = 3 + 8 = 11, so the answer is \\boxed{11}."


def comp(text, finish="stop", logprobs=(-0.5, -1.5), reward=None):
    why = {} if reward is None else {"math": "correct/boxed"}
    return Completion(token_ids=list(range(len(logprobs))), logprobs=list(logprobs), text=text, finish_reason=finish,
                      reward=reward, components={} if reward is None else {"math": reward}, why=why)


def group(texts, rewards, finish=None, prompt=f"<system>{SYSTEM}</system><user>What is 5 + 6?</user>"):
    finish = finish or ["stop"] * len(texts)
    return Group(prompt_ids=[1], row={"answer": "11", "prompt": prompt},
                 completions=[comp(t, f, reward=r) for t, f, r in zip(texts, finish, rewards, strict=True)])


def test_identical_frac_counts_repeats_within_a_group():
    assert identical_frac(["a", "b", "c", "d"]) == 0.0
    assert identical_frac(["a", "a ", "a", "b"]) == 0.5   # whitespace at the ends does not make a new answer
    assert identical_frac(["x"] * 8) == 7 / 8


def test_copies_prompt_finds_the_system_prompts_example():
    assert copies_prompt("3 + 4 * 2 = 3 + 8 = 11, so the answer is \\boxed{11}.", SYSTEM, 6)
    assert not copies_prompt("5 + 6 = 11, so \\boxed{11}", SYSTEM, 6)
    assert not copies_prompt("short", SYSTEM, 6)


def test_entropy_is_the_mean_negative_logprob_of_the_sampled_tokens():
    assert entropy([[-0.5, -1.5], [-1.0]]) == pytest.approx(1.0)
    assert entropy([]) == 0.0


def test_mean_se():
    assert mean_se([1.0, 0.0, 1.0, 0.0]) == pytest.approx((0.5, (1 / 3 / 4) ** 0.5))
    assert mean_se([1.0]) == (1.0, 0.0) and mean_se([]) == (0.0, 0.0)


def test_pay_mix_counts_reasons_among_paid_completions_only():
    whys = [{"math": "correct/boxed"}, {"math": "correct/last_number"}, {"math": "wrong/boxed"}, {"math": "correct/boxed"}]
    comps = [{"math": 1.0}, {"math": 1.0}, {"math": 0.0}, {"math": 1.0}]
    assert pay_mix(whys, comps) == {"math": {"correct/boxed": 2 / 3, "correct/last_number": 1 / 3}}


def test_step_signals_on_a_gamed_batch():
    copied = "3 + 4 * 2 = 3 + 8 = 11, so the answer is \\boxed{11}."
    groups = [group([copied] * 4, [1.0] * 4),                                       # copies, identical, no variance
              group(["5 + 6 = 11", "12", "1 1 1 1", "11"], [1.0, 0.0, 0.0, 1.0], finish=["stop", "stop", "length", "length"])]
    s = step_signals(groups, copy_ngram=6)
    assert s["copy_frac"] == 0.5
    assert s["identical_frac"] == 3 / 8
    assert s["zero_var_frac"] == 0.5
    assert s["trunc_frac"] == 0.25
    assert s["paid_truncated_frac"] == pytest.approx(1 / 6)                          # 1 of 6 paid was cut
    assert s["pay"] == {"math": {"correct/boxed": 1.0}}
    assert s["entropy"] == pytest.approx(1.0)


@given(st.lists(st.lists(st.text(max_size=20), min_size=2, max_size=4), min_size=1, max_size=3))
def test_step_signals_are_fractions_on_any_text(texts):
    groups = [group(t, [float(i % 2) for i in range(len(t))]) for t in texts]
    s = step_signals(groups, copy_ngram=3)
    for key in ("copy_frac", "identical_frac", "zero_var_frac", "trunc_frac", "paid_truncated_frac"):
        assert 0.0 <= s[key] <= 1.0


class _Pool:
    def map(self, verifier, rows):
        return [verifier.score(r.pop("completion"), **r) for r in rows]


def test_score_groups_keeps_why_each_component_paid():
    reward = Composite([("math", 1.0, {}), ("format", 0.2, {"style": "boxed"})])
    g = Group(prompt_ids=[1], row={"answer": "11", "prompt": "p"},
              completions=[comp("so \\boxed{11}"), comp("it is 11"), comp("\\boxed{12}")])
    score_groups([g], reward, _Pool())
    assert [c.why for c in g.completions] == [{"math": "correct/boxed", "format": "boxed"},
                     {"math": "correct/last_number", "format": "not_boxed"},
                     {"math": "wrong/boxed", "format": "boxed"}]


def test_not_applicable_completions_are_never_paid_nor_split_a_group():
    g = group(["a", "b", "c"], [1.0, None, 1.0], finish=["stop", "length", "stop"])
    s = step_signals([g], copy_ngram=6)
    assert s["zero_var_frac"] == 1.0          # the scored completions all earned 1.0
    assert s["paid_truncated_frac"] == 0.0    # the truncated one was not applicable, so not paid
    assert s["pay"] == {"math": {"correct/boxed": 1.0}}
