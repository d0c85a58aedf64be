"""The embedded default (SmolLM2-135M-Instruct, converted from its GGUF) in vLLM, fp32.

Greedy output must be sensible and a partial push of the real model's projections must round-trip.
"""


import pytest
import torch
from safetensors.torch import save

from rlvr.model import resolve_model
from rlvr.sync.push import SyncMismatchError, check_sync, make_probe, reference_logprobs

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def folder():
    return resolve_model("embedded:smollm2-135m-instruct")  # converts once into the shared cache


@pytest.fixture(scope="module")
def sampler(folder, in_process_sampler):
    return in_process_sampler(folder)


def test_greedy_answer_mentions_56(sampler):
    # With the template's default system prompt SmolLM2 answers 49; this one gets 56 (greedy, fp32).
    messages = [{"role": "system", "content": "You are a helpful assistant."},
                {"role": "user", "content": "What is 7*8?"}]
    prompt = sampler.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    text = sampler.generate([prompt], group_size=1, max_tokens=160, temperature=0.0)[0].completions[0].text
    assert "56" in text, text


def test_partial_push_into_the_real_model_matches_transformers(sampler, folder):
    from transformers import AutoModelForCausalLM

    learner = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
    probe = make_probe(sampler.tokenizer, 64)
    gen = torch.Generator().manual_seed(0)
    touched = {}
    with torch.no_grad():
        for i in (0, 15, 29):
            for name, p in learner.model.layers[i].named_parameters():
                if name.endswith("_proj.weight"):
                    p.add_(torch.randn(p.shape, generator=gen) * 0.01)
                    touched[f"model.layers.{i}.{name}"] = p.detach().clone()
    learner_lp = reference_logprobs(learner, probe)
    with pytest.raises(SyncMismatchError):  # before the push the sampler is stale
        check_sync(1, learner_lp, [sampler.probe_logprobs(probe)], 2e-4)
    sampler.load_weights(save(touched))
    # 30 fp32 layers: measured diffs 4e-5..6e-5 after a push (tiny model: ~1e-6)
    assert check_sync(1, learner_lp, [sampler.probe_logprobs(probe)], 2e-4) < 2e-4
