"""The committed task files (configs/data/) fit the verifiers their configs name.

Every reference scores 1 with today's verifier (every call set BFCL accepts, the code solutions, the
schema examples, the GSM8K answers) and a wrong reply scores 0; held-out sets are >= 100 rows and share
no question with training; the build report's counts are the files' counts.
"""

import json
import random
from fractions import Fraction

import pytest

from rewards import make
from rlvr.config import configs_dir, load_config
from rlvr.data import prompts as data
from rlvr.data.checks import row_checker
from rlvr.data.sources.bfcl import expand_allowed

DATA = configs_dir() / "data"
TASKS = {"code": "code", "tool_call": "tool_call", "json_schema": "json_schema", "gsm": "math"}


def rows_of(name: str) -> list[dict]:
    return [json.loads(line) for line in (DATA / name).read_text(encoding="utf-8").splitlines()]


def sample(rows: list[dict], n: int, seed: int = 0) -> list[dict]:
    return random.Random(seed).sample(rows, min(n, len(rows)))


@pytest.mark.parametrize("config, verifier", TASKS.items())
def test_shipped_config_has_a_real_disjoint_held_out_set(config, verifier):
    cfg = load_config(config)
    assert verifier in [v.name for v in cfg.rewards.verifiers]
    train, evals = data.load_splits(cfg.data, check=row_checker([verifier]))
    assert len(evals) >= 100 and len(train) >= 100
    assert not {r["question"] for r in train} & {r["question"] for r in evals}
    assert not {r["id"] for r in train} & {r["id"] for r in evals}
    raw_train, raw_eval = data.file_rows(cfg.data.path), data.file_rows(cfg.data.eval_path)
    ids = [r["id"] for r in raw_train + raw_eval]
    assert len(ids) == len(set(ids))
    # disjoint as committed (so load_splits drops nothing), also by the task itself, not only its wording
    assert not {r["question"] for r in raw_train} & {r["question"] for r in raw_eval}
    def task(row):  # what is asked, apart from the wording (BFCL reuses tool lists with other requests)
        return json.dumps([row.get(k) for k in ("schema", "tests", "tools", "answer") if k in row], sort_keys=True)

    if verifier != "math":  # GSM8K answers are plain numbers shared by many problems
        assert not {task(r) for r in raw_train} & {task(r) for r in raw_eval}


def test_build_report_counts_are_the_files_counts():
    report = json.loads((DATA / "build_report.json").read_text())
    files = {name: count for part in report.values() for name, count in part.items()
             if name.endswith(".jsonl") and isinstance(count, int)}
    assert files == {p.name: len(rows_of(p.name)) for p in DATA.glob("*.jsonl")}
    for path in DATA.glob("*.jsonl"):
        assert path.stat().st_size < 1_500_000, path  # small files only


# -------------------------------------------------------------------------------------------- tool calls


def tool_rows() -> list[dict]:
    return rows_of("tool_call_train.jsonl") + rows_of("tool_call_eval.jsonl")


def test_every_bfcl_possible_answer_scores_1():
    v = make("tool_call")
    for row in tool_rows():
        replies = [json.dumps(calls) for calls in expand_allowed(row["answer_allowed"]) if calls]
        assert len(replies) <= 1, row["id"]  # shipped rows are those with one accepted call set
        # No call expected (irrelevance): a plain reply; an empty <tool_call> block is refused by policy.
        wrapped = [f"<tool_call>{r}</tool_call>" for r in replies]
        for reply in [*replies, *wrapped] if replies else ["None of these tools can answer that."]:
            assert v.score(reply, **row).reward == 1.0, (row["id"], reply)


def perturbed(calls: list[dict]) -> list[list[dict]]:
    """Wrong call sets: one argument changed, one argument dropped, one call missing, one call extra."""
    out = []
    first = calls[0]
    for name, value in first["arguments"].items():
        bad = "zzz" if not isinstance(value, str) else value + " (wrong)"
        out.append([{**first, "arguments": {**first["arguments"], name: bad}}, *calls[1:]])
        out.append([{**first, "arguments": {k: v for k, v in first["arguments"].items() if k != name}}, *calls[1:]])
        break
    out.append(calls[1:] if len(calls) > 1 else [])
    out.append([*calls, first] if len(calls) == 1 else calls[:-1] + [calls[0]])
    return out


def test_perturbed_bfcl_answers_score_0():
    v = make("tool_call")
    for row in tool_rows():
        if not row["answer"]:  # irrelevance: any call of a listed tool is wrong
            tool = row["tools"][0]["function"]["name"]
            assert v.score(json.dumps([{"name": tool, "arguments": {}}]), **row).reward == 0.0
            continue
        for calls in perturbed(row["answer"]):
            assert v.score(json.dumps(calls), **row).reward == 0.0, (row["id"], calls)


def test_bfcl_rows_cover_every_category_in_both_splits():
    for name in ("tool_call_train.jsonl", "tool_call_eval.jsonl"):
        cats = {r["category"] for r in rows_of(name)}
        assert cats == {"simple_python", "multiple", "parallel", "parallel_multiple", "irrelevance"}


# ------------------------------------------------------------------------------------------- JSON schema


def test_every_schema_example_scores_1_and_trivial_replies_score_0():
    v = make("json_schema")
    for row in rows_of("json_schema_train.jsonl") + rows_of("json_schema_eval.jsonl"):
        assert v.score(json.dumps(row["example"]), **row).reward == 1.0, row["id"]
        for trivial in ("{}", "[]", '""', "0", "null"):
            assert v.score(trivial, **row).reward == 0.0, (row["id"], trivial)


def test_json_schema_eval_files_are_not_trained_on():
    train, held = rows_of("json_schema_train.jsonl"), rows_of("json_schema_eval.jsonl")
    assert not {r["group"] for r in train} & {r["group"] for r in held}


# -------------------------------------------------------------------------------------------------- code


def code_rows() -> list[dict]:
    return rows_of("code_mbpp.jsonl") + rows_of("code_humaneval.jsonl")


def check_code(rows: list[dict]) -> None:
    v = make("code", timeout=30.0)  # correctness of the references, not their speed on a loaded machine
    for row in rows:
        good = v.score(f"```python\n{row['solution']}```", **row)
        assert good.reward == 1.0, (row["id"], good.info)
        wrong = f"```python\ndef {row['entry_point']}(*args, **kwargs):\n    return None\n```"
        assert v.score(wrong, **row).reward == 0.0, row["id"]


def test_a_sample_of_code_references_pass_and_stubs_fail():
    check_code(sample(rows_of("code_mbpp.jsonl"), 8) + sample(rows_of("code_humaneval.jsonl"), 8))


def test_mbpp_prompts_show_one_assert_and_hide_the_rest():
    for row in rows_of("code_mbpp.jsonl"):
        asserts = [t for t in row["tests"] if t.startswith("assert")] if isinstance(row["tests"], list) else [
            line for line in row["tests"].splitlines() if line.startswith("assert")]
        assert asserts[0] in row["question"] and len(asserts) >= 2, row["id"]
        assert not any(a in row["question"] for a in asserts[1:] if a != asserts[0]), row["id"]


@pytest.mark.slow
def test_every_code_reference_passes_and_every_stub_fails():
    check_code(code_rows())


# -------------------------------------------------------------------------------------------------- math


def check_gsm(rows: list[dict]) -> None:
    v = make("math")
    for row in rows:
        assert v.score(f"... so the answer is \\boxed{{{row['answer']}}}.", **row).reward == 1.0, row["id"]
        assert v.score(f"The final answer is {row['answer']}.", **row).reward == 1.0, row["id"]
        wrong = Fraction(row["answer"]) + 1
        wrong = str(wrong.numerator) if wrong.denominator == 1 else str(float(wrong))
        assert v.score(f"The final answer is {wrong}.", **row).reward == 0.0, row["id"]


def test_a_sample_of_gsm8k_answers_score_1():
    check_gsm(sample(rows_of("gsm8k_train.jsonl"), 100) + sample(rows_of("gsm8k_test.jsonl"), 100))


@pytest.mark.slow
def test_every_gsm8k_answer_scores_1():
    check_gsm(rows_of("gsm8k_train.jsonl") + rows_of("gsm8k_test.jsonl"))
