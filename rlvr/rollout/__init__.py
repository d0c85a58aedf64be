"""The rollout stage: prompts -> sampler actors (vLLM) -> groups of completions -> rewards.

`sampler` wraps one vLLM engine (and its Ray actor); `fleet` spreads a batch over the sampler actors,
survives their deaths and scores the groups with the `rewards` worker pool. Weights arrive through `rlvr.sync`.
"""
