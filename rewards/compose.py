"""Combine verifiers: `Composite` (weighted sum, every component reported) and `trl_reward` (any verifier
as a TRL-style reward function).

A composite is itself a `Verifier`, so it runs in a `RewardPool` like any other (one timeout covers all its
components). Components that return None (not applicable) are left out of the total; if all do, the
composite returns None. This module does not normalise weights or rewards.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .base import Score, Verifier
from .registry import make

__all__ = ["Composite", "trl_reward"]

Spec = tuple[str | Verifier, float, Mapping[str, Any]] | tuple[str | Verifier, float] | Mapping[str, Any]


def _component(spec: Spec) -> tuple[Verifier, float]:
    if isinstance(spec, Mapping):
        unknown = set(spec) - {"name", "weight", "options"}
        if unknown or "name" not in spec:
            raise ValueError(f"a component needs 'name' (and optional 'weight', 'options'); got keys {sorted(spec)}")
        name, weight, options = spec["name"], spec.get("weight", 1.0), spec.get("options", {})
    else:
        name, weight, options = (*spec, {}) if len(spec) == 2 else spec
    verifier = name if isinstance(name, Verifier) else make(name, **dict(options))
    return verifier, float(weight)


class Composite(Verifier):
    """Weighted sum of verifiers; `info["components"]` holds each component's reward (None if n/a).

    >>> c = Composite([("math", 1.0, {}), ("format", 0.2, {})])
    >>> s = c.score("so it is \\\\boxed{4}", answer="4")
    >>> s.reward, s.info["components"]
    (1.2, {'math': 1.0, 'format': 1.0})
    """

    name = "composite"

    def __init__(self, components: Iterable[Spec]) -> None:
        self.components: list[tuple[str, Verifier, float]] = []
        seen: dict[str, int] = {}
        for spec in components:
            verifier, weight = _component(spec)
            n = seen[verifier.name] = seen.get(verifier.name, 0) + 1
            label = verifier.name if n == 1 else f"{verifier.name}#{n}"
            self.components.append((label, verifier, weight))
        if not self.components:
            raise ValueError("a Composite needs at least one component")
        fields = dict.fromkeys(f for _, v, _ in self.components for f in v.required_fields)
        self.required_fields = tuple(fields)

    def score(self, completion: str, **row: Any) -> Score | None:
        total, parts, reasons, found, applied = 0.0, {}, {}, {}, False
        for label, verifier, weight in self.components:
            s = verifier.score(completion, **row)
            parts[label] = None if s is None else s.reward
            if s is not None:
                applied = True
                total += weight * s.reward
                reasons[label] = s.info["reason"]
                if "found_by" in s.info:  # where the answer was taken from (e.g. math: boxed, last_number)
                    found[label] = s.info["found_by"]
        if not applied:
            return None
        weights = {label: w for label, _, w in self.components}
        return Score(total, {"reason": "composite", "components": parts, "weights": weights, "reasons": reasons,
                                   "found_by": found})


def _text(completion: Any) -> str:
    """TRL passes plain strings, or chat messages (a list of {"role", "content"}): take the last content."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, Sequence) and completion and isinstance(completion[-1], Mapping):
        content = completion[-1].get("content", "")
        return content if isinstance(content, str) else str(content)
    return str(completion)


def trl_reward(verifier: Verifier | str, pool: Any = None, **options: Any):
    """Wrap a verifier as `(prompts, completions, **columns) -> list[float | None]` for TRL's GRPOTrainer.

    Columns that are lists as long as `completions` become the row's fields; other keyword arguments
    (TRL also passes e.g. `trainer_state`) are ignored. With a `RewardPool` the scoring runs there.

    >>> f = trl_reward("math")
    >>> f(prompts=["2+2?", "3+3?"], completions=["4", "The answer is 5"], answer=["4", "6"])
    [1.0, 0.0]
    """
    v = make(verifier, **options) if isinstance(verifier, str) else verifier

    def reward(prompts: Sequence[Any] | None = None, completions: Sequence[Any] = (), **columns: Any):
        n = len(completions)
        cols = {k: c for k, c in columns.items() if isinstance(c, list | tuple) and len(c) == n}
        rows = [{"completion": _text(c), **{k: col[i] for k, col in cols.items()}} for i, c in enumerate(completions)]
        for i, row in enumerate(rows):
            v.check_row(row, where=f"completion {i}")
        scores = pool.map(v, rows) if pool is not None else v.score_rows(rows)
        return [None if s is None else s.reward for s in scores]

    reward.__name__ = f"{v.name}_reward"
    reward.__qualname__ = reward.__name__
    return reward
