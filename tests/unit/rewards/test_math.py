"""The `math` verifier: a table of (completion, answer, expected), adversarial inputs, and the labelled set
side by side with Math-Verify."""

import json
import logging
from pathlib import Path

import pytest

from rewards.math_answer import MathVerifier
from rewards.math_extract import extract_answer
from rewards.math_normalize import as_number, is_safe, normalize

V = MathVerifier()
LABELLED = Path(__file__).parents[3] / "benchmarks" / "data" / "math_labelled.jsonl"

TABLE = [
    # SmolLM2-135M's style on reasoning-gym arithmetic
    ("7*8 = 56 ... The final answer is 56.", "56", 1.0),
    ("7*8 = 56 ... The final answer is 57.", "56", 0.0),
    ("3 + 4 = 7. Then 7 * 2 = 14. The answer is 14.", "14", 1.0),
    ("We get -12 + 5 = -7. The final answer is -7.", "-7", 1.0),
    ("The answer is 1,234.", "1234", 1.0),
    ("#### 72", "72", 1.0),
    ("\\boxed{3} no wait \\boxed{5}", "5", 1.0),
    ("\\boxed{\\frac{1}{2}}", "0.5", 1.0),
    ("\\boxed{0.333}", "1/3", 1.0),
    ("\\boxed{0.3}", "1/3", 0.0),
    ("\\boxed{2\\sqrt{3}}", "\\sqrt{12}", 1.0),
    ("\\boxed{\\pi/2}", "\\frac{\\pi}{2}", 1.0),
    ("The answer is 50%.", "0.5", 1.0),
    ("The answer is 40%.", "0.5", 0.0),
    ("\\boxed{\\$18.50}", "18.5", 1.0),
    ("The answer is 45 minutes.", "45", 1.0),
    ("\\boxed{1.5 \\times 10^{3}}", "1500", 1.0),
    ("\\boxed{1.5e3}", "1500", 1.0),
    ("\\boxed{x=5}", "5", 1.0),
    ("\\boxed{(1, 2)}", "(1,2)", 1.0),
    ("\\boxed{\\{1, 2\\}}", "(1,2)", 0.0),
    ("\\boxed{(1, 2)}", "[1,2)", 0.0),
    ("\\boxed{\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}}", "\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}", 1.0),
    ("The answer is (B).", "B", 1.0),
    ("The answer is (C).", "B", 0.0),
    ("The answer is 12345678901234567890124.", "12345678901234567890123", 0.0),
    ("\\boxed{9007199254740993}", "9007199254740992", 0.0),
    ("\\boxed{\\text{Monday}}", "Monday", 1.0),
    ("no idea", "5", 0.0),
]


@pytest.mark.parametrize("completion, answer, expected", TABLE)
def test_table(completion, answer, expected):
    s = V.score(completion, answer=answer)
    assert s.reward == expected, s.info
    assert s.info["reason"] in {"correct", "wrong", "no_answer"}


def test_numeric_answer_field_and_no_fallback_option():
    assert V.score("so 4", answer=4).reward == 1.0
    s = MathVerifier(last_number=False).score("so 4", answer="4")
    assert (s.reward, s.info["reason"]) == (0.0, "no_answer")


def test_extraction_and_normalisation():
    assert extract_answer("#### 1,000") == ("1,000", "hashes")
    assert extract_answer("nothing here") == (None, "none")
    assert normalize("\\text{ } 12 \\text{ cm}")[0] == "12"
    assert as_number("12345678901234567890123") == 12345678901234567890123  # exact, not a float
    assert as_number("x+1") is None


ADVERSARIAL = [
    "\\boxed{2^{2^{2^{2^{2^{2^{2}}}}}}}",
    "\\boxed{9^{9^{9^{9}}}}",
    "\\boxed{10^{10^{10}}}",
    "\\boxed{2**2**2**2**2**2}",
    "\\boxed{2^{999999999}}",
    "\\boxed{1000000!}",
    "\\boxed{" + "(" * 5000 + "1" + ")" * 5000 + "}",
    "\\boxed{" + "\\frac{1}{" * 300 + "2" + "}" * 300 + "}",
    "\\boxed{" + "\\sqrt{" * 300 + "2" + "}" * 300 + "}",
    "The answer is " + "9" * 100_000,
    "1+" * 200_000 + "1",
    "\\boxed{" * 20_000,
    # red-team round 1: the hidden/struck-text passes must stay linear (each of these was seconds to a minute
    # with one unbounded regex)
    "<a " * 30_000, "<s>" * 30_000, "<del x" * 20_000, "~~x " * 30_000, "{\\color{white}" * 20_000,
    "\\textcolor{red}{" * 20_000, "7\u00b2" * 50_000,
]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("completion", ADVERSARIAL, ids=range(len(ADVERSARIAL)))
def test_adversarial_inputs_return_a_score(completion):
    """These hang sympy/Math-Verify (towers, Math-Verify #65); here they must come back as a wrong answer."""
    s = V.score(completion, answer="5")
    assert s.reward == 0.0


def test_safety_screen():
    assert not is_safe("2^{2^{2^{2}}}")
    assert not is_safe("10^{100000}")
    assert is_safe("2^{10} + \\sqrt{2}")


def test_labelled_set_at_least_as_accurate_as_math_verify():
    """The issue's bar: on our labelled set (>= 150 true and false pairs) at least Math-Verify's accuracy."""
    from math_verify import parse, verify

    logging.getLogger("math_verify").setLevel(logging.ERROR)
    rows = [json.loads(line) for line in LABELLED.read_text().splitlines() if line.strip()]
    assert len(rows) >= 150 and 0 < sum(r["label"] for r in rows) < len(rows)

    def mv(r):
        try:
            gold = parse(f"${r['answer']}$", parsing_timeout=None)
            return bool(verify(gold, parse(r["completion"], parsing_timeout=None), timeout_seconds=None))
        except Exception:
            return False

    ours = sum((V.score(r["completion"], answer=r["answer"]).reward == 1.0) == r["label"] for r in rows)
    theirs = sum(mv(r) == r["label"] for r in rows)
    assert ours >= theirs, (ours, theirs)
    assert ours / len(rows) >= 0.95
