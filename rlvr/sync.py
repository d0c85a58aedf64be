"""Verified weight sync: push the learner's weights to every sampler, then prove they arrived.

After each push the driver asks every sampler for the logprobs of one fixed probe sequence and compares
them with the learner's logprobs of the same sequence. Samplers that silently kept stale weights (a
skipped push, a dropped fused-layer shard, a dtype mix-up) generate plausible text, so without this
check a run would train on off-policy samples without anyone noticing; a mismatch stops the run.

What this module does NOT do: export weights from the learner (``rlvr.learner``), reload them in an
engine (``rlvr.sampler``), or move them (the trainer's `Actors.push_weights`, the one push path). The tolerance is the caller's choice. fp32 samplers against an fp32 learner
match to ~1e-6 (tiny model) and 4e-5..6e-5 (SmolLM2-135M, 30 layers), so 1e-4..2e-4 catches any stale
or partial push. bf16 samplers differ from an fp32 learner by 0.3-0.5 from rounding alone, so their
check (tolerance ~1) only catches gross failures (wrong or missing tensors), not a skipped small update.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["SyncMismatchError", "compare_logprobs", "check_sync", "default_tolerance", "make_probe",
           "reference_logprobs"]

# fp32 measured 1e-6 (tiny) .. 6e-5 (SmolLM2); 1e-3 leaves room for kernels while a stale push shows ~0.1-1.
_TOLERANCE = {"float32": 1e-3, "bfloat16": 1.0, "float16": 1.0}


def default_tolerance(dtype: str) -> float:
    """The sync check's tolerance for samplers running in `dtype` (see the module docstring)."""
    return _TOLERANCE[dtype]

_PROBE_QUESTION = "What is 12 + 30? Then multiply the result by 3."
_PROBE_ANSWER = "12 + 30 = 42. Then 42 * 3 = 126. The answer is \\boxed{126}."


class SyncMismatchError(RuntimeError):
    """A sampler's probe logprobs differ from the learner's: its weights are not the learner's weights."""

    def __init__(self, step: int, max_diff: float, tolerance: float, sampler: int | None = None):
        self.step, self.max_diff, self.tolerance, self.sampler = step, max_diff, tolerance, sampler
        who = "a sampler" if sampler is None else f"sampler {sampler}"
        super().__init__(
            f"weight sync check failed at step {step}: {who}'s probe logprobs differ from the learner's by "
            f"up to {max_diff:.3g} (tolerance {tolerance:.3g}). Check that the push reached every sampler, "
            f"that the exported state dict covers every trained module (q/k/v and gate/up go together), that "
            f"parameter names match the HF model, and that the tolerance suits the sampler dtype "
            f"(fp32 1e-4 on a tiny model, 2e-4 on SmolLM2; bf16 needs ~1)."
        )


def compare_logprobs(learner_lp: Sequence[float], sampler_lp: Sequence[float]) -> float:
    """Max absolute difference of two per-token logprob lists (same probe, same length)."""
    if len(learner_lp) != len(sampler_lp):
        raise ValueError(f"probe logprobs differ in length: learner {len(learner_lp)}, sampler {len(sampler_lp)}")
    if not learner_lp:
        raise ValueError("empty probe logprobs")
    diffs = [abs(float(a) - float(b)) for a, b in zip(learner_lp, sampler_lp, strict=True)]
    return math.nan if any(math.isnan(d) for d in diffs) else max(diffs)  # max() would skip a NaN


def check_sync(step: int, learner_lp: Sequence[float], sampler_lps: Sequence[Sequence[float]],
               tolerance: float) -> float:
    """The largest diff over all samplers; raises SyncMismatchError naming the first sampler above tolerance."""
    if not sampler_lps:
        raise ValueError("check_sync needs at least one sampler's logprobs")
    worst = 0.0
    for i, lp in enumerate(sampler_lps):
        diff = compare_logprobs(learner_lp, lp)
        if not diff <= tolerance:  # also catches NaN
            raise SyncMismatchError(step, diff, tolerance, sampler=i)
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

