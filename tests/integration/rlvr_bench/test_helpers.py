"""The benchmark helpers whose mistakes would silently skew every figure: token counting, FLOPs, tables."""

import torch

from rlvr.bench import common
from rlvr.bench.rollout import _count_hf


def test_hf_count_stops_at_first_eos_inclusive():
    new = torch.tensor([[5, 6, 2, 2, 2], [5, 6, 7, 8, 9], [2, 0, 0, 0, 0]])
    assert _count_hf(new, {2}) == [3, 5, 1]


def test_flops_per_token_counts_tied_head_once(tmp_path):
    from transformers import LlamaConfig, LlamaForCausalLM

    cfg = LlamaConfig(hidden_size=64, intermediate_size=128, num_hidden_layers=1, num_attention_heads=2,
                      num_key_value_heads=2, vocab_size=100, tie_word_embeddings=True)
    LlamaForCausalLM(cfg).save_pretrained(tmp_path)
    flops = common.model_flops_per_token(tmp_path)
    layer = 4 * 64 * 64 + 3 * 64 * 128  # q k v o + gate up down
    norms = 3 * 64
    assert flops["params"] == 100 * 64 + layer + norms
    assert flops["matmul_params"] == flops["params"]  # embedding out, the tied head (same size) in
    assert flops["flops_per_token"] == 2 * flops["params"]


def test_table_and_matmul_probe():
    text = common.table([["a", 1.23456, 2000.4]], ["name", "x", "y"])
    assert text.splitlines()[2] == "| a    | 1.23 | 2000 |"
    peak = common.matmul_peak("float32", size=64, seconds=0.05)
    assert peak["gflops"] > 0 and peak["threads"] >= 1
