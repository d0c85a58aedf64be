"""The red-team sets `benchmarks/data/redteam_round*.jsonl`, each written blind to the code and to the sets
before it (round 1, before its fixes: math 15 FP / 13 FN, format 18 FP, tool_call 1 FP, json_schema 6 FP;
round 2: math 3 FP / 1 FN, json_schema 2 FN, format and tool_call none): every row is scored as labelled.
They are kept out of `benchmarks/reward_throughput.py`'s default run (not `hacks_*` names), so the bench's
figures stay comparable with earlier runs (`--sets` scores them); a next round must again be written without
reading them."""

import json
from pathlib import Path

import pytest

from rewards import make

DATA = sorted((Path(__file__).parents[3] / "benchmarks" / "data").glob("redteam_round*.jsonl"))
META = ("verifier", "category", "policy_id", "completion", "label", "note", "options", "round")
ROWS = [dict(json.loads(line), round=path.stem) for path in DATA
        for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_the_set_covers_every_verifier_both_ways():
    assert len(DATA) >= 2 and len(ROWS) >= 150
    for path in DATA:
        for verifier in ("math", "format", "tool_call", "json_schema"):
            labels = [r["label"] for r in ROWS if r["verifier"] == verifier and r["round"] == path.stem]
            assert 0 < sum(labels) < len(labels), (path.stem, verifier)


@pytest.mark.parametrize("row", ROWS, ids=[f"{r['round']}-{r['verifier']}-{i}-{r['category']}" for i, r in enumerate(ROWS)])
def test_row_is_scored_as_labelled(row):
    fields = {k: v for k, v in row.items() if k not in META}
    s = make(row["verifier"], **row.get("options", {})).score(row["completion"], **fields)
    assert (s is not None and s.reward == 1.0) == row["label"], (row["note"], s and s.info)
