"""The `code` verifier: code extraction always; scoring in the `sandbox` package when it is available."""

import pytest

from rewards import make
from rewards.code import extract_code

try:
    from sandbox import Sandbox  # noqa: F401

    HAVE_SANDBOX = True
except ImportError:
    HAVE_SANDBOX = False

needs_sandbox = pytest.mark.skipif(not HAVE_SANDBOX, reason="sandbox.Sandbox not built yet")

ADD = "def add(a, b):\n    return a + b\n"


@pytest.mark.parametrize("text, entry_point, expected", [
    (f"Here:\n```python\n{ADD}```\nDone.", None, ADD),
    (ADD, None, ADD),
    (f"```py\nx = 1\n```\n```python\n{ADD}```", None, ADD),
    (f"```python\n{ADD}```\n```python\nprint(add(1, 2))\n```", "add", ADD),
])
def test_extract_code(text, entry_point, expected):
    assert extract_code(text, entry_point) == expected


CODE_TABLE = [
    (f"```python\n{ADD}```", ["assert add(1, 2) == 3", "assert add(-1, 1) == 0"], {}, 1.0, "pass"),
    ("```python\ndef add(a, b):\n    return a - b\n```", ["assert add(1, 2) == 3", "assert add(0, 0) == 0"],
     {}, 0.0, "fail"),
    ("```python\ndef add(a, b):\n    return a - b\n```", ["assert add(1, 2) == 3", "assert add(0, 0) == 0"],
     {"partial": True}, 0.5, "fail"),
    ("```python\ndef add(a, b):\n    while True: pass\n```", ["assert add(1, 2) == 3"], {"timeout": 1.0},
     0.0, "timeout"),
    (f"```python\n{ADD}```", "def check(candidate):\n    assert candidate(2, 2) == 4\n", {}, 1.0, "pass"),
    (f"```python\n{ADD}```", "if False:\n    assert add(1, 2) == 3\n", {"partial": True}, 0.0, "no_checks"),
    (f"```python\n{ADD}```", ["assert add(1, 2) == 3", "if False:\n    assert add(1, 1) == 5"], {"partial": True},
     0.5, "no_checks"),
    ("```python\nimport os, time\nif os.fork() == 0:\n    os.setsid()\n    time.sleep(30)\n" + ADD + "```",
     ["assert add(1, 2) == 3"], {"partial": True}, 0.0, "escaped_processes"),  # partial credit only for judged checks
]


@needs_sandbox
@pytest.mark.timeout(120)
@pytest.mark.parametrize("completion, tests, options, reward, status", CODE_TABLE, ids=range(len(CODE_TABLE)))
def test_code_table(completion, tests, options, reward, status):
    row = {"tests": tests}
    if isinstance(tests, str):
        row["entry_point"] = "add"
    s = make("code", **options).score(completion, **row)
    assert s.reward == pytest.approx(reward) and s.info["reason"] == status, s.info


def test_empty_code_scores_zero_without_a_sandbox():
    s = make("code").score("```python\n\n```", tests=["assert True"])
    assert (s.reward, s.info["reason"]) == (0.0, "no_code")
