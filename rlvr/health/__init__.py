"""Run health: what a person watching a GRPO run needs to know while it runs, and after.

- `signals`: per-step numbers computed from the scored groups (truncation, identical completions, prompt copy,
  sampled-token entropy, zero-variance groups, why each verifier paid) -> the `health/...` metrics;
- `monitors`: pure rules over the metrics lines (reward hacking, verbosity drift, collapse, capability
  regression), each a documented rule (docs/health.md) returning a `Finding` when it fires;
- `watch`: the run loop's hook: de-duplicates findings, warns once, says whether to stop;
- `console`: the lines a person reads (start-up, one line per step, the final summary table);
- `report`: `python -m rlvr.report RUN_DIR` rebuilds report.md + PNGs from metrics.jsonl, crashed runs included.

What this package does NOT do: change training (a monitor only warns, or stops the run when configured to).
"""
