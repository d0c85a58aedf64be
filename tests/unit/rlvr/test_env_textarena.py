"""A third-party environment unmodified: TextArena's GuessTheNumber (textarena 0.7.4, `pip install 'rlvr[envs]'`)
played to the end through `rlvr.envs.textarena` and the episode runner, by a scripted binary-search player."""

import re

import pytest

pytest.importorskip("textarena")

from rlvr.envs.rollout import EpisodeRunner, episode_metrics  # noqa: E402
from rlvr.envs.textarena import TextArenaEnv  # noqa: E402
from rlvr.types import Completion, Group  # noqa: E402


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory):
    from transformers import AutoTokenizer

    from rlvr.model import build_tiny_model

    return AutoTokenizer.from_pretrained(str(build_tiny_model(tmp_path_factory.mktemp("tiny") / "m", seed=0)))


class BinarySearchFleet:
    """Guesses by bisection from the game's hints (read from the prompt the runner built)."""

    def __init__(self, tok):
        self.tok = tok

    def generate(self, rows, *, group_size, max_tokens, temperature, top_p=1.0):
        out = []
        for row in rows:
            text = self.tok.decode(row["prompt"])
            lo, hi = 1, 20
            for guess, hint in re.findall(r"\[(\d+)\]<\|im_end\|>\n<\|im_start\|>user\n.*?(higher|lower)", text, re.S):
                lo, hi = (int(guess) + 1, hi) if hint == "higher" else (lo, int(guess) - 1)
            move = f"My guess is [{(lo + hi) // 2}]"
            ids = self.tok(move, add_special_tokens=False)["input_ids"] + [self.tok.eos_token_id]
            out.append(Group(list(row["prompt"]), [Completion(ids, [-0.1] * len(ids), move, "stop")]))
        return out


def test_guess_the_number_runs_unmodified_to_a_win(tokenizer):
    runner = EpisodeRunner(BinarySearchFleet(tokenizer), tokenizer, lambda: TextArenaEnv("GuessTheNumber-v0-raw"),
                           tool_pool=None, max_turns=10, max_episode_tokens=2000, max_model_len=4096,
                           step_timeout_s=60)
    groups = runner.generate([{"question": "guess", "seed": 3}, {"question": "guess", "seed": 11}], group_size=2,
                             max_tokens=32, temperature=1.0)
    for g in groups:
        assert "Guess The Number" in g.row["prompt"]
        for c in g.completions:
            e = c.episode
            assert e["end"] == "game_over" and e["env_reward"] == 1.0 and 1 < e["turns"] <= 5
            assert c.text.startswith("My guess is [") and e["drift_events"] == 0
            assert sum(c.loss_mask) < len(c.token_ids) and e["obs_tokens"] == len(c.token_ids) - sum(c.loss_mask)
    assert episode_metrics(groups)["turns_mean"] > 1
