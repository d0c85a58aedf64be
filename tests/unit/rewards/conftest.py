"""Shared by the policy tests: the ids of a grading-policy table in rewards/README.md."""

import re
from pathlib import Path

import pytest

README = Path(__file__).parents[3] / "rewards" / "README.md"


@pytest.fixture
def readme_policy_ids():
    """`readme_policy_ids("M")` -> the set of row ids (M1, M2, ...) the README's policy tables list."""
    text = README.read_text()
    return lambda letter: set(re.findall(rf"^\| ({letter}\d+) \|", text, re.M))
