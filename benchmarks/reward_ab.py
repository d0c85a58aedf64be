"""Checks/s of each verifier, another git ref's `rewards/` against this tree's, same venv and same rows, in CPU
time: did a change to the verifiers cost throughput?

Each side runs in its own interpreter (`git archive REF rewards` unpacked into a temporary folder comes first
on its `sys.path`), scores every row of the labelled sets once to warm up, then `--passes` times; the best pass
in `time.process_time()` counts (CPU time, so other jobs on a shared machine matter less than in wall time).
The sides alternate `--runs` times. Rows whose completion is listed in `--skip` (a results JSON of
`reward_throughput.py --timeout-s`: its `rlvr_timeouts`) are left out on both sides: they never return.

    python benchmarks/reward_ab.py --ref main --sets benchmarks/data/redteam_round*.jsonl --out results/X.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_META = ("verifier", "category", "policy_id", "completion", "label", "note", "options")


def _side(sets: list[str], skip: list[str], passes: int) -> dict[str, float]:
    """In this interpreter: {verifier: checks/s of the best of `passes` passes, in CPU time}."""
    import rewards
    from rewards import make

    assert Path(rewards.__file__).parent.parent == Path.cwd(), rewards.__file__  # the side's own rewards/

    rows = [json.loads(line) for path in sets for line in Path(path).read_text(encoding="utf-8").splitlines()
            if line.strip()]
    skipped = set(skip)
    groups: dict[str, list] = {}
    for r in rows:
        if r["completion"][:120] not in skipped:
            fields = {k: v for k, v in r.items() if k not in _META}
            groups.setdefault(r["verifier"], []).append((make(r["verifier"], **r.get("options", {})),
                                                         r["completion"], fields))
    out = {}
    for name, group in sorted(groups.items()):
        for v, c, f in group:  # warm-up (imports, caches)
            v.score(c, **f)
        best = float("inf")
        for _ in range(passes):
            t0 = time.process_time()
            for v, c, f in group:
                v.score(c, **f)
            best = min(best, time.process_time() - t0)
        out[name] = len(group) / best
    return out


def _run_side(rewards_parent: str, args: argparse.Namespace, skip: list[str]) -> dict[str, float]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([rewards_parent, str(ROOT)]))
    cmd = [sys.executable, __file__, "--side", json.dumps({"sets": args.sets, "skip": skip, "passes": args.passes})]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True, cwd=rewards_parent)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ref", default="main")
    ap.add_argument("--sets", nargs="+", default=[])
    ap.add_argument("--skip", nargs="*", default=[], help="results JSONs whose rlvr_timeouts rows are left out")
    ap.add_argument("--passes", type=int, default=7)
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--out", default=str(ROOT / "results" / "reward_ab.json"))
    ap.add_argument("--side", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.side:
        spec = json.loads(args.side)
        print(json.dumps(_side(spec["sets"], spec["skip"], spec["passes"])))
        return
    args.sets = [str(Path(p).resolve()) for p in args.sets]
    skip = [c for path in args.skip for entry in json.loads(Path(path).read_text())["hacks"].values()
            for c in entry.get("rlvr_timeouts", [])]
    archive = subprocess.run(["git", "archive", args.ref, "rewards"], cwd=ROOT, capture_output=True, check=True).stdout
    load = [os.getloadavg()]
    runs = []
    with tempfile.TemporaryDirectory() as ref_dir:
        tarfile.open(fileobj=BytesIO(archive)).extractall(ref_dir, filter="data")
        for _ in range(args.runs):
            runs.append({"ref": _run_side(ref_dir, args, skip), "tree": _run_side(str(ROOT), args, skip)})
            load.append(os.getloadavg())
    per = {name: {"runs": [{side: round(r[side][name]) for side in r} for r in runs],
                  "ratio_tree_over_ref": round(sum(r["tree"][name] for r in runs) / sum(r["ref"][name] for r in runs), 3)}
           for name in runs[0]["ref"]}
    result = {"what": f"checks/s per verifier, {args.ref}'s rewards/ (ref) vs this tree (tree), best of {args.passes} "
                      f"passes in CPU time, {args.runs} alternating runs", "sets": [Path(p).name for p in args.sets],
              "rows_skipped": len(skip), "load_average": load, "cpu_time_best": per}
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps({k: v["ratio_tree_over_ref"] for k, v in per.items()}, indent=1))


if __name__ == "__main__":
    main()
