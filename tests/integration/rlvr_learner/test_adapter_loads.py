"""What a run leaves behind loads with the two documented lines each (README "Using the trained model").

peft: `AutoPeftModelForCausalLM.from_pretrained(run/adapter)` finds the base through adapter_config.json;
a merged model: `merge_and_unload()` + `save_pretrained`, then any transformers / vLLM loader. Both must give
the learner's own logprobs (fp32, tiny model, quantize="none" so the base is the learner's base exactly).
"""

from __future__ import annotations

from rlvr.sync.push import reference_logprobs
from rlvr.types import TrainSample


def test_saved_adapter_and_merged_model_give_the_learners_logprobs(make_learner, tmp_path):
    from peft import AutoPeftModelForCausalLM
    from transformers import AutoModelForCausalLM

    learner = make_learner(quantize="none", lr=1e-2)
    seq = list(range(5, 37))
    for _ in range(3):  # move the policy so that a missing adapter would show
        learner.train_step([TrainSample(seq[:8], seq[8:], 1.0), TrainSample(seq[:8], seq[10:], -1.0)], max_tokens=24)
    learner.save_adapter(tmp_path / "adapter")
    expected = learner.logprobs(seq)

    model = AutoPeftModelForCausalLM.from_pretrained(str(tmp_path / "adapter"))  # the documented line
    adapted = reference_logprobs(model, seq)
    assert max(abs(a - b) for a, b in zip(expected, adapted, strict=True)) < 1e-4
    with model.disable_adapter():
        base = reference_logprobs(model, seq)
    assert max(abs(a - b) for a, b in zip(expected, base, strict=True)) > 1e-2  # the adapter mattered

    model.merge_and_unload().save_pretrained(str(tmp_path / "merged"))  # the documented merge
    merged = AutoModelForCausalLM.from_pretrained(str(tmp_path / "merged"))
    assert max(abs(a - b) for a, b in zip(expected, reference_logprobs(merged, seq), strict=True)) < 1e-4
