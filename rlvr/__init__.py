"""rlvr: reinforcement learning with verifiable rewards.

The engine: config, data, samplers (vLLM), GRPO math, a QLoRA learner, verified weight sync and the
run loop. Rewards live in the `rewards` package and untrusted code runs in `sandbox`; this package
depends on both, never the other way round.
"""

__version__ = "0.1.0"
