"""The red-team round-1 set `benchmarks/data/redteam_round1.jsonl` (written blind to the in-sample hacking
sets; before its fixes: math 15 FP / 13 FN, format 18 FP, tool_call 1 FP, json_schema 6 FP): every row is
scored as labelled. It is kept out of `benchmarks/reward_throughput.py` (not a `hacks_*` name), so the
bench's figures stay comparable with earlier runs; a round 2 must again be written without reading it."""

import json
from pathlib import Path

import pytest

from rewards import make

DATA = Path(__file__).parents[3] / "benchmarks" / "data" / "redteam_round1.jsonl"
META = ("verifier", "category", "policy_id", "completion", "label", "note", "options")
ROWS = [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_the_set_covers_every_verifier_both_ways():
    assert len(ROWS) >= 150
    for verifier in ("math", "format", "tool_call", "json_schema"):
        labels = [r["label"] for r in ROWS if r["verifier"] == verifier]
        assert 0 < sum(labels) < len(labels), verifier


@pytest.mark.parametrize("row", ROWS, ids=[f"{r['verifier']}-{i}-{r['category']}" for i, r in enumerate(ROWS)])
def test_row_is_scored_as_labelled(row):
    fields = {k: v for k, v in row.items() if k not in META}
    s = make(row["verifier"], **row.get("options", {})).score(row["completion"], **fields)
    assert (s is not None and s.reward == 1.0) == row["label"], (row["note"], s and s.info)
