"""rlvr.sync.push's pure checks and rlvr.rollout.sampler's fused-layer guard (no engine needed)."""

import math

import pytest

from rlvr.rollout.sampler import check_fused_groups
from rlvr.sync.push import SyncMismatchError, check_sync, compare_logprobs, make_probe


def test_compare_logprobs_is_the_max_abs_diff():
    assert compare_logprobs([-1.0, -2.0, -3.0], [-1.0, -2.5, -2.9]) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="length"):
        compare_logprobs([-1.0], [-1.0, -2.0])


def test_check_sync_passes_within_tolerance_and_returns_worst():
    assert check_sync(3, [-1.0, -2.0], [[-1.0, -2.0], [-1.00005, -2.0]], tolerance=1e-4) == pytest.approx(5e-5)


def test_check_sync_names_step_sampler_diff_and_tolerance():
    with pytest.raises(SyncMismatchError) as err:
        check_sync(7, [-1.0, -2.0], [[-1.0, -2.0], [-1.0, -2.3]], tolerance=1e-4)
    e = err.value
    assert (e.step, e.sampler, e.tolerance) == (7, 1, 1e-4) and e.max_diff == pytest.approx(0.3)
    assert "step 7" in str(e) and "sampler 1" in str(e) and "0.3" in str(e) and "0.0001" in str(e)


def test_check_sync_treats_nan_as_mismatch():
    with pytest.raises(SyncMismatchError):
        check_sync(0, [-1.0], [[math.nan]], tolerance=1.0)


def test_make_probe_has_the_exact_length_and_is_deterministic(tmp_path):
    from transformers import AutoTokenizer

    from rlvr.model import build_tiny_model

    tok = AutoTokenizer.from_pretrained(build_tiny_model(tmp_path / "m", seed=0))
    for n in (8, 64, 200):
        probe = make_probe(tok, n)
        assert len(probe) == n and probe == make_probe(tok, n)
    assert "126" in tok.decode(make_probe(tok, 200))


def test_fused_groups_accepts_whole_layers_and_partial_models():
    names = [f"model.layers.0.{m}.{p}.weight" for m, ps in
             [("self_attn", "q_proj k_proj v_proj o_proj"), ("mlp", "gate_proj up_proj down_proj")]
             for p in ps.split()]
    check_fused_groups(names)
    check_fused_groups(["model.layers.1.mlp.down_proj.weight", "model.norm.weight"])


@pytest.mark.parametrize("names, missing", [
    (["model.layers.0.self_attn.q_proj.weight", "model.layers.0.self_attn.v_proj.weight"], "k_proj"),
    (["model.layers.3.mlp.gate_proj.weight"], "up_proj"),
])
def test_fused_groups_refuses_a_split_layer(names, missing):
    with pytest.raises(ValueError, match=missing):
        check_fused_groups(names)


def test_nan_anywhere_in_the_probe_is_a_mismatch():
    assert math.isnan(compare_logprobs([-1.0, -2.0, -3.0], [-1.0, float("nan"), -3.0]))
    with pytest.raises(SyncMismatchError):
        check_sync(4, [-1.0, -2.0, -3.0], [[-1.0, float("nan"), -3.0]], tolerance=1.0)
