"""Multi-turn environments: the policy acts over several turns (calls tools, plays a game), sees what comes back,
and is trained on the whole episode, token for token as sampled.

    base     the contract (`Environment.reset/step`, `StepResult`), tool calls in the worker pool, the registry
    episode  token-in/token-out episodes: sampled ids + observation ids, the loss mask, the prefix invariant
    rollout  G episodes per prompt advancing turn by turn on the samplers; scoring and per-step metrics
    calculator, textarena   an in-repo tool environment and an adapter for third-party games

Guide: docs/environments.md. Plugins: entry points in the group `rlvr.envs`.
"""

from rlvr.envs.base import (
    Environment,
    StepResult,
    ToolFailure,
    ToolRunner,
    UnknownEnvironmentError,
    available,
    make,
    register,
)
from rlvr.envs.episode import DriftError, Episode, ObservationRenderer

__all__ = ["DriftError", "Environment", "Episode", "ObservationRenderer", "StepResult", "ToolFailure", "ToolRunner",
           "UnknownEnvironmentError", "available", "make", "register"]
