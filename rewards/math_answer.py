"""The `math` verifier: is the completion's final answer equal to the row's `answer`?

The final answer is the last committed statement a reader sees (`math_extract.final_answer`); it is first
screened (`math_policy.refusal`: hedges, struck or negated values, relations, NaN, value-changing words),
and every other box left standing must agree with the gold, or the completion is a hedge.
Comparison ladder, cheapest first: multiple-choice letters; exact rationals (Python `Fraction`, so big
integers are never compared as floats; a `%` is x/100, and a percent gold also accepts its number of percent;
a decimal with 3+ significant figures may round a rational gold); sets and bare lists as sets; inequalities
as intervals; an equation only when every side equals the gold; then a structure check (a tuple is not a
set is not an interval), then sympy through Math-Verify (radicals, pi, tuples, intervals, matrices) with its
signal-based timeouts switched off, after a screen (`is_safe`) that keeps exponent towers and huge
factorials away from sympy; last, normalised string equality (e.g. "Monday").
What it does not do: time itself out. Run it under `RewardPool` for a hard per-item timeout. The policy
table, row by row, is in `rewards/README.md` ("Grading policy").
"""

from __future__ import annotations

import logging
import re
from fractions import Fraction
from typing import Any

from .base import Score, Verifier
from .math_extract import final_answer
from .math_normalize import as_number, choice_letter, is_safe, normalize
from .math_policy import as_interval, as_list, elements, is_relation, refusal

__all__ = ["MathVerifier"]


def _quiet_math_verify():
    import math_verify

    for name in ("math_verify", "math_verify.parser", "math_verify.grader", "math_verify.utils"):
        logging.getLogger(name).setLevel(logging.ERROR)
    return math_verify


_MAX_STANDING = 16  # more distinct boxes than this is a hedge without asking sympy about each
_DECIMAL = re.compile(r"^[-+]?\d*\.\d+$")


def _numbers_equal(gold: Fraction, pred: Fraction, gold_pct: bool, pred_pct: bool, pred_text: str) -> bool:
    """Exact, or a correct rounding with >= 3 significant figures (so `0.000` never rounds a small gold)."""
    golds = {gold, gold / 100} if gold_pct and not pred_pct else {gold}
    shift = 2 if pred_pct and not gold_pct else 0  # 50% against a plain gold is 0.5, never 50
    value = pred / 100 if shift else pred
    if value in golds:
        return True
    if _DECIMAL.match(pred_text):
        digits = pred_text.lstrip("+-").replace(".", "").lstrip("0")
        places = len(pred_text.split(".")[1]) + shift
        if len(digits) >= 3:  # 0.333 for 1/3: the prediction rounded the gold
            return any(round(g, places) == value for g in golds)
    return False


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
        got = final_answer(completion, last_number=self.last_number)
        pred, pred_pct = normalize(got.answer) if got.answer is not None else ("", False)
        if not pred:
            reason = got.how if got.how in ("retracted", "truncated") else "no_answer"
            return Score(0.0, {"reason": reason, "found_by": got.how})
        if elements(gold) is not None:  # a list of solutions: "x = \pm 2", "x = 2 or x = -2" are lists too
            pred = as_list(pred)
        info = {"extracted": pred[:200], "found_by": got.how}
        why = refusal(pred, gold) or ("nan" if refusal(gold, gold) == "nan" else None)
        if why:
            return Score(0.0, {"reason": why, **info})
        ok, via = self.equal(gold, gold_pct, pred, pred_pct)
        if ok and (len(got.standing) > _MAX_STANDING
                   or any(not self._agrees(gold, gold_pct, other) for other in got.standing)):
            return Score(0.0, {"reason": "hedge", "compared_by": via, **info})
        return Score(float(ok), {"reason": "correct" if ok else "wrong", "compared_by": via, **info})

    def _agrees(self, gold: str, gold_pct: bool, answer: str) -> bool:
        pred, pred_pct = normalize(answer)
        return refusal(pred, gold) is None and self.equal(gold, gold_pct, pred, pred_pct)[0]

    def _score_choice(self, completion: str, gold: str) -> Score:
        got = final_answer(completion, last_number=False)
        letter, several = choice_letter(completion, got.answer)
        others = {choice_letter("", other)[0] for other in got.standing} - {letter}
        hedged = got.answer is not None and refusal(normalize(got.answer)[0], gold) == "hedge"
        if several or (letter is not None and others) or (letter is None and hedged):
            return Score(0.0, {"reason": "hedge", "compared_by": "choice", "found_by": got.how})
        if letter is None:
            reason = got.how if got.how in ("retracted", "truncated") else "no_answer"
            return Score(0.0, {"reason": reason, "compared_by": "choice"})
        ok = letter == gold
        return Score(float(ok), {"reason": "correct" if ok else "wrong", "compared_by": "choice",
                                 "extracted": letter, "found_by": got.how})

    @classmethod
    def equal(cls, gold: str, gold_pct: bool, pred: str, pred_pct: bool) -> tuple[bool, str]:
        """(equal?, which rung decided) for two normalised answers."""
        g, p = as_number(gold), as_number(pred)
        if g is not None and p is not None:
            return _numbers_equal(g, p, gold_pct, pred_pct, pred), "exact"
        if gold == pred:
            return True, "string"
        ge, pe = elements(gold), elements(pred)
        if ge is not None and pe is not None:  # sets and bare lists of solutions: order and repeats free
            if len(ge) * len(pe) > 4096:  # a huge set: compared as strings, never pair by pair through sympy
                return set(ge) == set(pe), "set"
            same = all(any(cls.equal(a, False, b, False)[0] for b in ge) for a in pe) and \
                all(any(cls.equal(a, False, b, False)[0] for b in pe) for a in ge)
            return same, "set"
        if is_relation(pred) or is_relation(gold):
            return cls._relation_equal(gold, pred)
        return cls._sympy_equal(gold, pred)

    @classmethod
    def _relation_equal(cls, gold: str, pred: str) -> tuple[bool, str]:
        """Inequalities as intervals; `a = b = gold` only when every side equals the gold; never one side."""
        gi, pi = as_interval(gold), as_interval(pred)
        if gi is not None and pi is not None and (gi != gold or pi != pred):
            return cls._sympy_equal(gi, pi)[0], "interval"
        if _INEQUALITY(pred) and pi is None:
            return False, "relation"
        if "=" in gold or "=" not in pred:
            return cls._sympy_equal(gold, pred)
        sides = [side.strip() for side in pred.split("=")]
        if sides and _VARIABLE(sides[0]):
            sides = sides[1:]
        ok = all(side and refusal(side, gold) is None and cls.equal(gold, False, side, False)[0] for side in sides)
        return ok, "equation"

    @staticmethod
    def _sympy_equal(gold: str, pred: str) -> tuple[bool, str]:
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


def _INEQUALITY(s: str) -> bool:  # noqa: N802 - reads like a predicate constant
    return re.search(r"[<>≤≥]|\\(?:leq?|geq?|lt|gt|leqslant|geqslant)\b", s) is not None


def _VARIABLE(s: str) -> bool:  # noqa: N802 - reads like a predicate constant
    return re.fullmatch(r"[A-Za-z](?:_\{?\w+\}?)?|[A-Za-z]\([A-Za-z]\)", s) is not None


def _casefold(s: str) -> str:
    return "".join(s.split()).casefold().rstrip(".")


def _CHOICE_GOLD(gold: str) -> bool:  # noqa: N802 - reads like a predicate constant
    return len(gold.strip("()")) == 1 and gold.strip("()") in "ABCDE" and len(gold) <= 3
