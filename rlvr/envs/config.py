"""The `env:` section of a run config: which multi-turn environment runs, its budgets and timeouts.

It lives here, next to the episodes it configures (`rlvr.envs`, docs/environments.md); `rlvr.config` puts it in
`RunConfig` and loads it strictly like every other section. What this module does NOT do: run an episode.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from rlvr.config_schema import Section, require

__all__ = ["EnvConfig"]


@dataclass(frozen=True)
class EnvConfig(Section):
    """Multi-turn episodes (`rlvr.envs`): off while `name` is null (one completion per sample, as always)."""

    _name = "env"
    name: str | None = None         # a registered environment (`calculator`, `textarena`) or `module:Class`
    options: dict = field(default_factory=dict)
    max_turns: int = 4
    max_episode_tokens: int = 512   # model and observation tokens after the prompt; sampler.max_tokens is per turn
    reward_weight: float = 0.1      # weight of the environment's own rewards (component `env`)
    tool_timeout_s: float = 5.0
    step_timeout_s: float = 60.0
    strict: bool = True             # a broken token prefix (drift) stops the run; false: counted only

    def _check(self) -> None:
        require(self.name is None or bool(self.name), "env.name must be a non-empty string or null")
        require(self.max_turns >= 1, "env.max_turns must be >= 1")
        require(self.max_episode_tokens >= 1, "env.max_episode_tokens must be >= 1")
        require(math.isfinite(self.reward_weight), "env.reward_weight must be finite")
        require(self.tool_timeout_s > 0 and self.step_timeout_s > 0, "env.tool_timeout_s and env.step_timeout_s must be > 0")
