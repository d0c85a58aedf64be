"""The adapter a run leaves behind serves in vLLM: LoRA request logprobs match the learner's policy.

`rlvr.run` saves `output_dir/adapter` with peft; a user then serves base + adapter with vLLM's LoRA
support. Checked on the tiny model in fp32 (quantize="none", so the base vLLM loads is the learner's).
"""

from __future__ import annotations

import os

import pytest

from rlvr.types import TrainSample


@pytest.mark.slow
def test_saved_adapter_loads_in_vllm_and_matches(make_learner, tiny_dir, tmp_path):
    os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
    from vllm import LLM, SamplingParams
    from vllm.inputs import TokensPrompt
    from vllm.lora.request import LoRARequest

    learner = make_learner(quantize="none", lr=1e-2)
    seq = list(range(5, 37))
    for _ in range(3):  # move the policy so a missing adapter would show
        learner.train_step([TrainSample(seq[:8], seq[8:], 1.0), TrainSample(seq[:8], seq[10:], -1.0)], max_tokens=24)
    learner.save_adapter(tmp_path / "adapter")
    expected = learner.logprobs(seq)

    llm = LLM(model=str(tiny_dir), dtype="float32", enable_lora=True, max_lora_rank=8, max_loras=1,
              max_model_len=128, kv_cache_memory_bytes=2**28, enforce_eager=True)
    params = SamplingParams(max_tokens=1, prompt_logprobs=0)
    out = llm.generate([TokensPrompt(prompt_token_ids=seq)], params, use_tqdm=False,
                       lora_request=LoRARequest("rlvr", 1, str(tmp_path / "adapter")))[0]
    served = [pos[t].logprob for pos, t in zip(out.prompt_logprobs[1:], seq[1:], strict=True)]
    base = llm.generate([TokensPrompt(prompt_token_ids=seq)], params, use_tqdm=False)[0]
    unadapted = [pos[t].logprob for pos, t in zip(base.prompt_logprobs[1:], seq[1:], strict=True)]
    assert max(abs(a - b) for a, b in zip(expected, served, strict=True)) < 1e-3
    assert max(abs(a - b) for a, b in zip(expected, unadapted, strict=True)) > 1e-2  # the adapter mattered
