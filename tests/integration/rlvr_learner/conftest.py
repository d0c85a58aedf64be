"""Tiny models for the learner's integration tests: the project's tiny Llama (untied head, tokenizer) and a
tied-embedding variant (`tied_dir`, in tests/conftest.py), plus helpers shared by the tests."""

import random

import pytest
import torch

from rlvr.learn.learner import Learner
from rlvr.types import TrainSample


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory):
    from rlvr.model import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "model", seed=0)


@pytest.fixture
def make_learner(tiny_dir):
    """Learner on the tiny model; CPU, small rank, keyword overrides."""

    def make(model_dir=None, **kwargs) -> Learner:
        options = dict(quantize="nf4", lora_rank=8, lora_alpha=16, lr=1e-3, micro_batch=4, device="cpu")
        options.update(kwargs)
        return Learner(str(model_dir or tiny_dir), **options)

    return make


def random_samples(n: int, seed: int = 0, vocab: int = 500) -> list[TrainSample]:
    """Samples of varied prompt/completion lengths and mixed-sign advantages."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        prompt = [rng.randrange(3, vocab) for _ in range(rng.randint(3, 12))]
        completion = [rng.randrange(3, vocab) for _ in range(rng.randint(2, 16))]
        out.append(TrainSample(prompt, completion, advantage=rng.uniform(-1.5, 1.5)))
    return out


@pytest.fixture
def samples():
    return random_samples


def grads(learner: Learner) -> torch.Tensor:
    return torch.cat([p.grad.flatten() for p in learner.params])


@pytest.fixture
def lora_grads():
    return grads

