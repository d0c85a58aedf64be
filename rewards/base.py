"""The verifier contract: `Score`, the `Verifier` base class and the row-field check.

A verifier scores ONE completion given the dataset row's fields and returns a `Score` (reward plus an info
dict that always names a `reason`) or `None` when it does not apply. Batching, parallelism and timeouts are
not a verifier's business: `rewards.pool.RewardPool` provides them, so a verifier stays a plain picklable
object that never touches signals, threads or processes.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

__all__ = ["Score", "Verifier", "MissingFieldError", "check_fields"]


@dataclass(frozen=True)
class Score:
    """A reward and why it was given.

    >>> Score(1.0, {"reason": "match"}).reward
    1.0
    """

    reward: float
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        reward = float(self.reward)
        if math.isnan(reward):
            raise ValueError("a reward must not be NaN")
        object.__setattr__(self, "reward", reward)
        if not isinstance(self.info, dict) or "reason" not in self.info:
            raise ValueError(f"Score.info must be a dict with a 'reason' key, got {self.info!r}")

    def to_dict(self) -> dict[str, Any]:
        return {"reward": self.reward, "info": self.info}


class MissingFieldError(KeyError):
    """A row lacks a field that a verifier needs; `field` names it, `where` says which row."""

    def __init__(self, field_name: str, verifier: str, where: str = "") -> None:
        self.field = field_name
        self.verifier = verifier
        self.where = where
        super().__init__(field_name)

    def __str__(self) -> str:
        at = f"{self.where}: " if self.where else ""
        return f"{at}missing field {self.field!r} required by verifier {self.verifier!r}"


def check_fields(verifier: Verifier, row: Mapping[str, Any], where: str = "") -> None:
    """Raise `MissingFieldError` naming the first field of `verifier.required_fields` absent from `row`.

    >>> from rewards.math_answer import MathVerifier
    >>> check_fields(MathVerifier(), {"completion": "4"})
    Traceback (most recent call last):
    ...
    rewards.base.MissingFieldError: missing field 'answer' required by verifier 'math'
    """
    for name in verifier.required_fields:
        if name not in row:
            raise MissingFieldError(name, verifier.name, where)


class Verifier:
    """Base class: subclasses set `name`, `required_fields` and implement `score`.

    Options go to `__init__` as keywords; an unknown option is a TypeError, so a typo in a config fails at
    start-up rather than silently scoring with defaults. Instances must be picklable (they travel to the
    worker processes of `RewardPool`).
    """

    name: ClassVar[str] = ""
    required_fields: ClassVar[tuple[str, ...]] = ()

    def __init__(self, **options: Any) -> None:
        if options:
            raise TypeError(f"verifier {self.name!r} got unknown options: {sorted(options)}")

    def score(self, completion: str, **row: Any) -> Score | None:
        raise NotImplementedError

    def __call__(self, completion: str, **row: Any) -> Score | None:
        return self.score(completion, **row)

    def check_row(self, row: Mapping[str, Any], where: str = "") -> None:
        check_fields(self, row, where)

    def score_rows(self, rows: Iterable[Mapping[str, Any]]) -> list[Score | None]:
        """Score rows (dicts with `completion` plus fields) one after another in this process.

        No timeout here: use `RewardPool.map` for untrusted or possibly slow inputs.
        """
        out = []
        for row in rows:
            fields = dict(row)
            completion = fields.pop("completion")
            out.append(self.score(completion, **fields))
        return out

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"
