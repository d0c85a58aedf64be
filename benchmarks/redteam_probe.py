"""Score a labelled set row by row in a RewardPool (2 workers, 20 s hard timeout); print mis-graded and slow rows.

How round 3's before-figures were taken (results/redteam_round3_before.json):
    python benchmarks/redteam_probe.py benchmarks/data/redteam_round3.jsonl [verifier]
"""
import json
import sys
import time

from rewards import RewardPool, make

META = ("verifier", "category", "policy_id", "completion", "label", "note", "options")
rows = [json.loads(line) for line in open(sys.argv[1], encoding="utf-8") if line.strip()]
only = sys.argv[2] if len(sys.argv) > 2 else None
bad = 0
with RewardPool(workers=2, timeout_s=20) as pool:
    for i, r in enumerate(rows):
        if only and r["verifier"] != only:
            continue
        fields = {k: v for k, v in r.items() if k not in META}
        v = make(r["verifier"], **r.get("options", {}))
        t0 = time.perf_counter()
        s = pool.map(v, [{"completion": r["completion"], **fields}])[0]
        dt = time.perf_counter() - t0
        paid = s is not None and s.reward == 1.0
        if paid != r["label"] or dt > 2:
            bad += paid != r["label"]
            print(f"{i:4d} {r['verifier'][:5]} {r['policy_id']:4s} label={r['label']!s:5} paid={paid!s:5} "
                  f"{s.info.get('reason') if s else None!s:18} {dt:5.1f}s {r['completion'][:90]!r} | {r['note'][:60]}")
print("mismatches", bad)
