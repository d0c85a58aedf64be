"""The `code` verifier: run the completion's Python against the row's `tests` in the `sandbox` package.

The code is the last ```python (or ```py / bare ```) fenced block, or the whole completion when there is
no fence; with an `entry_point` the last block that defines it wins. Reward 1.0 only when every test passes
(`partial=True`: the fraction passed). It runs in the process's `sandbox.default_sandbox()`, created on first
use and reused, so a `RewardPool` worker keeps its warm sandbox workers across items.
What it does not do: isolate anything itself; all of that is `sandbox`'s job.
"""

from __future__ import annotations

import re
from typing import Any

from .base import Score, Verifier

__all__ = ["CodeVerifier", "extract_code"]

_FENCE = re.compile(r"```[ \t]*(python3?|py|)[ \t]*\n(.*?)```", re.S | re.I)


def extract_code(text: str, entry_point: str | None = None) -> str:
    """The code to run.

    >>> extract_code("Here:\\n```python\\ndef f():\\n    return 1\\n```\\nDone.")
    'def f():\\n    return 1\\n'
    """
    blocks = [body for _, body in _FENCE.findall(text)]
    if not blocks:
        return text
    if entry_point:
        defining = [b for b in blocks if re.search(rf"\bdef\s+{re.escape(entry_point)}\s*\(", b)]
        if defining:
            return defining[-1]
    return blocks[-1]


class CodeVerifier(Verifier):
    """Reward 1.0 when the code passes all of the row's `tests` (assert strings or test code), else 0.0.

    >>> v = CodeVerifier()  # doctest: +SKIP
    >>> v.score("```python\\ndef add(a, b):\\n    return a + b\\n```", tests=["assert add(1, 2) == 3"]).reward  # doctest: +SKIP
    1.0
    """

    name = "code"
    required_fields = ("tests",)

    def __init__(self, partial: bool = False, timeout: float = 5.0, sandbox_workers: int = 1) -> None:
        self.partial, self.timeout, self.sandbox_workers = partial, float(timeout), sandbox_workers

    def score(self, completion: str, **row: Any) -> Score:
        entry_point = row.get("entry_point") or None
        source = extract_code(completion, entry_point)
        if not source.strip():
            return Score(0.0, {"reason": "no_code"})
        from sandbox import default_sandbox

        result = default_sandbox(self.sandbox_workers).run_tests(
            source, row["tests"], entry_point=entry_point, timeout=self.timeout)
        passed, total = int(result.passed or 0), int(result.total or 0)
        if self.partial and total and result.status in ("pass", "fail", "no_checks"):  # judged checks only
            reward = passed / total
        else:
            reward = float(result.status == "pass")
        detail = result.detail if isinstance(result.detail, str) else str(result.detail)
        return Score(reward, {"reason": result.status, "passed": passed, "total": total, "detail": detail[:500]})
