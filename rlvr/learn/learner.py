"""The GRPO learner: one QLoRA policy, one optimizer step per batch of scored samples.

`Learner` is a plain class (tested without Ray); `make_learner_actor()` starts it as a Ray actor. One
`train_step` is one AdamW step over the LoRA parameters, with gradient accumulation over micro-batches:
each micro-batch's loss is weighted by its share of the batch (tokens for "token" normalisation,
sequences otherwise), so the update does not depend on `micro_batch` when `rlvr.learn.grpo.policy_loss`
normalises per micro-batch the way its `loss_norm` says.

The policy is the distribution the samplers draw from: every log-probability here (the trained one, the
old one, the reference one, the probe's) is of softmax(logits / temperature) renormalised over the top-p
nucleus (`rlvr.learn.grpo.sampling_logprobs`), with the sampler's temperature and top_p passed to each call.
The old (behaviour) log-probs of the clipped ratio are the caller's `old_logprobs` where given, else the
detached current ones (on-policy, ratio 1). The sampler's own log-probs of its tokens (`sampler_logprobs`)
measure the sampler/learner mismatch (`mismatch_kl`, `mismatch_max_abs`) and, with `tis_cap`, weight
each token by truncated importance sampling (`rlvr.learn.grpo.tis_weights`). Reference log-probs for the KL
term come from the same model with the adapter switched off: no second copy of the base model.

What it does not do: compute advantages or the loss (rlvr.learn.grpo), talk to samplers (rlvr.sync.push), choose
learning-rate schedules (the driver may call `set_lr`), or truncate sequences (the sampler's job).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch

from rlvr.config import LORA_TARGETS, AlgoConfig, LearnerConfig, RunSection
from rlvr.learn.grpo import logprob_mismatch, policy_loss, tis_stats, tis_weights
from rlvr.learn.heap import release_heap
from rlvr.learn.policy import (
    base_fingerprints,
    dense_weights,
    load_policy,
    lora_factors,
    pack_batch,
    resolve_device,
    token_logprobs,
    torch_dtype,
)
from rlvr.sync.wire import Packer, adapter_tensors
from rlvr.types import TrainSample

__all__ = ["Learner", "make_learner_actor"]


_A, _L = AlgoConfig, LearnerConfig  # the defaults below are the config's (one declaration each)


class Learner:
    """A LoRA (optionally nf4 QLoRA) causal LM trained with the GRPO loss from `rlvr.learn.grpo`."""

    def __init__(
        self,
        model_dir: str,
        *,
        quantize: str = _L.quantize,
        lora_rank: int = _L.lora_rank,
        lora_alpha: float = _L.lora_alpha,
        lora_dropout: float = _L.lora_dropout,
        target_modules: tuple[str, ...] = LORA_TARGETS,
        lr: float = _L.lr,
        weight_decay: float = _L.weight_decay,
        grad_clip: float | None = _L.grad_clip,
        micro_batch: int = _L.micro_batch,
        dtype: str = _L.dtype,
        grad_checkpoint: bool = _L.grad_checkpoint,
        seed: int = RunSection.seed,
        device: str = "auto",
        num_threads: int | None = None,
    ):
        if micro_batch < 1:
            raise ValueError("micro_batch must be >= 1")
        if num_threads:
            torch.set_num_threads(num_threads)
        self.device = resolve_device(device)
        self.micro_batch = micro_batch
        self.grad_clip = grad_clip
        self.step = 0
        # What a checkpoint must agree with to be loadable into this learner.
        self.identity = {
            "quantize": quantize, "lora_rank": lora_rank, "lora_alpha": lora_alpha,
            "target_modules": sorted(target_modules), "dtype": dtype,
        }
        _seed_all(seed)
        self.model = load_policy(
            model_dir, quantize=quantize, lora_rank=lora_rank, lora_alpha=lora_alpha,
            lora_dropout=lora_dropout, target_modules=tuple(target_modules),
            dtype=torch_dtype(dtype), device=self.device, grad_checkpoint=grad_checkpoint,
        )
        self.model.train()
        self.params = [p for p in self.model.parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(self.params, lr=lr, weight_decay=weight_decay)
        self._packer = Packer()  # one export buffer, reused by every sync (rlvr.sync.wire says why)
        self._base_fp: dict | None = None  # the frozen base's fingerprints, computed on the first export

    # ---- training -------------------------------------------------------------------------------
    def train_step(
        self,
        samples: list[TrainSample],
        *,
        clip_low: float = _A.clip_low,
        clip_high: float = _A.clip_high,
        loss_norm: str = _A.loss_norm,
        max_tokens: int | None = None,
        kl: str = _A.kl,
        kl_coef: float = _A.kl_coef,
        temperature: float = 1.0,
        top_p: float = 1.0,
        tis_cap: float | None = None,
    ) -> dict[str, float]:
        """One optimizer step on `samples`; returns floats: loss, kl, clip_frac, grad_norm, tokens, seconds,
        the other stats of `policy_loss` (means over the batch's tokens), `logp_diff` (mean |old - learner|
        logprob per token) when samples carry old_logprobs, `mismatch_kl`/`mismatch_max_abs` (and, with
        `tis_cap`, `tis_weight_mean`/`tis_clip_frac`) over the tokens of samples that carry
        sampler_logprobs, and `nonfinite_grad` = 1 when the gradient was NaN/inf and the update was skipped.

        `temperature`, `top_p`: the sampling distribution the samples were drawn from (1, 1: the model's
        own). `tis_cap`: None for no importance correction, else the cap of `rlvr.learn.grpo.tis_weights`.
        """
        start = time.perf_counter()
        _validate(samples)
        max_tokens = max_tokens or max(len(s.completion_ids) for s in samples)
        loss_args = dict(
            clip_low=clip_low, clip_high=clip_high, loss_norm=loss_norm, max_tokens=max_tokens, kl=kl, kl_coef=kl_coef
        )
        sampling = dict(temperature=temperature, top_p=top_p)
        total_tokens = sum(_loss_tokens(s) for s in samples)
        self.model.train()
        self.optimizer.zero_grad(set_to_none=True)
        sums: dict[str, float] = defaultdict(float)
        seen: dict[str, list[torch.Tensor]] = defaultdict(list)  # flat per-token logprobs across chunks
        for chunk in self._micro_batches(samples):
            tokens = sum(_loss_tokens(s) for s in chunk)
            share = tokens / total_tokens if loss_norm == "token" else len(chunk) / len(samples)
            loss, stats = self._micro_step(chunk, share, loss_args, sampling, tis_cap, seen)
            # the loss by its share of the batch's loss; the per-token stats by their share of its tokens,
            # so that they are the batch's token means in every loss_norm
            _accumulate(sums, stats, tokens / total_tokens)
            sums["loss"] += share * loss
        grad_norm = torch.nn.utils.clip_grad_norm_(self.params, self.grad_clip or float("inf"))
        if torch.isfinite(grad_norm):
            self.optimizer.step()
        else:  # one bad batch must not poison the adapter or Adam's moments; the driver sees the flag
            sums["nonfinite_grad"] = 1.0
        self.step += 1
        stats = self._step_stats(sums, seen, tis_cap, grad_norm, total_tokens, start)
        release_heap()  # the step's freed activations back to the OS (rlvr.learn.heap says why)
        return stats

    def _micro_batches(self, samples: list[TrainSample]) -> list[list[TrainSample]]:
        """Chunks of `micro_batch` samples, grouped by length so little compute goes to padding."""
        order = sorted(samples, key=lambda s: len(s.prompt_ids) + len(s.completion_ids))
        return [order[i : i + self.micro_batch] for i in range(0, len(order), self.micro_batch)]

    def _micro_step(self, chunk, share, loss_args, sampling, tis_cap, seen):
        batch = pack_batch([s.prompt_ids for s in chunk], [s.completion_ids for s in chunk], self.device)
        mask = _loss_masks(chunk, batch.completion_mask)  # [B, Lc]
        valid = mask > 0  # [B, Lc] the trained tokens: an episode's observation tokens are not among them
        ref = None
        if loss_args["kl"] != "off":
            with torch.no_grad(), self.model.disable_adapter():
                ref = token_logprobs(self.model, batch, **sampling)  # [B, Lc]
        logp = token_logprobs(self.model, batch, **sampling)  # [B, Lc]
        current = logp.detach()  # [B, Lc]
        old, has_old = _given(chunk, "old_logprobs", current)  # [B, Lc], [B]
        sampler, has_sampler = _given(chunk, "sampler_logprobs", old)  # [B, Lc] (= old where none: w = 1)
        weights = tis_weights(old, sampler, cap=tis_cap) if tis_cap is not None else None  # [B, Lc]
        for name, tensor, rows in (("old", old, has_old), ("old_learner", current, has_old),
                                   ("learner", current, has_sampler), ("sampler", sampler, has_sampler),
                                   ("tis_old", old, has_sampler)):
            seen[name].append(tensor[valid & rows.unsqueeze(-1)])  # [n_tok]
        adv = torch.tensor([s.advantage for s in chunk], dtype=logp.dtype, device=self.device)  # [B]
        loss, stats = policy_loss(logp, old, adv, mask, ref_logp=ref, is_weights=weights, **loss_args)
        (loss * share).backward()
        return float(loss.detach()), stats

    def _step_stats(self, sums, seen, tis_cap, grad_norm, total_tokens, start) -> dict[str, float]:
        stats = dict(sums)
        stats.setdefault("kl", 0.0)
        stats.setdefault("clip_frac", 0.0)
        flat = {name: torch.cat(parts) for name, parts in seen.items()}  # [n_tok] each
        if flat["old"].numel():
            stats["logp_diff"] = float((flat["old"] - flat["old_learner"]).abs().mean())
        if flat["sampler"].numel():
            stats.update(logprob_mismatch(flat["learner"], flat["sampler"]))
            if tis_cap is not None:
                stats.update(tis_stats(flat["tis_old"], flat["sampler"], cap=tis_cap))
        stats.update(grad_norm=float(grad_norm), tokens=float(total_tokens), step=float(self.step))
        stats["seconds"] = time.perf_counter() - start
        return stats

    def set_lr(self, lr: float) -> None:
        for group in self.optimizer.param_groups:
            group["lr"] = lr

    # ---- probes and export ----------------------------------------------------------------------
    def logprobs(self, token_ids: list[int], *, temperature: float = 1.0, top_p: float = 1.0) -> list[float]:
        """Log-probability of token t given tokens < t, for t = 1..len-1, under the current policy as
        sampled at `temperature`/`top_p` (1, 1: the model's own distribution, which is what vLLM's prompt
        logprobs, the sync probe's sampler side, always report: they skip temperature and top-p)."""
        if len(token_ids) < 2:
            raise ValueError("need at least two tokens")
        batch = pack_batch([token_ids[:1]], [token_ids[1:]], self.device)
        self.model.eval()
        try:
            with torch.no_grad():
                return token_logprobs(self.model, batch, temperature=temperature, top_p=top_p)[0].tolist()
        finally:
            self.model.train()

    def export_weights(self, *, dtype: str = "bfloat16", full: bool = False) -> np.ndarray:
        """Safetensors bytes (a uint8 array) of dense HF-named weights: LoRA-targeted modules (base +
        delta); `full` adds every other parameter.

        Not the run's route (that is `export_base` once, then `export_adapter`): kept on purpose as the
        reference the tests check exports against (the merged policy as a plain model, loaded into vLLM with
        `Sampler.load_weights` or compared with peft's own merge), and for a peer that serves a plain model.

        The array is this learner's export buffer, overwritten by the next export: a caller in the same
        process uses it (or copies it) before exporting again; a Ray caller gets its own copy.
        """
        return self._packer.pack(dense_weights(self.model, full=full, dtype=torch_dtype(dtype)))

    def export_base(self, *, dtype: str = "float32") -> np.ndarray:
        """Safetensors bytes of the whole base model without the LoRA delta (nf4 dequantized: the base this
        learner computes with), for a sampler's start-up; after that only `export_adapter` moves."""
        blob = Packer().pack(dense_weights(self.model, full=True, dtype=torch_dtype(dtype), with_delta=False))
        release_heap()  # the dense copies it packed from
        return blob

    def export_adapter(self) -> tuple[np.ndarray, dict]:
        """(safetensors bytes of the LoRA factors, `rlvr.sync.wire.adapter_tensors`; what the samplers must serve).

        The second item, for the driver's check (`rlvr.sync.push.verify_update`): this learner's step
        (`version`), the blob's size (`bytes`), per module the fingerprint of its update and (`base`) of the
        frozen base it computes with, both from the parameters themselves. The array is this learner's export
        buffer (see `export_weights`).
        """
        from rlvr.sync.push import lowrank_fingerprint

        factors = lora_factors(self.model)
        blob = self._packer.pack(adapter_tensors(factors, self.step))
        fingerprints = {m: lowrank_fingerprint(m, f.a, f.b, f.scaling).flatten().tolist() for m, f in factors.items()}
        if self._base_fp is None:
            self._base_fp = base_fingerprints(self.model)
        return blob, {"version": self.step, "bytes": int(blob.nbytes), "fingerprints": fingerprints,
                      "base": self._base_fp}

    def save_adapter(self, path: str | os.PathLike) -> None:
        """peft adapter folder (adapter_config.json + adapter_model.safetensors): loads in peft and vLLM."""
        self.model.save_pretrained(str(path))

    # ---- checkpoints ----------------------------------------------------------------------------
    def save_checkpoint(self, path: str | os.PathLike) -> None:
        """Adapter, optimizer state, step and RNG states, written to a temporary folder then renamed.

        A crash leaves either the previous checkpoint or the new one at `path` (plus, at worst, a stray
        hidden `.tmp`/`.old` sibling), never a half-written folder.
        """
        path = Path(path)
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        self.save_adapter(tmp / "adapter")
        torch.save(self.optimizer.state_dict(), tmp / "optimizer.pt")
        torch.save(_rng_states(), tmp / "rng.pt")
        (tmp / "state.json").write_text(json.dumps({"step": self.step, "identity": self.identity}, indent=1))
        old = path.with_name(f".{path.name}.old-{os.getpid()}")
        if path.exists():
            path.rename(old)
        tmp.rename(path)
        shutil.rmtree(old, ignore_errors=True)

    def load_checkpoint(self, path: str | os.PathLike) -> None:
        """Restore what `save_checkpoint` wrote; refuses a checkpoint of a differently shaped adapter."""
        from peft import set_peft_model_state_dict
        from safetensors.torch import load_file

        path = Path(path)
        state = json.loads((path / "state.json").read_text())
        if state["identity"] != self.identity:
            raise ValueError(f"checkpoint {path} was made by {state['identity']}, this learner is {self.identity}")
        weights = load_file(str(path / "adapter" / "adapter_model.safetensors"), device=str(self.device))
        result = set_peft_model_state_dict(self.model, weights)
        if getattr(result, "unexpected_keys", None):
            raise ValueError(f"unexpected adapter keys in {path}: {result.unexpected_keys[:5]}")
        self.optimizer.load_state_dict(torch.load(path / "optimizer.pt", map_location=self.device))
        _set_rng_states(torch.load(path / "rng.pt", weights_only=False))
        self.step = int(state["step"])


def _validate(samples: list[TrainSample]) -> None:
    """Refuse a malformed batch before any forward pass, so a bad sample cannot leave half a step."""
    if not samples:
        raise ValueError("train_step needs at least one sample")
    for i, s in enumerate(samples):
        if not s.prompt_ids or not s.completion_ids:
            raise ValueError(f"sample {i}: prompt_ids and completion_ids must both be non-empty")
        if s.loss_mask is not None and (len(s.loss_mask) != len(s.completion_ids) or set(s.loss_mask) - {0, 1}
                                       or not any(s.loss_mask)):
            raise ValueError(f"sample {i}: loss_mask must hold one 0 or 1 per completion token, at least one 1")
        for name in ("old_logprobs", "sampler_logprobs"):
            given = getattr(s, name)
            if given is not None and len(given) != len(s.completion_ids):
                raise ValueError(f"sample {i}: {name} has {len(given)} entries for {len(s.completion_ids)} tokens")


def _loss_tokens(sample: TrainSample) -> int:
    """The completion tokens a sample trains on (its model tokens: an observation's are masked out)."""
    return len(sample.completion_ids) if sample.loss_mask is None else sum(sample.loss_mask)


def _loss_masks(chunk: list[TrainSample], completion_mask: torch.Tensor) -> torch.Tensor:
    """Each sample's `loss_mask` laid out like the completions (1 where it has none, 0 at pads).

    completion_mask: [B, Lc] bool. Returns [B, Lc] float.
    """
    out = completion_mask.float()  # [B, Lc]
    for i, s in enumerate(chunk):
        if s.loss_mask is not None:
            out[i, : len(s.loss_mask)] = torch.tensor(s.loss_mask, dtype=out.dtype, device=out.device)
    return out


def _given(chunk: list[TrainSample], field: str, default: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-token logprobs from each sample's `field` where it is set, `default`'s rows elsewhere.

    default: [B, Lc]. Returns ([B, Lc], which rows were given [B] bool).
    """
    out = default.clone()  # [B, Lc]
    rows = torch.zeros(len(chunk), dtype=torch.bool, device=default.device)  # [B]
    for i, s in enumerate(chunk):
        given = getattr(s, field)
        if given is not None:
            out[i, : len(given)] = torch.tensor(given, dtype=out.dtype, device=out.device)
            rows[i] = True
    return out, rows


def _accumulate(sums: dict[str, float], stats: dict, share: float) -> None:
    """Batch-level stats from micro-batch ones: maxima stay maxima, the rest are share-weighted means."""
    for key, value in stats.items():
        if key == "loss":  # weighted by the caller, by the chunk's share of the loss
            continue
        if key.endswith("_max"):
            sums[key] = max(sums.get(key, float("-inf")), float(value))
        else:
            sums[key] += share * float(value)


def _seed_all(seed: int) -> None:
    random.seed(seed)
    torch.manual_seed(seed)


def _rng_states() -> dict:
    states = {"python": random.getstate(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def _set_rng_states(states: dict) -> None:
    random.setstate(states["python"])
    torch.set_rng_state(states["torch"])
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


def make_learner_actor(model_dir: str, *, num_cpus: float = 1, num_gpus: float | None = None,
                       resources: dict[str, float] | None = None, **kwargs):
    """Start a `Learner` as a Ray actor (Ray must be initialised); `kwargs` go to `Learner`.

    `num_gpus=None` takes one GPU when the cluster has one, else none; `resources` are custom Ray resources
    that pin it to the nodes declaring them (`ray.learner_resources`). A factory rather than a
    module-level `ray.remote(Learner)` so that importing this module does not import Ray.
    """
    import ray

    if num_gpus is None:
        num_gpus = 1 if ray.cluster_resources().get("GPU", 0) >= 1 else 0
    actor_cls = ray.remote(num_cpus=num_cpus, num_gpus=num_gpus, resources=dict(resources or {}))(Learner)
    return actor_cls.remote(model_dir, **kwargs)
