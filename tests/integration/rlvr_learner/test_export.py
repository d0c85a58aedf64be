"""Dense export: a plain fp32 HF model loaded with the exported weights scores tokens like the learner."""

import pytest
import safetensors.torch
import torch

from rlvr.types import TrainSample


def load(blob) -> dict:
    """An export read by the `safetensors` library itself: the wire format must stay standard."""
    return safetensors.torch.load(bytes(blob))


SEQ = [5, 17, 42, 99, 7, 250, 31, 8, 64, 120, 3, 77, 400, 12]


def hf_logprobs(model_dir, weights: dict, token_ids: list[int]) -> list[float]:
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=torch.float32).eval()
    result = model.load_state_dict(weights, strict=False)
    assert not result.unexpected_keys
    tied = model.config.tie_word_embeddings
    assert set(result.missing_keys) <= ({"lm_head.weight"} if tied else set())
    with torch.no_grad():
        logp = torch.log_softmax(model(input_ids=torch.tensor([token_ids])).logits[0], dim=-1)  # [T, V]
    return [logp[t - 1, token_ids[t]].item() for t in range(1, len(token_ids))]


@pytest.mark.parametrize("quantize", ["nf4", "none"])
@pytest.mark.parametrize("model", ["tiny_dir", "tied_dir"])
def test_full_export_reproduces_learner_logprobs_before_and_after_a_step(request, make_learner, quantize, model):
    model_dir = request.getfixturevalue(model)
    learner = make_learner(model_dir, quantize=quantize, lr=1e-2)
    for _ in range(2):  # before any step (zero LoRA delta), then after one
        weights = load(learner.export_weights(dtype="float32", full=True))
        assert all(v.dtype == torch.float32 for v in weights.values())
        assert hf_logprobs(model_dir, weights, SEQ) == pytest.approx(learner.logprobs(SEQ), abs=1e-4)
        learner.train_step([TrainSample(SEQ[:5], SEQ[5:], 1.0)])
    assert learner.step == 2


def test_partial_export_holds_exactly_the_targeted_modules_in_bf16(make_learner, tiny_dir):
    learner = make_learner(target_modules=("q_proj", "down_proj"))
    weights = load(learner.export_weights())
    expected = {f"model.layers.{i}.{m}.weight" for i in range(2) for m in ("self_attn.q_proj", "mlp.down_proj")}
    assert set(weights) == expected
    assert all(v.dtype == torch.bfloat16 for v in weights.values())
    assert weights["model.layers.0.mlp.down_proj.weight"].shape == (128, 256)  # HF layout [out, in]


def test_nf4_export_is_the_quantized_base_not_the_original(make_learner, tiny_dir):
    """The base part of the export is the dequantized nf4 weight: close to, but not equal to, the fp32 file."""
    from safetensors.torch import load_file

    original = load_file(str(tiny_dir / "model.safetensors"))["model.layers.0.self_attn.q_proj.weight"]
    nf4 = load(make_learner().export_weights(dtype="float32"))["model.layers.0.self_attn.q_proj.weight"]
    dense = load(make_learner(quantize="none").export_weights(dtype="float32"))
    assert torch.equal(dense["model.layers.0.self_attn.q_proj.weight"], original)
    error = (nf4 - original).abs().max().item()
    assert 0 < error < 0.2 * original.abs().max().item()


@pytest.mark.parametrize("quantize", ["nf4", "none"])
def test_base_plus_adapter_is_the_dense_export(make_learner, quantize):
    """What adapter sync sends (the base once, then factors) rebuilds exactly what the dense export holds."""
    from rlvr.sync.push import lowrank_fingerprint
    from rlvr.sync.wire import parse_adapter, unpack

    learner = make_learner(quantize=quantize, lr=1e-2)
    learner.train_step([TrainSample(SEQ[:5], SEQ[5:], 1.0), TrainSample(SEQ[:4], SEQ[6:], -1.0)])
    base = load(learner.export_base(dtype="float32"))
    blob, meta = learner.export_adapter()
    version, factors = parse_adapter(unpack(blob))
    dense = load(learner.export_weights(dtype="float32", full=True))
    assert version == meta["version"] == 1 and set(factors) == set(meta["fingerprints"])
    assert meta["bytes"] == len(blob) < 0.2 * len(learner.export_base(dtype="float32"))
    assert set(base) == set(dense)
    for name, f in factors.items():
        rebuilt = base[f"{name}.weight"] + f.scaling * f.b @ f.a
        assert torch.allclose(rebuilt, dense[f"{name}.weight"], atol=1e-6)
        assert not torch.equal(base[f"{name}.weight"], dense[f"{name}.weight"])  # the base has no delta
        fp = lowrank_fingerprint(name, f.a, f.b, f.scaling).flatten().tolist()
        assert fp == pytest.approx(meta["fingerprints"][name], rel=1e-12)
