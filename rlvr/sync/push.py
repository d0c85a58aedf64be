"""Weight sync, one owner: push the learner's adapter to every sampler, prove what they serve, restart the dead.

The samplers receive the base once (`WeightSync.start`: the learner's dequantized nf4 weights, the
base it actually computes with) and after every step only the adapter (LoRA factors: ~20 MB fp32 for
SmolLM2-135M at r16 instead of 425 MB of dense weights); `rlvr.sync.serving` rebuilds what they serve from it,
in the mode `resolve_mode` picks: ``lora`` (served unmerged, exact in every dtype: the default) or
``merge`` (merged into the serving weights: exact in fp32, lossy in bf16, where a rounded-away update
is announced at start and measured every step).

Proof, every step (`verify_update`), against numbers the learner computes from its own parameters:
- the version: each sampler serves the adapter of the learner's current step (a skipped push, a stale
  sampler);
- fingerprints: per module a k x k random projection ``V^T (s B A) U`` (fp64; U, V fixed per module
  name, `probe_vectors`) of the factors as received (must equal the learner's: a corrupt, partial or
  previous adapter fails) and of the update as served, read from the live serving buffers. Their
  relative L2 distance estimates the relative L2 error of the served update (`sync_update_loss`: E[(v^T
  X u)^2] = |X|_F^2 for Gaussian u, v; k^2 samples per module); above `sync.update_tolerance` in an
  exact mode the run stops (a lossy merge where exact was asked, a delta applied twice or scaled wrong);
- the base (`verify_base`, `lora` mode): per targeted module ``V^T W U`` of the base as the sampler's live
  kernel computes it, against the learner's dequantized base (`sync_base_loss`). The probe alone misses a
  wrong base in bf16: Qwen2.5-0.5B served its own weights where the learner computes on nf4 moved the
  probe's median by 0.12 (tolerance 0.5), the base fingerprints by 0.094 (right base: 0.003);
- the probe: the samplers' logprobs of a fixed sequence against the learner's, within a tolerance
  calibrated at start-up from the floor the dtypes alone give (`calibrated_tolerance`): catches what
  fingerprints cannot see (a wrong base, embeddings, a served layer that is not called). fp32 is judged on
  the largest per-token difference; bf16/fp16 on the median (`probe_statistic`), because their rounding shows
  as scattered per-token spikes that grow as training sharpens the policy (SmolLM2-135M, bf16 on an AMX CPU:
  max 0.23-1.46 over 32 tokens in healthy steps, which stopped the default job at 1.05 > 1.0), while a wrong
  base moves most tokens on SmolLM2 (median 1.8 against 0.03-0.12 healthy) but not on every model (above).

What this module does NOT do: export (``rlvr.learn.learner``), rebuild the served weights (``rlvr.sync.serving``),
or place actors (``rlvr.run.actors``). fp32 samplers against an fp32 learner match the probe to ~1e-6 (tiny
model) and 4e-5..1e-4 (SmolLM2-135M); bf16 samplers differ by 0.3-0.5 from the base's rounding alone.
"""

from __future__ import annotations

import functools
import logging
import math
import statistics
import time
import zlib
from collections.abc import Sequence

import torch

__all__ = ["SyncMismatchError", "WeightSync", "base_tolerance", "calibrated_tolerance", "check_sync", "compare_logprobs",
           "default_tolerance", "dense_fingerprint", "lowrank_fingerprint", "make_probe", "probe_statistic",
           "reference_logprobs",
           "resolve_mode", "update_loss", "verify_base", "verify_update"]

log = logging.getLogger(__name__)
FINGERPRINT_K = 4  # k x k projections per module

# fp32 (max) measured 1e-6 (tiny) .. 6e-5 (SmolLM2); 1e-3 leaves room for kernels while a stale push shows
# ~0.1-1. bf16 (median) measured 0.03-0.12 in healthy steps of SmolLM2, 1.8 for a wrong base (module docstring).
_TOLERANCE = {"float32": 1e-3, "bfloat16": 0.5, "float16": 0.5}
# The served base's fingerprints against the learner's (relative L2, `verify_base`), measured with the right
# base: bf16 0.0027-0.0031 (tiny, SmolLM2-135M, Qwen2.5-0.5B; worst module 0.0064), fp32 2e-7; a wrong one:
# the model's own weights where the learner computes on nf4 0.086-0.094, another model 1.4.
_BASE_TOLERANCE = {"float32": 1e-4, "bfloat16": 0.02, "float16": 0.02}


def default_tolerance(dtype: str) -> float:
    """The sync check's tolerance for samplers running in `dtype` (see the module docstring)."""
    return _TOLERANCE[dtype]


def probe_statistic(dtype: str) -> str:
    """What the probe check judges: the largest per-token difference in fp32, the median in bf16/fp16."""
    return "max" if dtype == "float32" else "median"

_PROBE_QUESTION = "What is 12 + 30? Then multiply the result by 3."
_PROBE_ANSWER = "12 + 30 = 42. Then 42 * 3 = 126. The answer is \\boxed{126}."


class SyncMismatchError(RuntimeError):
    """A sampler's probe logprobs differ from the learner's: its weights are not the learner's weights."""

    def __init__(self, step: int, max_diff: float, tolerance: float, sampler: int | None = None,
                 message: str | None = None, stat: str = "max"):
        self.step, self.max_diff, self.tolerance, self.sampler = step, max_diff, tolerance, sampler
        self.stat = stat
        who = "a sampler" if sampler is None else f"sampler {sampler}"
        if message is not None:  # the adapter checks (verify_update) say what they found themselves
            super().__init__(f"weight sync check failed at step {step}: {who} {message}")
            return
        super().__init__(
            f"weight sync check failed at step {step}: {who}'s probe logprobs differ from the learner's by "
            f"{'up to' if stat == 'max' else 'a median of'} {max_diff:.3g} (tolerance {tolerance:.3g}). Check that the push reached every sampler, "
            f"that the exported state dict covers every trained module (q/k/v and gate/up go together), that "
            f"parameter names match the HF model, and that the tolerance suits the sampler dtype "
            f"(fp32, largest difference: 1e-4 on a tiny model, 2e-4 on SmolLM2; bf16, median: ~0.1)."
        )


def compare_logprobs(learner_lp: Sequence[float], sampler_lp: Sequence[float], stat: str = "max") -> float:
    """The largest (`stat="max"`) or median absolute difference of two per-token logprob lists (same probe,
    same length); NaN if any difference is."""
    if len(learner_lp) != len(sampler_lp):
        raise ValueError(f"probe logprobs differ in length: learner {len(learner_lp)}, sampler {len(sampler_lp)}")
    if not learner_lp:
        raise ValueError("empty probe logprobs")
    diffs = [abs(float(a) - float(b)) for a, b in zip(learner_lp, sampler_lp, strict=True)]
    if any(math.isnan(d) for d in diffs):  # max() would skip a NaN
        return math.nan
    if stat == "max":
        return max(diffs)
    if stat != "median":
        raise ValueError(f"unknown probe statistic {stat!r}")
    return statistics.median(diffs)


def check_sync(step: int, learner_lp: Sequence[float], sampler_lps: Sequence[Sequence[float]],
               tolerance: float, stat: str = "max") -> float:
    """The largest diff (`compare_logprobs` with `stat`) over all samplers; raises SyncMismatchError naming the
    first sampler above tolerance."""
    if not sampler_lps:
        raise ValueError("check_sync needs at least one sampler's logprobs")
    worst = 0.0
    for i, lp in enumerate(sampler_lps):
        diff = compare_logprobs(learner_lp, lp, stat)
        if not diff <= tolerance:  # also catches NaN
            raise SyncMismatchError(step, diff, tolerance, sampler=i, stat=stat)
        worst = max(worst, diff)
    return worst


def make_probe(tokenizer, length: int = 64) -> list[int]:
    """A fixed token sequence of exactly `length` ids: a chat-formatted arithmetic question and answer.

    Deterministic for a tokenizer. Text that looks like the training data exercises the weights that
    matter; the answer is repeated (with step numbers) until the sequence is long enough.
    """
    if length < 2:
        raise ValueError("a probe needs at least 2 tokens")
    messages = [{"role": "user", "content": _PROBE_QUESTION}, {"role": "assistant", "content": _PROBE_ANSWER}]
    if getattr(tokenizer, "chat_template", None):
        text = tokenizer.apply_chat_template(messages, tokenize=False)
    else:
        text = f"{_PROBE_QUESTION}\n{_PROBE_ANSWER}\n"
    ids = list(tokenizer(text, add_special_tokens=False)["input_ids"])
    k = 1
    while len(ids) < length:
        ids += tokenizer(f" Check {k}: 42 * 3 = 126.", add_special_tokens=False)["input_ids"]
        k += 1
    return ids[:length]


def reference_logprobs(model, token_ids: Sequence[int]) -> list[float]:
    """A transformers causal LM's logprob of token_ids[t] given token_ids[:t], t = 1..len-1 (fp32 math)."""
    import torch

    ids = torch.tensor([list(token_ids)], device=model.device)
    with torch.no_grad():
        logits = model(ids).logits[0].float()  # [L, V]
    lp = logits[:-1].log_softmax(-1).gather(-1, ids[0, 1:, None])[:, 0]  # [L-1]
    return lp.tolist()



# ------------------------------------------------------------------------------------- modes and fingerprints


def resolve_mode(mode: str, dtype: str) -> tuple[str, bool]:
    """`sync.mode` and the samplers' dtype -> (serving mode, lossy?). `auto` is `lora`: exact in every dtype,
    and on CPUs with native bf16 it keeps bf16's ~2x rollout speed (benchmarks/README.md has the numbers)."""
    if mode not in ("auto", "lora", "merge"):
        raise ValueError(f"sync.mode must be auto, lora or merge, got {mode!r}")
    serving = "lora" if mode == "auto" else mode
    return serving, serving == "merge" and dtype != "float32"


@functools.lru_cache(maxsize=4096)
def probe_vectors(name: str, out_features: int, in_features: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Fixed Gaussian (V [out, k], U [in, k]) fp64 for module `name`: the same in every process."""
    gen = torch.Generator().manual_seed(zlib.crc32(f"{name}:{out_features}x{in_features}".encode()))
    v = torch.randn(out_features, FINGERPRINT_K, generator=gen, dtype=torch.float64)
    u = torch.randn(in_features, FINGERPRINT_K, generator=gen, dtype=torch.float64)
    return v, u


def lowrank_fingerprint(name: str, a: torch.Tensor, b: torch.Tensor, scaling: float) -> torch.Tensor:
    """V^T (scaling * b @ a) U without forming b @ a: [k, k] fp64. a [r, in], b [out, r]."""
    v, u = probe_vectors(name, b.shape[0], a.shape[1])
    return scaling * ((v.t() @ b.detach().cpu().double()) @ (a.detach().cpu().double() @ u))  # [k, k]


def dense_fingerprint(name: str, w: torch.Tensor) -> torch.Tensor:
    """V^T w U: [k, k] fp64 of a dense [out, in] weight (the same projection as `lowrank_fingerprint`)."""
    v, u = probe_vectors(name, w.shape[0], w.shape[1])
    return v.t() @ (w.detach().cpu().double() @ u)  # [k, k]


def update_loss(served: dict[str, Sequence[float]], learner: dict[str, Sequence[float]]) -> float:
    """Relative L2 distance of two module -> fingerprint maps (an estimate of |served dW - dW| / |dW|).

    A module missing from `served` counts as serving no update. 0 when both are all zero (no update yet)."""
    num = den = 0.0
    for name, ref in learner.items():
        r = torch.tensor(list(ref), dtype=torch.float64)
        got = torch.tensor(list(served[name]), dtype=torch.float64) if name in served else torch.zeros_like(r)
        num += float(((got - r) ** 2).sum())
        den += float((r ** 2).sum())
    num += sum(float(torch.tensor(list(v), dtype=torch.float64).pow(2).sum())
               for k, v in served.items() if k not in learner)
    if den == 0.0:
        return 0.0 if num == 0.0 else math.inf
    return math.sqrt(num / den)


def verify_update(step: int, learner: dict, reports: Sequence[dict], *, exact: bool,
                  update_tolerance: float) -> float:
    """Check each sampler's `rlvr.sync.serving` report against the learner's (`Learner.adapter_fingerprints`);
    returns the worst served-update loss; raises SyncMismatchError naming the sampler and what is wrong."""
    worst = 0.0
    want = learner["fingerprints"]
    for i, rep in enumerate(reports):
        if rep["version"] != learner["version"]:
            raise SyncMismatchError(step, math.inf, 0.0, sampler=i, message=(
                f"serves the adapter of learner step {rep['version']}, but the learner is at step "
                f"{learner['version']}: this step's push did not arrive (skipped, or a stale sampler)"))
        missing = sorted(set(want) - set(rep["received"]))
        received = update_loss(rep["received"], want)
        if missing or not received <= 1e-6:
            raise SyncMismatchError(step, received, 1e-6, sampler=i, message=(
                f"received an adapter that is not the learner's (relative difference {received:.3g}; "
                f"{len(missing)} modules missing, e.g. {missing[:2]}): a partial, corrupt or previous push"))
        loss = update_loss(rep["served"], want)
        if exact and not loss <= update_tolerance:
            raise SyncMismatchError(step, loss, update_tolerance, sampler=i, message=(
                f"serves a weight update that differs from the learner's by {loss:.3g} (relative L2; "
                f"sync.update_tolerance {update_tolerance:g}) in an exact mode ({rep['mode']}): the update was "
                f"rounded away (a lossy merge), applied twice, scaled wrongly or not applied to every module"))
        worst = max(worst, loss)
    return worst


def calibrated_tolerance(dtype: str, floor: float, configured: float | None) -> float:
    """The probe's tolerance: the configured one, else the dtype's default widened to 3x the floor the
    samplers showed at start-up (learner vs sampler before any divergence can exist), so kernels and
    dtypes alone never stop a healthy run."""
    if configured is not None:
        return configured
    return max(default_tolerance(dtype), 3.0 * floor) if math.isfinite(floor) else default_tolerance(dtype)


def base_tolerance(dtype: str) -> float:
    """`verify_base`'s tolerance for samplers running in `dtype` (their kernels' rounding, with a margin)."""
    return _BASE_TOLERANCE[dtype]


def verify_base(step: int, learner: dict, reports: Sequence[dict], tolerance: float) -> float:
    """Check the base each `lora`-mode sampler computes with (`AdapterServer` report `base`) against the
    learner's (`learner["base"]`, from its own dequantized weights); returns the worst relative L2 distance
    (NaN when no sampler reports a base: merge mode). Raises SyncMismatchError naming the sampler."""
    worst = math.nan
    for i, rep in enumerate(reports):
        if rep.get("mode") != "lora":
            continue
        served = rep.get("base", {})
        loss = update_loss(served, learner["base"])
        if not loss <= tolerance:
            per = {m: update_loss({m: served[m]} if m in served else {}, {m: w}) for m, w in learner["base"].items()}
            far = max(per, key=per.get)
            raise SyncMismatchError(step, loss, tolerance, sampler=i, message=(
                f"computes with a base that is not the learner's (relative difference {loss:.3g}, tolerance "
                f"{tolerance:g}; worst module {far}): a wrong or partial base load, e.g. the model's own weights "
                f"served where the learner computes on nf4-dequantized ones"))
        worst = loss if math.isnan(worst) else max(worst, loss)
    return worst


# ------------------------------------------------------------------------------------------------ the owner


class WeightSync:
    """The trainer's one handle on weight sync: `start(step)` once, `push(step)` after every learner step.

    `learner` is a learner actor, `fleet` a `rlvr.rollout.fleet.SamplerFleet`; a sampler that dies is replaced by
    the fleet and given the base and the last pushed adapter here (`prepare`) before it is used.
    """

    def __init__(self, learner, fleet, *, mode: str, dtype: str, probe: list[int], check: bool = True,
                 tolerance: float | None = None, update_tolerance: float = 0.01):
        self.learner, self.fleet, self.dtype, self.probe, self.check = learner, fleet, dtype, probe, check
        self.mode, self.lossy = resolve_mode(mode, dtype)
        self.stat = probe_statistic(dtype)
        self.configured_tolerance, self.update_tolerance = tolerance, update_tolerance
        self.tolerance = calibrated_tolerance(dtype, math.nan, tolerance)
        self.floor = math.nan
        self._targets: list[str] = []
        self._adapter = None  # reference to the last pushed adapter: what a replacement sampler must serve
        fleet.prepare = self.prepare

    def start(self, step: int) -> dict:
        """Base to every sampler (once), then the learner's adapter, verified; calibrates the probe."""
        import ray

        if self.lossy:
            msg = (f"sync.mode merge with {self.dtype} samplers rounds most of each LoRA update away (see "
                   f"sync_update_loss in metrics.jsonl); sync.mode lora serves it exactly")
            print(f"[rlvr] WARNING: {msg}", flush=True)
        t0 = time.perf_counter()
        self._adapter, meta_ref = self.learner.export_adapter.options(num_returns=2).remote()
        self._targets = list(ray.get(meta_ref)["fingerprints"])
        self.fleet.call_all("load_base", self._base_ref(), self._targets, self.mode)
        self.fleet.call_all("load_adapter", self._adapter)
        out = self._verify(step, ray.get(meta_ref), calibrate=True)
        return {"sync_s": time.perf_counter() - t0, **out}

    def push(self, step: int) -> dict:
        """The learner's adapter to every sampler, then the proof that each serves it."""
        import ray

        t0 = time.perf_counter()
        self._adapter, meta_ref = self.learner.export_adapter.options(num_returns=2).remote()
        self._send()
        sync_s = time.perf_counter() - t0
        return {"sync_s": sync_s, **self._verify(step, ray.get(meta_ref))}

    def _send(self) -> None:
        self.fleet.call_all("load_adapter", self._adapter)

    def prepare(self, actor) -> None:
        """A replacement sampler: the base, then the adapter the others serve."""
        import ray

        ray.get(actor.load_base.remote(self._base_ref(), self._targets, self.mode))
        if self._adapter is not None:
            ray.get(actor.load_adapter.remote(self._adapter))

    def _base_ref(self):
        base_dtype = "float32" if self.mode == "merge" else self.dtype  # merge keeps the fp32 base
        return self.learner.export_base.remote(dtype=base_dtype)

    def _verify(self, step: int, meta: dict, calibrate: bool = False) -> dict:
        import ray

        reports = self.fleet.call_all("adapter_report")
        if self.check:
            loss = verify_update(step, meta, reports, exact=not self.lossy, update_tolerance=self.update_tolerance)
            base = verify_base(step, meta, reports, base_tolerance(self.dtype))
        else:
            loss = max(update_loss(r["served"], meta["fingerprints"]) for r in reports)
            base = max((update_loss(r["base"], meta["base"]) for r in reports if r.get("mode") == "lora"),
                       default=math.nan)
        diff = judged = math.nan
        if self.check:
            learner_ref = self.learner.logprobs.remote(self.probe)  # runs while the samplers probe
            sampler_lps = self.fleet.call_all("probe_logprobs", self.probe)
            learner_lp = ray.get(learner_ref)
            if calibrate:
                self.floor = max(compare_logprobs(learner_lp, lp, self.stat) for lp in sampler_lps)
                self.tolerance = calibrated_tolerance(self.dtype, self.floor, self.configured_tolerance)
                log.info("sync: probe %s floor %.3g, tolerance %.3g", self.stat, self.floor, self.tolerance)
            judged = check_sync(step, learner_lp, sampler_lps, self.tolerance, self.stat)
            diff = max(compare_logprobs(learner_lp, lp) for lp in sampler_lps)
        return {"sync_bytes": meta["bytes"], "sync_update_loss": loss, "sync_base_loss": base,
                "sync_max_diff": diff, "sync_probe_judged": judged}
