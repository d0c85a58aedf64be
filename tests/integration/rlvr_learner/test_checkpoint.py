"""Checkpoints and adapters: a reloaded learner is the same learner, and the adapter loads in plain peft."""

import json

import pytest
import torch

from rlvr.types import TrainSample

SEQ = [5, 17, 42, 99, 7, 250, 31, 8, 64, 120, 3, 77]


def test_round_trip_gives_identical_logprobs_and_identical_next_step(make_learner, samples, tmp_path):
    batch = samples(6, seed=3)
    # Dropout on: the next step consumes random numbers, so the RNG state must travel too. Both learners
    # share this process's global RNG, so `a` takes its next step before `b` exists.
    a = make_learner(lora_dropout=0.2)
    for _ in range(2):
        a.train_step(batch)
    saved = a.logprobs(SEQ)
    a.save_checkpoint(tmp_path / "ckpt")
    next_a = a.train_step(batch)
    b = make_learner(lora_dropout=0.2, seed=123)
    assert b.logprobs(SEQ) != saved
    b.load_checkpoint(tmp_path / "ckpt")
    assert b.step == 2
    assert b.logprobs(SEQ) == saved
    next_b = b.train_step(batch)
    for key in ("loss", "grad_norm", "tokens"):
        assert next_a[key] == next_b[key]
    assert b.logprobs(SEQ) == a.logprobs(SEQ)


def test_saving_over_a_checkpoint_replaces_it_and_leaves_no_stray_folders(make_learner, tmp_path):
    learner = make_learner()
    learner.save_checkpoint(tmp_path / "ckpt")
    learner.train_step([TrainSample(SEQ[:4], SEQ[4:], 1.0)])
    learner.save_checkpoint(tmp_path / "ckpt")
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt"]
    assert json.loads((tmp_path / "ckpt" / "state.json").read_text())["step"] == 1


def test_a_checkpoint_of_another_adapter_shape_is_refused(make_learner, tmp_path):
    make_learner(lora_rank=8).save_checkpoint(tmp_path / "ckpt")
    with pytest.raises(ValueError, match="lora_rank"):
        make_learner(lora_rank=4).load_checkpoint(tmp_path / "ckpt")


def test_saved_adapter_loads_in_plain_peft_with_the_same_logprobs(make_learner, tiny_dir, tmp_path):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    learner = make_learner(quantize="none", lr=1e-2)
    learner.train_step([TrainSample(SEQ[:4], SEQ[4:], 1.0)])
    learner.save_adapter(tmp_path / "adapter")
    config = json.loads((tmp_path / "adapter" / "adapter_config.json").read_text())
    assert config["r"] == 8 and set(config["target_modules"]) >= {"q_proj", "down_proj"}
    base = AutoModelForCausalLM.from_pretrained(str(tiny_dir), dtype=torch.float32)
    model = PeftModel.from_pretrained(base, str(tmp_path / "adapter")).eval()
    with torch.no_grad():
        logp = torch.log_softmax(model(input_ids=torch.tensor([SEQ])).logits[0], dim=-1)  # [T, V]
    want = [logp[t - 1, SEQ[t]].item() for t in range(1, len(SEQ))]
    assert learner.logprobs(SEQ) == pytest.approx(want, abs=1e-5)
