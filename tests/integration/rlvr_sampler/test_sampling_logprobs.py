"""The sampler's logprobs are of the distribution it samples from, and the learner scores the same one.

An fp32 engine holds the learner's exported policy (nf4 base dequantized + a trained LoRA delta). At T != 1
(and with top-p) the logprobs vLLM returns for the tokens it sampled (`processed_logprobs`: after temperature
and top-p) must equal the learner's logprobs of those tokens under the same settings, within the fp32 probe
tolerance: otherwise the policy gradient's score function is not the sampling policy's.
"""

import pytest

from rlvr.learn.learner import Learner
from rlvr.model import build_tiny_model
from rlvr.sync.push import default_tolerance
from rlvr.types import TrainSample

pytestmark = pytest.mark.slow
TOL = default_tolerance("float32")  # the probe's own fp32 tolerance, 1e-3
PROMPTS = [[5, 17, 300, 42], [9, 8, 7, 6, 5, 4], [100, 200, 300]]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "m", seed=0)


@pytest.fixture(scope="module")
def pair(tiny, in_process_sampler):
    """A learner whose adapter has moved, and an fp32 engine serving exactly its policy."""
    learner = Learner(str(tiny), quantize="nf4", lora_rank=8, lora_alpha=16, lr=5e-2, micro_batch=4, device="cpu")
    seq = list(range(20, 52))
    for _ in range(3):
        learner.train_step([TrainSample(seq[:8], seq[8:], 1.0), TrainSample(seq[:8], seq[12:], -1.0)])
    sampler = in_process_sampler(tiny)
    sampler.load_weights(learner.export_weights(dtype="float32", full=True))
    return learner, sampler


def _max_gap(learner, sampler, *, temperature, top_p, score_temperature=None) -> float:
    groups = sampler.generate(PROMPTS, group_size=4, max_tokens=24, temperature=temperature, top_p=top_p)
    gaps = []
    for g in groups:
        for c in g.completions:
            ours = learner.logprobs(g.prompt_ids + c.token_ids, top_p=top_p,
                                    temperature=score_temperature or temperature)[len(g.prompt_ids) - 1 :]
            assert len(c.logprobs) == len(c.token_ids) == len(ours) > 0
            gaps += [abs(a - b) for a, b in zip(ours, c.logprobs, strict=True)]
    return max(gaps)


@pytest.mark.parametrize("temperature, top_p", [(0.7, 1.0), (1.3, 1.0), (0.7, 0.9), (1.0, 0.8)])
def test_learner_logprobs_of_sampled_tokens_match_the_samplers(pair, temperature, top_p):
    learner, sampler = pair
    assert _max_gap(learner, sampler, temperature=temperature, top_p=top_p) < TOL


def test_untempered_scoring_would_not_match(pair):
    """The control: the learner as it was (T = 1 whatever the sampler did) misses the sampler's logprobs."""
    learner, sampler = pair
    assert _max_gap(learner, sampler, temperature=0.7, top_p=1.0, score_temperature=1.0) > 10 * TOL
