"""The `math` verifier: is the completion's final answer equal to the row's `answer`?

Comparison ladder, cheapest first: multiple-choice letters; exact rationals (Python `Fraction`, so big
integers are never compared as floats; percent means x or x/100; a decimal of 3+ places may round the gold);
then a structure check (a tuple is not a set is not an interval), then sympy through Math-Verify (radicals, pi, sets vs tuples vs intervals, matrices, equations) with its
signal-based timeouts switched off, after a screen (`is_safe`) that keeps exponent towers and huge
factorials away from sympy; last, normalised string equality (e.g. "Monday").
What it does not do: time itself out. Run it under `RewardPool` for a hard per-item timeout.
"""

from __future__ import annotations

import logging
from fractions import Fraction
from typing import Any

from .base import Score, Verifier
from .math_extract import as_number, choice_letter, extract_answer, is_safe, normalize
from .registry import register

__all__ = ["MathVerifier"]


def _quiet_math_verify():
    import math_verify

    for name in ("math_verify", "math_verify.parser", "math_verify.grader", "math_verify.utils"):
        logging.getLogger(name).setLevel(logging.ERROR)
    return math_verify


def _numbers_equal(gold: Fraction, pred: Fraction, gold_pct: bool, pred_pct: bool, pred_text: str) -> bool:
    golds = {gold, gold / 100} if gold_pct else {gold}
    preds = {pred, pred / 100} if pred_pct else {pred}
    if golds & preds:
        return True
    if not pred_pct and "." in pred_text and "e" not in pred_text.lower():
        places = len(pred_text.split(".")[1])
        if places >= 3:  # 0.333 for 1/3: the prediction rounded the gold
            return any(round(g, places) == pred for g in golds)
    return False


@register("math")
class MathVerifier(Verifier):
    """Reward 1.0 when the completion's final answer equals the row's `answer`, else 0.0.

    >>> v = MathVerifier()
    >>> v.score("7*8 = 56 ... The final answer is 56.", answer="56").reward
    1.0
    >>> v.score("so $\\\\boxed{\\\\frac{\\\\sqrt{2}}{2}}$", answer="1/\\\\sqrt{2}").reward
    1.0
    >>> v.score("I think 50%", answer="0.5").info["reason"]
    'correct'

    Options: `last_number` (fall back to the last number in the text, default True).
    """

    name = "math"
    required_fields = ("answer",)

    def __init__(self, last_number: bool = True) -> None:
        self.last_number = last_number

    def score(self, completion: str, **row: Any) -> Score:
        gold_raw = str(row["answer"])
        gold, gold_pct = normalize(gold_raw)
        if _CHOICE_GOLD(gold):
            return self._score_choice(completion, gold.strip("()"))
        found, how = extract_answer(completion, last_number=self.last_number)
        pred, pred_pct = normalize(found) if found is not None else ("", False)
        if not pred:
            return Score(0.0, {"reason": "no_answer", "found_by": how})
        info = {"extracted": pred[:200], "found_by": how}
        ok, via = self.equal(gold, gold_pct, pred, pred_pct)
        return Score(float(ok), {"reason": "correct" if ok else "wrong", "compared_by": via, **info})

    def _score_choice(self, completion: str, gold: str) -> Score:
        found, how = extract_answer(completion, last_number=False)
        letter = choice_letter(completion, found)
        if letter is None:
            return Score(0.0, {"reason": "no_answer", "compared_by": "choice"})
        ok = letter == gold
        return Score(float(ok), {"reason": "correct" if ok else "wrong", "compared_by": "choice",
                                 "extracted": letter, "found_by": how})

    @staticmethod
    def equal(gold: str, gold_pct: bool, pred: str, pred_pct: bool) -> tuple[bool, str]:
        """(equal?, which rung decided) for two normalised answers."""
        g, p = as_number(gold), as_number(pred)
        if g is not None and p is not None:
            return _numbers_equal(g, p, gold_pct, pred_pct, pred), "exact"
        if gold == pred:
            return True, "string"
        if _shape(gold) != _shape(pred) and None not in (_shape(gold), _shape(pred)):
            return False, "structure"  # a tuple is not a set is not an interval
        if not (is_safe(gold) and is_safe(pred)):
            return False, "unsafe_expression"
        mv = _quiet_math_verify()
        try:
            gp = mv.parse(f"${gold}$", parsing_timeout=None)
            pp = mv.parse(f"${pred}$", parsing_timeout=None)
            if gp and pp:
                return bool(mv.verify(gp, pp, timeout_seconds=None)), "sympy"
        except Exception:  # math_verify raises on odd sympy corners; fall through to strings
            pass
        return _casefold(gold) == _casefold(pred), "string"


def _shape(s: str) -> str | None:
    """The outer delimiters of a collection ("set", "()", "[)", ...), or None for a non-collection."""
    t = s.replace(" ", "")
    if "," not in t:
        return None
    if t.startswith("\\{") and t.endswith("\\}"):
        return "set"
    if t[:1] in "([" and t[-1:] in ")]":
        return t[0] + t[-1]
    return None


def _casefold(s: str) -> str:
    return "".join(s.split()).casefold().rstrip(".")


def _CHOICE_GOLD(gold: str) -> bool:  # noqa: N802 - reads like a predicate constant
    return len(gold.strip("()")) == 1 and gold.strip("()") in "ABCDE" and len(gold) <= 3
