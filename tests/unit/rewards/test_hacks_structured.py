"""The labelled hacking sets for `tool_call` and `json_schema` (benchmarks/data/hacks_*.jsonl): every row is
scored as labelled (label true: full reward; false: not paid). Rows name their own verifier; fields other
than verifier/category/completion/label/note/options are the verifier's row fields; `options` (optional) are
the verifier's constructor options."""

import json
from pathlib import Path

import pytest

from rewards import make

DATA = Path(__file__).parents[3] / "benchmarks" / "data"
META = ("verifier", "category", "completion", "label", "note", "options")
ROWS = [json.loads(line) for name in ("hacks_tool_call.jsonl", "hacks_json_schema.jsonl")
        for line in (DATA / name).read_text(encoding="utf-8").splitlines() if line.strip()]


def test_the_sets_are_large_and_balanced_enough():
    assert len(ROWS) >= 150
    for verifier in ("tool_call", "json_schema"):
        labels = [r["label"] for r in ROWS if r["verifier"] == verifier]
        assert sum(labels) >= 30 and len(labels) - sum(labels) >= 45
    assert all(set(META) - {"options"} <= set(r) and isinstance(r["label"], bool) for r in ROWS)


@pytest.mark.parametrize("row", ROWS, ids=[f"{r['verifier']}-{i}-{r['category']}" for i, r in enumerate(ROWS)])
def test_row_is_scored_as_labelled(row):
    fields = {k: v for k, v in row.items() if k not in META}
    s = make(row["verifier"], **row.get("options", {})).score(row["completion"], **fields)
    assert (s.reward == 1.0) is row["label"], (row["note"], s.info)
