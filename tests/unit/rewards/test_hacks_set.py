"""The labelled hacking set `benchmarks/data/hacks_math.jsonl`: at most 1% false positives per verifier, and
no row that should be paid refused where Math-Verify pays it (the bar of issue 18)."""

import json
import logging
from pathlib import Path

from rewards import make

DATA = Path(__file__).parents[3] / "benchmarks" / "data" / "hacks_math.jsonl"
META = ("verifier", "category", "completion", "label", "note", "options")


def _rows():
    return [json.loads(line) for line in DATA.read_text().splitlines() if line.strip()]


def _paid(row) -> bool:
    fields = {k: v for k, v in row.items() if k not in META}
    s = make(row["verifier"], **row.get("options", {})).score(row["completion"], **fields)
    return s is not None and s.reward == 1.0


def test_the_set_is_labelled_both_ways():
    rows = _rows()
    assert len(rows) >= 200
    for verifier in ("math", "format"):
        labels = [r["label"] for r in rows if r["verifier"] == verifier]
        assert 0 < sum(labels) < len(labels), verifier
    assert all(isinstance(r["label"], bool) and r["category"] and "note" in r for r in rows)


def test_at_most_one_percent_false_positives_per_verifier():
    rows = _rows()
    for verifier in ("math", "format"):
        refused = [r for r in rows if r["verifier"] == verifier and not r["label"]]
        paid = [r["completion"] for r in refused if _paid(r)]
        assert len(paid) <= 0.01 * len(refused), (verifier, paid)


def test_no_fair_form_refused_that_math_verify_pays():
    from math_verify import parse, verify

    logging.getLogger("math_verify").setLevel(logging.ERROR)
    refused = []
    for r in _rows():
        if r["verifier"] != "math" or not r["label"] or _paid(r):
            continue
        try:
            theirs = verify(parse(f"${r['answer']}$", parsing_timeout=None),
                            parse(r["completion"], parsing_timeout=None), timeout_seconds=None)
        except Exception:
            theirs = False
        if theirs:
            refused.append(r["completion"])
    assert not refused
