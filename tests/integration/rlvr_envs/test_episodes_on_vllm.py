"""Episodes on a real engine (tiny fp32 model, in-process vLLM): every turn's prompt ids are the previous turn's ids
plus the observation's, the trained sequence is exactly what the engine saw and sampled, and the sampler's
logprobs of the model tokens equal the engine's scoring of the whole episode (so the learner trains on the
sampled distribution); re-tokenizing the same conversations would have drifted."""

import sys
from pathlib import Path

import pytest

from rlvr.envs.rollout import EpisodeRunner, episode_metrics

sys.path.insert(0, str(Path(__file__).parents[2] / "fixtures"))
from env_helpers import ChattyEnv  # noqa: E402

pytestmark = pytest.mark.slow


class LocalFleet:
    """The fleet's `generate(rows, ...)` on one in-process Sampler."""

    def __init__(self, sampler):
        self.sampler = sampler

    def generate(self, rows, **sampling):
        return self.sampler.generate([r["prompt"] for r in rows], **sampling)


@pytest.fixture(scope="module")
def sampler(tmp_path_factory):
    import os

    from rlvr.model import build_tiny_model
    from rlvr.rollout.sampler import Sampler

    os.environ["VLLM_ENABLE_V1_MULTIPROCESSING"] = "0"
    folder = build_tiny_model(tmp_path_factory.mktemp("tiny") / "m", seed=0)
    return Sampler(str(folder), dtype="float32", max_model_len=1024, kv_cache_gib=0.25, seed=0)


def test_episodes_on_vllm_keep_the_prefix_and_the_engines_logprobs(sampler):
    tok = sampler.tokenizer
    runner = EpisodeRunner(LocalFleet(sampler), tok, ChattyEnv, tool_pool=None, max_turns=4, max_episode_tokens=600,
                           max_model_len=1024, step_timeout_s=60)
    groups = runner.generate([{"question": "What is 3 + 4?"}, {"question": "Say something."}], group_size=3,
                             max_tokens=24, temperature=1.0)
    m = episode_metrics(groups)
    assert m["turns_mean"] == 4 and m["drift_events"] == 0 and m["obs_tokens_mean"] > 0
    for g in groups:
        for c in g.completions:
            seq = list(g.prompt_ids) + c.token_ids
            lp = sampler.probe_logprobs(seq)[len(g.prompt_ids) - 1:]  # engine's own scoring, T = 1
            model = [(a, b) for a, b, k in zip(lp, c.logprobs, c.loss_mask, strict=True) if k]
            assert max(abs(a - b) for a, b in model) < 1e-3
            even = sum(len(m["content"]) % 2 == 0 for m in c.episode["messages"][::2])
            assert c.episode["env_reward"] == pytest.approx(0.25 * even)  # 0.25 for each even-length turn

    # the same conversations re-rendered with the chat template and re-tokenized: they leave the sampled ids
    drifted = 0
    for g in groups:
        for c in g.completions:
            messages = [{"role": "user", "content": g.row["question"]}, *c.episode["messages"]]
            text = tok.apply_chat_template(messages, tokenize=False)
            retokenized = tok(text, add_special_tokens=False)["input_ids"]
            sampled = list(g.prompt_ids) + c.token_ids
            drifted += retokenized[: len(sampled)] != sampled
    assert drifted > 0
