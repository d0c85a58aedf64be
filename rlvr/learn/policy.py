"""The QLoRA policy model: load, score tokens, export dense weights.

Why a module of its own: the learner's optimisation loop (`rlvr.learn.learner`) and the loss math (`rlvr.learn.grpo`)
should not know how a 4-bit base model is loaded, patched and dequantized. This module owns those facts:

- loading a causal LM as nf4 (bitsandbytes through transformers) or dense, on CPU or one GPU, with a
  LoRA adapter from peft on top;
- the bitsandbytes AVX512-BF16 CPU trap (docs: STACK-FACTS): the first eval-mode no-grad forward would
  repack the 4-bit weights in place and break training and dequantization afterwards, so the repack is
  switched off on every `Linear4bit` right after loading;
- token log-probabilities of right-padded (prompt, completion) batches, running the LM head only on the
  positions that predict completion tokens (half the head's cost and memory for ~60-token prompts);
- what the samplers need to serve this very policy: the dense base once (`dense_weights(with_delta=False)`:
  dequantized nf4 base under HF parameter names, the base the learner actually computes with) and, after
  every step, the LoRA factors alone (`lora_factors`). `dense_weights` with the delta merged stays for
  peers that serve a plain model. Never `merge_and_unload()` on a 4-bit model: it re-quantizes the
  merged weight.

What it does not do: optimisation, checkpoints, loss math, Ray. The LM head path assumes the logits are
`lm_head(final hidden state)` (Llama, Qwen2, Mistral, SmolLM2); models with logit soft-capping or scaling
are refused rather than scored wrongly.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from rlvr.learn.grpo import sampling_logprobs

_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def torch_dtype(name: str) -> torch.dtype:
    if name not in _DTYPES:
        raise ValueError(f"dtype must be one of {sorted(_DTYPES)}, got {name!r}")
    return _DTYPES[name]


def resolve_device(device: str) -> torch.device:
    """"auto" -> the first GPU when torch sees one, else the CPU; a GPU is never required."""
    if device == "auto":
        return torch.device("cuda:0" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def load_policy(
    model_dir: str,
    *,
    quantize: str,
    lora_rank: int,
    lora_alpha: float,
    lora_dropout: float,
    target_modules: tuple[str, ...],
    dtype: torch.dtype,
    device: torch.device,
    grad_checkpoint: bool = False,
):
    """Base model (nf4 or dense, frozen) + a fresh LoRA adapter; the caller seeds torch first.

    The LoRA B matrices start at zero, so the adapted model equals the base model until a step is taken.
    `grad_checkpoint`: in train mode each decoder block keeps only its input and recomputes the rest in the
    backward pass (non-reentrant, so the frozen embeddings need no grad): the same gradients, less memory.
    """
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, BitsAndBytesConfig

    if quantize == "nf4":
        qc = BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=dtype
        )
        device_map = {"": device.index or 0} if device.type == "cuda" else "cpu"
        base = AutoModelForCausalLM.from_pretrained(
            model_dir, quantization_config=qc, device_map=device_map, dtype=dtype
        )
        disable_cpu_repack(base)
    elif quantize == "none":
        base = AutoModelForCausalLM.from_pretrained(model_dir, dtype=dtype).to(device)
    else:
        raise ValueError(f"quantize must be 'nf4' or 'none', got {quantize!r}")
    _check_plain_head(base.config)
    config = LoraConfig(
        r=lora_rank, lora_alpha=lora_alpha, lora_dropout=lora_dropout,
        target_modules=list(target_modules), bias="none", task_type="CAUSAL_LM",
    )
    model = get_peft_model(base, config)
    if grad_checkpoint:
        base.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    return model


def disable_cpu_repack(model: torch.nn.Module) -> int:
    """Switch off bitsandbytes' in-place CPU repack on every Linear4bit; returns how many were patched.

    bitsandbytes 0.50 sets `support_avx512bf16_for_cpu` per layer at construction; when it is true, the
    first forward in eval mode without grad rewrites `weight.data` into a packed layout with bf16 scales.
    """
    import bitsandbytes as bnb

    count = 0
    for module in model.modules():
        if isinstance(module, bnb.nn.Linear4bit):
            module.support_avx512bf16_for_cpu = False
            count += 1
    return count


def _check_plain_head(config) -> None:
    for attr in ("final_logit_softcapping", "logit_scale"):
        if getattr(config, attr, None) not in (None, 1.0):
            raise NotImplementedError(f"models with {attr}={getattr(config, attr)} are not supported")


@dataclass(frozen=True)
class TokenBatch:
    """Right-padded (prompt + completion) sequences and where their completion tokens are.

    `pred_mask[b, t]` is true where position t predicts a completion token (`targets[b, t]`);
    `completion_mask[b, j]` is true for the j-th completion token of row b (completion-aligned layout).
    Both enumerate the same tokens in the same row-major order.
    """

    input_ids: torch.Tensor  # [B, T] long, pad 0
    attention_mask: torch.Tensor  # [B, T] long
    pred_mask: torch.Tensor  # [B, T] bool
    targets: torch.Tensor  # [B, T] long: input_ids shifted left, 0 where unused
    completion_mask: torch.Tensor  # [B, Lc] bool


def pack_batch(prompts: list[list[int]], completions: list[list[int]], device: torch.device) -> TokenBatch:
    """Lay out sequences left-aligned, right-padded; the loss positions are the completion's predictors."""
    if len(prompts) != len(completions) or not prompts:
        raise ValueError("need the same non-zero number of prompts and completions")
    seqs = [list(p) + list(c) for p, c in zip(prompts, completions, strict=True)]
    n, t_max = len(seqs), max(len(s) for s in seqs)
    l_max = max(len(c) for c in completions)
    input_ids = torch.zeros(n, t_max, dtype=torch.long)  # [B, T]
    attention = torch.zeros(n, t_max, dtype=torch.long)  # [B, T]
    pred = torch.zeros(n, t_max, dtype=torch.bool)  # [B, T]
    comp = torch.zeros(n, l_max, dtype=torch.bool)  # [B, Lc]
    for i, (p, c, s) in enumerate(zip(prompts, completions, seqs, strict=True)):
        if not p or not c:
            raise ValueError(f"sequence {i}: prompt and completion must both be non-empty")
        input_ids[i, : len(s)] = torch.tensor(s)
        attention[i, : len(s)] = 1
        pred[i, len(p) - 1 : len(s) - 1] = True
        comp[i, : len(c)] = True
    targets = torch.zeros_like(input_ids)  # [B, T]
    targets[:, :-1] = input_ids[:, 1:]
    return TokenBatch(
        input_ids.to(device), attention.to(device), pred.to(device), targets.to(device), comp.to(device)
    )


def token_logprobs(model, batch: TokenBatch, *, temperature: float, top_p: float) -> torch.Tensor:
    """Log-probability of each completion token under `model` (peft-wrapped causal LM) *as sampled*: the
    distribution softmax(logits / temperature), renormalised over the top-p nucleus when top_p < 1
    (`rlvr.learn.grpo.sampling_logprobs`). [B, Lc], 0 at pads. temperature=1, top_p=1 is the model's own.

    Runs the transformer body once and the LM head only on the predicting positions.
    """
    causal_lm = model.get_base_model()
    out = causal_lm.model(input_ids=batch.input_ids, attention_mask=batch.attention_mask, use_cache=False)
    hidden = out.last_hidden_state[batch.pred_mask]  # [n_tok, H]
    logits = causal_lm.lm_head(hidden).float()  # [n_tok, V]
    targets = batch.targets[batch.pred_mask]  # [n_tok]
    logp = sampling_logprobs(logits, targets, temperature=temperature, top_p=top_p)  # [n_tok]
    result = logp.new_zeros(batch.completion_mask.shape)  # [B, Lc]
    return result.masked_scatter(batch.completion_mask, logp)


def dense_weights(model, *, full: bool = False, dtype: torch.dtype = torch.bfloat16,
                  with_delta: bool = True) -> dict[str, torch.Tensor]:
    """Dense weights under HF names (`model.layers.0.self_attn.q_proj.weight`), on CPU, in `dtype`.

    Always: every LoRA-targeted module as dequantized base + LoRA delta (B @ A * scaling; the base alone
    when not `with_delta`). With `full`, also every other parameter (embeddings, norms, an untied
    lm_head, untargeted 4-bit layers dequantized). A tied parameter appears once, under its first name,
    as in HF's own safetensors files.
    """
    from peft.tuners.lora import LoraLayer

    causal_lm = model.get_base_model()
    lora_names = [name for name, m in causal_lm.named_modules() if isinstance(m, LoraLayer)]
    out: dict[str, torch.Tensor] = {}
    seen: set[int] = set()
    with torch.no_grad():
        for name in lora_names:
            layer = causal_lm.get_submodule(name)
            base = layer.get_base_layer()
            weight = _dense_weight(base)  # [out, in] fp32
            if weight.data_ptr() == base.weight.data_ptr():  # an fp32 base: never add into the model itself
                weight = weight.clone()
            for adapter in layer.active_adapters if with_delta else ():
                if adapter in layer.lora_A:
                    _add_delta_(weight, layer, adapter)
            out[f"{name}.weight"] = weight
            seen.add(id(base.weight))
            if base.bias is not None:
                out[f"{name}.bias"] = base.bias.detach().float()
                seen.add(id(base.bias))
        if full:
            _add_other_params(causal_lm, lora_names, out, seen)
    return {k: v.to(dtype=dtype, device="cpu").contiguous() for k, v in out.items()}


@dataclass(frozen=True)
class LoraFactors:
    """One LoRA-adapted linear module: its update is `scaling * b @ a` (fp32, CPU copies)."""

    a: torch.Tensor  # [r, in]
    b: torch.Tensor  # [out, r]
    scaling: float


def lora_factors(model) -> dict[str, LoraFactors]:
    """Each LoRA-adapted module's factors under its HF module name (`model.layers.0.self_attn.q_proj`).

    The learner's whole trainable update, ~r * (in + out) numbers per module instead of in * out: what
    crosses the wire each step. Refuses adapter kinds whose update is not `scaling * B @ A` (DoRA,
    fan-in-fan-out, embedding LoRA) rather than exporting a different policy.
    """
    from peft.tuners.lora import LoraLayer

    causal_lm = model.get_base_model()
    out: dict[str, LoraFactors] = {}
    for name, layer in causal_lm.named_modules():
        if not isinstance(layer, LoraLayer):
            continue
        adapters = [a for a in layer.active_adapters if a in layer.lora_A]
        if len(adapters) != 1:
            raise NotImplementedError(f"{name}: {len(adapters)} active LoRA adapters; adapter sync serves exactly one")
        (adapter,) = adapters
        if getattr(layer, "fan_in_fan_out", False) or layer.use_dora.get(adapter, False):
            raise NotImplementedError(f"{name}: DoRA / fan_in_fan_out adapters are not served by adapter sync")
        a, b = layer.lora_A[adapter].weight, layer.lora_B[adapter].weight
        if a.dim() != 2 or b.dim() != 2:
            raise NotImplementedError(f"{name}: only linear LoRA layers are served by adapter sync")
        out[name] = LoraFactors(a=a.detach().to("cpu", torch.float32, copy=True).contiguous(),
                                b=b.detach().to("cpu", torch.float32, copy=True).contiguous(),
                                scaling=float(layer.scaling[adapter]))
    return out


def base_fingerprints(model) -> dict[str, list[float]]:
    """Per LoRA-adapted module (HF name) the fingerprint of its base weight as this model computes with it
    (nf4 dequantized; `rlvr.sync.push.dense_fingerprint`, k*k floats): what a sampler's served base must match.

    One module dequantized at a time, so it costs no whole-model copy."""
    from peft.tuners.lora import LoraLayer

    from rlvr.sync.push import dense_fingerprint

    causal_lm = model.get_base_model()
    with torch.no_grad():
        return {name: dense_fingerprint(name, _dense_weight(layer.get_base_layer())).flatten().tolist()
                for name, layer in causal_lm.named_modules() if isinstance(layer, LoraLayer)}


def _add_delta_(weight: torch.Tensor, layer, adapter: str) -> None:
    """weight += B @ A * scaling, in place (one 425 MB model's worth fewer copies per sync than
    `weight + get_delta_weight()`); peft's own delta for the layouts this shortcut does not cover."""
    if getattr(layer, "fan_in_fan_out", False) or layer.use_dora.get(adapter, False):
        weight += layer.get_delta_weight(adapter).float()
        return
    a = layer.lora_A[adapter].weight.float()  # [r, in]
    b = layer.lora_B[adapter].weight.float()  # [out, r]
    weight.addmm_(b, a, alpha=layer.scaling[adapter])


def _add_other_params(causal_lm, lora_names: list[str], out: dict, seen: set[int]) -> None:
    inside_lora = tuple(f"{n}." for n in lora_names)
    for mod_name, module in causal_lm.named_modules():
        if mod_name in lora_names or mod_name.startswith(inside_lora):
            continue
        for p_name, param in module.named_parameters(recurse=False):
            if id(param) in seen:
                continue
            seen.add(id(param))
            full_name = f"{mod_name}.{p_name}" if mod_name else p_name
            out[full_name] = _dense_weight(module) if p_name == "weight" else param.detach().float()


def _dense_weight(module: torch.nn.Module) -> torch.Tensor:
    """A linear layer's weight as fp32 [out, in]: dequantized when it is a bitsandbytes 4-bit layer."""
    import bitsandbytes as bnb

    weight = module.weight
    if isinstance(module, bnb.nn.Linear4bit):
        state = weight.quant_state
        if getattr(state, "packing_format_for_cpu", False):
            raise RuntimeError(
                "4-bit weights were repacked for the CPU kernel (the AVX512-BF16 trap); refusing to export"
            )
        return bnb.functional.dequantize_4bit(weight.data, state).float()
    return weight.detach().float()
