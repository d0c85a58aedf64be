"""Benchmarks against the peers a user would pick instead: `python -m rlvr.bench rollout|step|sync|cluster`.

- `rollout`: tokens/s of rlvr's vLLM samplers vs Hugging Face `generate` (TRL's path without vLLM);
- `step`: seconds per GRPO step of rlvr vs TRL's `GRPOTrainer` (CPU, QLoRA, same work);
- `sync`: seconds to push a policy update to the samplers, and the sync check's logprob difference;
- `cluster`: no peer: a run split over a multi-node Ray cluster on this machine survives losing a node.

Each writes `results/<name>.json` and a PNG bar chart. Every figure is paired with a peer (or the
machine's own matmul peak) measured in the same run: these shared machines swing by 30% and more.
`--quick` runs a tiny model for CI. What this package does NOT do: assert performance targets (the
JSON carries ratios; `benchmarks/README.md` says what they mean).
"""
