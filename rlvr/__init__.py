"""rlvr: reinforcement learning with verifiable rewards.

The engine, one sub-package per stage of the loop, in the order data flows:
`data` (prompt rows) -> `rollout` (vLLM samplers, groups of completions, rewards) -> `learn` (GRPO math, the
QLoRA learner) -> `sync` (weights back to the samplers, checked) ; `run` drives the loop (CLI, trainer, actors,
run folder). Shared by every stage: `config` (one frozen dataclass per stage) and `model` (a model name ->
a local folder). `bench` measures rlvr against its peers. Rewards live in the `rewards` package and untrusted code runs in `sandbox`; this package
depends on both, never the other way round.
"""

__version__ = "0.1.0"
