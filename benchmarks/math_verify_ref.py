"""Math-Verify as the reward benchmark calls it, wrapped as a `Verifier` so that a `RewardPool` can give it the
same hard per-item timeout as rlvr's verifiers (`reward_throughput.py --timeout-s`): with its signal timeouts
off, Math-Verify never returns on some adversarial rows (`\\boxed{(10^{100})!}`). Not registered as a
verifier: the benchmark imports it by module name (its folder is on the path of the script and its workers).
"""

from __future__ import annotations

import logging
from typing import Any

from rewards import Score, Verifier


def math_verify_paid(completion: str, answer: str) -> bool:
    """`verify(parse("$gold$"), parse(completion))` as Math-Verify's README shows, its timeouts off."""
    from math_verify import parse, verify

    logging.getLogger("math_verify").setLevel(logging.ERROR)
    try:
        gold = parse(f"${answer}$", parsing_timeout=None)
        return bool(verify(gold, parse(completion, parsing_timeout=None), timeout_seconds=None))
    except Exception:
        return False


class MathVerifyReference(Verifier):
    """Reward 1.0 when Math-Verify pays the completion against `answer`."""

    name = "math_verify_reference"
    required_fields = ("answer",)

    def score(self, completion: str, **row: Any) -> Score:
        ok = math_verify_paid(completion, str(row["answer"]))
        return Score(float(ok), {"reason": "paid" if ok else "refused"})
