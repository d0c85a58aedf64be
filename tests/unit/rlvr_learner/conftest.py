"""A tiny random Llama with tied embeddings (like SmolLM2), weights only: learner tests work on token ids."""

import pytest


@pytest.fixture(scope="session")
def tied_dir(tmp_path_factory):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(hidden_size=128, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                         intermediate_size=256, vocab_size=512, tie_word_embeddings=True)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = LlamaForCausalLM(config)
    out = tmp_path_factory.mktemp("tied-llama")
    model.save_pretrained(out)
    return out
