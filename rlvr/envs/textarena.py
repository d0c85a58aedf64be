"""Run a single-player TextArena game (`pip install 'rlvr[envs]'`: textarena 0.7.4) unmodified as an environment.

The adapter only translates: `reset` makes the game (`textarena.make(env_id)`), resets it with the row's `seed`
and turns the game's first observation into the user message; `step` hands the model's turn text to the game as
the player's action, and the game's answer (its messages since the player's action) becomes the observation.
When the game is over, its reward for player 0 is the step's reward (the `env` component of the episode's
reward). The game's own rules (e.g. `[number]` actions, invalid-move handling) are the game's.

What it does not cover: multi-player games (another policy would have to play the other seats), and TextArena's
online play. The game runs in the driver's step thread: a game that hangs ends its episode at `step_timeout_s`.
"""

from __future__ import annotations

from typing import Any

from rlvr.envs.base import Environment, StepResult, register

__all__ = ["TextArenaEnv"]


def _text(observation: Any) -> str:
    """A game's observation as text: raw envs give [(sender, message, type)], wrapped ones a string; the
    player's own actions are left out (they are already the model's turns)."""
    if isinstance(observation, str):
        return observation
    return "\n".join(str(msg) for sender, msg, *_ in observation if sender != 0)


@register("textarena")
class TextArenaEnv(Environment):
    """A TextArena single-player game; options: `env_id` (e.g. GuessTheNumber-v0-raw), `system_prompt`."""

    name = "textarena"

    def __init__(self, env_id: str = "GuessTheNumber-v0-raw", system_prompt: str | None = None) -> None:
        self.env_id, self.system_prompt = env_id, system_prompt
        self.game = None

    def reset(self, row: dict[str, Any]) -> list[dict[str, str]]:
        import textarena

        self.game = textarena.make(self.env_id)
        self.game.reset(num_players=1, seed=int(row.get("seed", 0)))
        _, observation = self.game.get_observation()
        system = [{"role": "system", "content": self.system_prompt}] if self.system_prompt else []
        return [*system, {"role": "user", "content": _text(observation)}]

    def step(self, text: str) -> StepResult:
        done, info = self.game.step(text)
        if done:
            rewards, game_info = self.game.close()
            reward = float((rewards or {}).get(0, 0.0))
            info = dict((game_info or {}).get(0, {}))
            return StepResult(done=True, reward=reward, info={**info, "game_reason": info.get("reason"),
                                                              "reason": "game_over"})
        _, observation = self.game.get_observation()
        return StepResult(_text(observation))
