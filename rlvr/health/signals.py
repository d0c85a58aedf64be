"""Per-step health signals from the scored groups: the numbers the monitors watch that metrics.jsonl did not have.

Every function is pure (lists in, numbers out) so it is tested on crafted groups without a model. The trainer
logs `step_signals(...)` under `health/` in each step's metrics line. What this module does NOT do: judge the
numbers (`monitors`) or read the run's config.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rlvr.types import Group

__all__ = ["copies_prompt", "entropy", "identical_frac", "mean_se", "pay_mix", "step_signals", "truncated"]


def mean_se(values: Sequence[float]) -> tuple[float, float]:
    """(mean, standard error of the mean: sample std / sqrt(n)); the error is 0 below two values."""
    n = len(values)
    if n == 0:
        return 0.0, 0.0
    mean = sum(values) / n
    if n < 2:
        return mean, 0.0
    return mean, (sum((v - mean) ** 2 for v in values) / (n - 1) / n) ** 0.5


def truncated(completion: Any) -> bool:
    """The sampler stopped the completion at max_tokens."""
    return getattr(completion, "finish_reason", "") == "length"


def identical_frac(texts: Sequence[str]) -> float:
    """Fraction of a group's completions that repeat another one of the group (0: all differ, (G-1)/G: all equal)."""
    if not texts:
        return 0.0
    return (len(texts) - len(set(t.strip() for t in texts))) / len(texts)


def _ngrams(words: Sequence[str], n: int) -> set[tuple[str, ...]]:
    return {tuple(words[i:i + n]) for i in range(len(words) - n + 1)}


def copies_prompt(completion: str, prompt: str, n: int) -> bool:
    """The completion contains `n` words in a row that also stand in a row in the prompt (system prompt and
    chat template included): e.g. the system prompt's worked example pasted back as the answer."""
    words = completion.split()
    if len(words) < n:
        return False
    return not _ngrams(words, n).isdisjoint(_ngrams(prompt.split(), n))


def entropy(logprobs: Sequence[Sequence[float]]) -> float:
    """Mean -logprob of the sampled tokens: an unbiased estimate of the sampling distribution's per-token entropy
    (E[-log p(x)] over x ~ p), from the logprobs the sampler already returns. 0 when there are no tokens."""
    n = sum(len(lp) for lp in logprobs)
    return -sum(sum(lp) for lp in logprobs) / n if n else 0.0


def pay_mix(whys: Sequence[dict[str, str]], components: Sequence[dict[str, float | None]]) -> dict[str, dict[str, float]]:
    """Per component, the share of each reason among the completions it paid (component > 0).

    `whys[i]` maps a component to why it scored completion i (`correct/boxed`, `correct/last_number`, `boxed`)."""
    counts: dict[str, Counter] = {}
    for why, comp in zip(whys, components, strict=True):
        for name, value in comp.items():
            if value is not None and value > 0:
                counts.setdefault(name, Counter())[why.get(name, "?")] += 1
    return {name: {reason: k / sum(c.values()) for reason, k in sorted(c.items())} for name, c in counts.items()}


def step_signals(groups: Sequence[Group], *, copy_ngram: int) -> dict[str, Any]:
    """The `health/...` numbers of one step from its scored groups (`rlvr.types.Group`s whose completions
    `rlvr.rollout.fleet.score_groups` filled). A "not applicable" completion (reward None) is never paid, and
    a group's zero variance is judged over its scored completions."""
    comps = [c for g in groups for c in g.completions]
    n = max(len(comps), 1)
    paid = [c for c in comps if c.reward is not None and c.reward > 0]
    return {
        "trunc_frac": sum(map(truncated, comps)) / n,
        "identical_frac": sum(identical_frac([c.text for c in g.completions]) * len(g.completions) for g in groups) / n,
        "copy_frac": sum(copies_prompt(c.text, g.prompt, copy_ngram) for g in groups for c in g.completions) / n,
        "entropy": entropy([c.logprobs for c in comps]),
        "zero_var_frac": sum(len({r for r in g.rewards if r is not None}) <= 1 for g in groups) / max(len(groups), 1),
        "paid_truncated_frac": sum(map(truncated, paid)) / len(paid) if paid else 0.0,
        "pay": pay_mix([c.why for c in comps], [c.components for c in comps]),
    }
