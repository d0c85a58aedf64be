"""rlvr.learn.policy's batch layout and token scoring, on a tiny random Llama (no tokenizer: token ids only)."""

import pytest
import torch

from rlvr.learn.grpo import sampling_logprobs
from rlvr.learn.policy import load_policy, pack_batch, token_logprobs, torch_dtype


def test_pack_batch_aligns_predictors_with_completion_tokens():
    b = pack_batch([[1, 2, 3], [4]], [[5, 6], [7, 8, 9]], torch.device("cpu"))
    assert b.input_ids.tolist() == [[1, 2, 3, 5, 6], [4, 7, 8, 9, 0]]
    assert b.attention_mask.tolist() == [[1, 1, 1, 1, 1], [1, 1, 1, 1, 0]]
    # Position 2 (token 3) predicts 5, position 3 predicts 6; row 2: positions 0..2 predict 7, 8, 9.
    assert b.pred_mask.tolist() == [[False, False, True, True, False], [True, True, True, False, False]]
    assert b.targets[b.pred_mask].tolist() == [5, 6, 7, 8, 9]
    assert b.completion_mask.tolist() == [[True, True, False], [True, True, True]]


@pytest.mark.parametrize("prompts, completions", [([[]], [[1]]), ([[1]], [[]]), ([], []), ([[1]], [])])
def test_pack_batch_refuses_empty_parts(prompts, completions):
    with pytest.raises(ValueError):
        pack_batch(prompts, completions, torch.device("cpu"))


def test_unknown_dtype_and_quantize_are_refused(tied_dir):
    with pytest.raises(ValueError, match="dtype"):
        torch_dtype("float8")
    with pytest.raises(ValueError, match="quantize"):
        load_policy(str(tied_dir), quantize="int8", lora_rank=4, lora_alpha=8, lora_dropout=0.0,
                    target_modules=("q_proj",), dtype=torch.float32, device=torch.device("cpu"))


@pytest.mark.parametrize("temperature, top_p", [(1.0, 1.0), (0.7, 1.0), (1.3, 0.9)])
def test_token_logprobs_match_full_logits_reference(tied_dir, temperature, top_p):
    torch.manual_seed(0)
    model = load_policy(str(tied_dir), quantize="none", lora_rank=4, lora_alpha=8, lora_dropout=0.0,
                        target_modules=("q_proj", "v_proj"), dtype=torch.float32, device=torch.device("cpu"))
    model.eval()
    prompts, completions = [[3, 4, 5, 6], [7, 8]], [[9, 10], [11, 12, 13, 14]]
    with torch.no_grad():
        batch = pack_batch(prompts, completions, torch.device("cpu"))
        got = token_logprobs(model, batch, temperature=temperature, top_p=top_p)  # [2, 4]
        for i, (p, c) in enumerate(zip(prompts, completions, strict=True)):
            # the whole sequence's logits through the model's own forward; sampling_logprobs is checked against
            # a plain-Python reference in tests/unit/rlvr/test_grpo_sampling.py
            logits = model(input_ids=torch.tensor([p + c])).logits[0].float()  # [T, V]
            want = sampling_logprobs(logits[len(p) - 1 : len(p) - 1 + len(c)], torch.tensor(c),
                                     temperature=temperature, top_p=top_p).tolist()
            assert got[i, : len(c)].tolist() == pytest.approx(want, abs=1e-5)
            assert got[i, len(c):].abs().sum() == 0  # pads stay zero
