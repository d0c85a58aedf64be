"""Adapter-only sync on a real learner and an in-process vLLM engine, in fp32 and in bf16.

The learner is the tiny nf4 model with LoRA on every projection and on the LM head. After the base goes
over once, each push carries only the adapter; the engine must then serve exactly the learner's update
(`sync.mode: lora`, in both dtypes) and every injected fault must stop the check with its own message:
a skipped push, the previous adapter served, a delta applied twice or scaled wrongly, a lossy merge
where exact was asked, a partial push, a base that is not the learner's.
"""

import os

import numpy as np
import pytest

from rlvr.learn.learner import Learner
from rlvr.model import build_tiny_model
from rlvr.sync.push import (
    SyncMismatchError,
    base_tolerance,
    calibrated_tolerance,
    compare_logprobs,
    make_probe,
    probe_statistic,
    verify_base,
    verify_update,
)
from rlvr.sync.serving import AdapterServer
from rlvr.sync.wire import Packer, adapter_tensors, parse_adapter, unpack
from rlvr.types import TrainSample

TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj", "lm_head")
BATCH = [TrainSample([5, 6, 7, 8], [9, 10, 11, 12, 13], 1.0), TrainSample([5, 6, 7, 8], [14, 9, 3, 11], -1.0)]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "m", seed=0)


@pytest.fixture(scope="module", params=["float32", "bfloat16"])
def engine(request, tiny):
    """One in-process engine per dtype (start-up is the expensive part), shared by the module."""
    from rlvr.rollout.sampler import Sampler

    saved = os.environ.get("VLLM_ENABLE_V1_MULTIPROCESSING")
    os.environ["VLLM_ENABLE_V1_MULTIPROCESSING"] = "0"
    try:
        yield Sampler(str(tiny), dtype=request.param, max_model_len=256, kv_cache_gib=0.25, seed=0)
    finally:
        if saved is None:
            os.environ.pop("VLLM_ENABLE_V1_MULTIPROCESSING", None)
        else:
            os.environ["VLLM_ENABLE_V1_MULTIPROCESSING"] = saved


def start(engine, tiny, mode: str = "lora", lr: float = 1e-3) -> Learner:
    """A fresh learner whose base and (zero) adapter the engine then serves in `mode`."""
    learner = Learner(str(tiny), quantize="nf4", lora_rank=8, lora_alpha=16, lr=lr, micro_batch=8, device="cpu",
                      target_modules=TARGETS, seed=0)
    blob, meta = learner.export_adapter()
    base = learner.export_base(dtype="float32" if mode == "merge" else engine.dtype)
    engine.load_base(base, list(meta["fingerprints"]), mode)
    engine.load_adapter(blob)
    verify_update(0, meta, [engine.adapter_report()], exact=True, update_tolerance=0.01)
    return learner


def step_and_push(learner, engine, steps: int = 1) -> dict:
    for _ in range(steps):
        learner.train_step(BATCH)
    blob, meta = learner.export_adapter()
    engine.load_adapter(blob)
    return meta


def check(learner, engine, meta, exact: bool = True) -> float:
    return verify_update(learner.step, meta, [engine.adapter_report()], exact=exact, update_tolerance=0.01)


def test_lora_mode_serves_the_learners_update_exactly(engine, tiny):
    learner = start(engine, tiny)
    probe = make_probe(engine.tokenizer, 32)
    stat = probe_statistic(engine.dtype)
    floor = compare_logprobs(learner.logprobs(probe), engine.probe_logprobs(probe), stat)
    tolerance = calibrated_tolerance(engine.dtype, floor, None)
    for _ in range(3):
        meta = step_and_push(learner, engine)
        assert check(learner, engine, meta) < 1e-9  # the factors are served as they are: no rounding
        diff = compare_logprobs(learner.logprobs(probe), engine.probe_logprobs(probe), stat)
        assert diff <= (1e-4 if engine.dtype == "float32" else tolerance)
    assert meta["bytes"] < 0.2 * len(learner.export_base(dtype="float32"))  # only the adapter moved


@pytest.mark.parametrize("wrong", ["own weights for nf4", "another model"])
def test_a_base_that_is_not_the_learners_stops(engine, tiny, tmp_path_factory, wrong):
    """The served base is checked through the live kernels: the tiny model's probe barely moves for either
    fault in bf16 (median 0.02 and 0.21 against a 0.5 tolerance), the base fingerprints by 0.09 and 1.4."""
    learner = start(engine, tiny)
    blob, meta = learner.export_adapter()
    tolerance = base_tolerance(engine.dtype)
    assert verify_base(0, meta, [engine.adapter_report()], tolerance) < tolerance / 3
    if wrong == "another model":
        source = build_tiny_model(tmp_path_factory.mktemp("other") / "m", seed=1)
        other = Learner(str(source), quantize="nf4", lora_rank=8, lora_alpha=16, micro_batch=8, device="cpu",
                        target_modules=TARGETS, seed=0)
    else:
        other = Learner(str(tiny), quantize="none", lora_rank=8, lora_alpha=16, micro_batch=8, device="cpu",
                        target_modules=TARGETS, seed=0)
    engine.load_base(other.export_base(dtype=engine.dtype), list(meta["fingerprints"]), "lora")
    engine.load_adapter(blob)
    verify_update(0, meta, [engine.adapter_report()], exact=True, update_tolerance=0.01)  # the adapter is right
    with pytest.raises(SyncMismatchError, match="computes with a base that is not the learner's"):
        verify_base(0, meta, [engine.adapter_report()], tolerance)


def test_lora_mode_probe_follows_the_update_in_fp32(engine, tiny):
    """The served layers are the ones vLLM calls: the probe sees the update (fp32: to 1e-4)."""
    if engine.dtype != "float32":
        pytest.skip("bf16's floor hides small updates from the probe; the fingerprints see them")
    learner = start(engine, tiny, lr=1e-2)
    probe = make_probe(engine.tokenizer, 32)
    learner.train_step(BATCH)
    stale = compare_logprobs(learner.logprobs(probe), engine.probe_logprobs(probe))
    blob, _ = learner.export_adapter()
    engine.load_adapter(blob)
    assert stale > 1e-2 and compare_logprobs(learner.logprobs(probe), engine.probe_logprobs(probe)) < 1e-4


def test_skipped_push_stops(engine, tiny):
    learner = start(engine, tiny)
    step_and_push(learner, engine)
    learner.train_step(BATCH)
    meta = learner.export_adapter()[1]  # exported, never pushed
    with pytest.raises(SyncMismatchError, match="push did not arrive"):
        check(learner, engine, meta)


def test_previous_adapter_served_stops(engine, tiny):
    learner = start(engine, tiny)
    step_and_push(learner, engine)
    previous = bytes(learner.export_adapter()[0])
    learner.train_step(BATCH)
    meta = learner.export_adapter()[1]
    tensors = dict(unpack(previous))
    version, old = parse_adapter(tensors)
    engine.load_adapter(Packer().pack(adapter_tensors(old, meta["version"])))  # stale factors, current version
    with pytest.raises(SyncMismatchError, match="not the learner's"):
        check(learner, engine, meta)


@pytest.mark.parametrize("fault, factor", [("applied twice", 2.0), ("scaled wrong", 0.5)])
def test_a_wrongly_rebuilt_update_stops(engine, tiny, monkeypatch, fault, factor):
    learner = start(engine, tiny)
    real = AdapterServer._set_factors

    def faulty(self, factors):
        real(self, {m: type(f)(a=f.a, b=f.b, scaling=f.scaling * factor) for m, f in factors.items()})

    monkeypatch.setattr(AdapterServer, "_set_factors", faulty)
    meta = step_and_push(learner, engine)
    with pytest.raises(SyncMismatchError, match="applied twice, scaled wrongly") as err:
        check(learner, engine, meta)
    assert err.value.max_diff == pytest.approx(abs(factor - 1), rel=1e-3)


def test_partial_push_is_refused_and_a_partial_apply_stops(engine, tiny, monkeypatch):
    learner = start(engine, tiny)
    learner.train_step(BATCH)
    blob, meta = learner.export_adapter()
    tensors = {k: v for k, v in unpack(blob).items() if not k.startswith("model.layers.1.")}
    with pytest.raises(Exception, match="missing"):  # refused before any buffer is touched
        engine.load_adapter(Packer().pack(tensors))
    real = AdapterServer._set_factors
    monkeypatch.setattr(AdapterServer, "_set_factors",
                        lambda self, fs: real(self, {m: f for m, f in fs.items() if "layers.1." not in m}))
    engine.load_adapter(blob)
    with pytest.raises(SyncMismatchError, match="not applied to every module"):
        check(learner, engine, meta)


def test_merge_mode_is_exact_in_fp32_and_a_lossy_merge_stops_an_exact_run_in_bf16(engine, tiny):
    learner = start(engine, tiny, mode="merge", lr=1e-4)  # small updates: below bf16's resolution
    meta = step_and_push(learner, engine, steps=2)
    if engine.dtype == "float32":
        assert check(learner, engine, meta) < 1e-3
        return
    with pytest.raises(SyncMismatchError, match="rounded away"):
        check(learner, engine, meta)
    assert check(learner, engine, meta, exact=False) > 0.1  # a lossy run asked for it: measured, not a stop


def test_fingerprints_read_the_served_buffers(engine, tiny):
    """Overwriting what is served after the push (not what was received) is caught."""
    learner = start(engine, tiny)
    meta = step_and_push(learner, engine)
    worker = engine.llm.llm_engine.model_executor.driver_worker.worker
    lora = next(iter(worker.rlvr_server._layers.values()))
    saved = lora.b.clone()
    lora.b.mul_(np.float32(1.5))
    try:
        with pytest.raises(SyncMismatchError, match="applied twice, scaled wrongly"):
            check(learner, engine, meta)
    finally:
        lora.b.copy_(saved)
    assert check(learner, engine, meta) < 1e-9


def test_a_factor_in_a_fused_siblings_block_is_caught(engine, tiny):
    """q's factors written into k's block of the fused qkv layer: each module's served rows are checked whole."""
    learner = start(engine, tiny)
    meta = step_and_push(learner, engine)
    worker = engine.llm.llm_engine.model_executor.driver_worker.worker
    server = worker.rlvr_server
    q = server._pieces["model.layers.0.self_attn.q_proj"]
    lora = server._layers[q.layer]
    rank = lora.a.shape[0] // q.pieces
    saved = lora.b.clone()
    lora.b[q.rows, rank:2 * rank] = lora.b[q.rows, :rank]  # q's rows now also use k's A
    try:
        with pytest.raises(SyncMismatchError, match="applied twice, scaled wrongly"):
            check(learner, engine, meta)
    finally:
        lora.b.copy_(saved)
