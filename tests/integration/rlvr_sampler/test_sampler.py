"""Sampler on a tiny fp32 model, in-process vLLM: rollouts, verified weight pushes, the sync check.

One engine is shared by the module (start-up is the expensive part). Each push test compares the
engine's probe logprobs with transformers' logprobs of the same fp32 weights.
"""


import pytest
import torch
from safetensors.torch import save

from rlvr.model import build_tiny_model
from rlvr.sync.push import SyncMismatchError, check_sync, make_probe, reference_logprobs

TOL = 1e-4  # fp32 engine vs fp32 transformers
LINEAR = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "m", seed=0)


@pytest.fixture(scope="module")
def sampler(tiny, in_process_sampler):
    return in_process_sampler(tiny)


@pytest.fixture()
def learner(tiny, sampler):
    """An fp32 transformers copy whose weights equal the sampler's at the start of each test."""
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny, dtype=torch.float32)
    sampler.load_weights(_blob(model, lambda n: True))  # undo earlier tests' pushes
    return model


@pytest.fixture(scope="module")
def probe(sampler):
    return make_probe(sampler.tokenizer, 48)


def _blob(model, keep) -> bytes:
    return save({n: p.detach().clone().contiguous() for n, p in model.state_dict().items() if keep(n)})


def _perturb(model, keep, seed: int, scale: float = 0.05) -> None:
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if keep(name):
                p.add_(torch.randn(p.shape, generator=gen) * scale)


def _is_linear(name: str) -> bool:
    return any(f".{proj}." in name for proj in LINEAR)


def test_generate_returns_groups_with_prompt_ids(sampler):
    tok = sampler.tokenizer
    prompts = ["<|im_start|>user\nWhat is 2+3?<|im_end|>\n<|im_start|>assistant\n", "7*8="]
    groups = sampler.generate(prompts, group_size=3, max_tokens=12, temperature=1.0)
    assert len(groups) == 2 and all(len(g.completions) == 3 for g in groups)
    for prompt, g in zip(prompts, groups, strict=True):
        assert g.prompt_ids == tok(prompt)["input_ids"]
        for c in g.completions:
            assert 1 <= len(c.token_ids) <= 12 and len(c.logprobs) == len(c.token_ids)
            assert all(lp <= 0.0 for lp in c.logprobs)
            assert c.finish_reason in ("stop", "length")
            # vLLM's incremental detokenizer holds back a trailing partial UTF-8 character
            assert tok.decode(c.token_ids, skip_special_tokens=True).startswith(c.text)


def test_token_id_prompts_are_used_verbatim_and_greedy_repeats(sampler):
    ids = [5, 17, 300, 42]
    a = sampler.generate([ids], group_size=1, max_tokens=10, temperature=0.0)[0]
    b = sampler.generate([ids], group_size=1, max_tokens=10, temperature=0.0)[0]
    assert a.prompt_ids == ids and a.completions[0].token_ids == b.completions[0].token_ids


def test_probe_matches_transformers(sampler, learner, probe):
    assert check_sync(0, reference_logprobs(learner, probe), [sampler.probe_logprobs(probe)], TOL) < TOL


def test_partial_push_of_lora_modules_matches_and_keeps_the_rest(sampler, learner, probe):
    """Only the linear projections travel (what a LoRA learner exports); norms and embeddings stay."""
    _perturb(learner, _is_linear, seed=1)
    blob = _blob(learner, _is_linear)
    stale = sampler.probe_logprobs(probe)
    with pytest.raises(SyncMismatchError):  # a skipped push is caught
        check_sync(1, reference_logprobs(learner, probe), [stale], TOL)
    sampler.load_weights(blob)
    assert check_sync(1, reference_logprobs(learner, probe), [sampler.probe_logprobs(probe)], TOL) < TOL


def test_full_push_including_embeddings_and_norms(sampler, learner, probe):
    _perturb(learner, lambda n: True, seed=2, scale=0.02)
    sampler.load_weights(_blob(learner, lambda n: True))
    assert check_sync(2, reference_logprobs(learner, probe), [sampler.probe_logprobs(probe)], TOL) < TOL


def test_peft_prefixed_names_are_accepted(sampler, learner, probe):
    _perturb(learner, _is_linear, seed=3)
    blob = save({f"base_model.model.{n}": p.detach().clone() for n, p in learner.state_dict().items()
                 if _is_linear(n)})
    sampler.load_weights(blob)
    assert check_sync(3, reference_logprobs(learner, probe), [sampler.probe_logprobs(probe)], TOL) < TOL


def test_a_push_that_splits_a_fused_layer_is_refused_before_touching_weights(sampler, learner, probe):
    before = sampler.probe_logprobs(probe)
    _perturb(learner, lambda n: "q_proj" in n or "v_proj" in n, seed=4)
    with pytest.raises(ValueError, match="k_proj"):
        sampler.load_weights(_blob(learner, lambda n: "q_proj" in n or "v_proj" in n))
    assert sampler.probe_logprobs(probe) == before


def test_tokenizer_info(sampler):
    info = sampler.tokenizer_info()
    assert info["eos_token_id"] == sampler.tokenizer.convert_tokens_to_ids("<|im_end|>")
    assert info["vocab_size"] == len(sampler.tokenizer)
