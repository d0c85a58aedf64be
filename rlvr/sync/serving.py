"""The sampler's side of adapter-only weight sync: keep the base, serve each received LoRA adapter exactly.

Runs inside vLLM's worker (called by `rlvr.rollout.sampler.WeightLoaderExtension`, in-process or not). The base
arrives once (the learner's dequantized nf4 weights under HF names); after that each push carries only
the adapter: per LoRA-targeted module `lora_A` [r, in], `lora_B` [out, r] (fp32) and `scaling`
(`rlvr.sync.wire.adapter_tensors`). Two ways to serve it:

- ``lora`` (exact in every dtype): each targeted vLLM linear layer keeps its base weights (and vLLM's
  repacked kernels) untouched after start-up; its quant method is wrapped so that the layer's output gets
  ``x @ A^T @ (scaling * B)^T`` added, computed in fp32 from fp32 factor buffers that a push overwrites in
  place. Fused layers (qkv_proj, gate_up_proj) hold their pieces' factors block-diagonally. Merging into
  bf16 weights would round most of the update away (|dW|/|W| ~1e-3 is below bf16's resolution); this
  never rounds it. Costs two rank-r matmuls per layer and a copy of the factors per push.
- ``merge``: the sampler keeps the fp32 base of every targeted module and reloads ``base + scaling*B@A``
  cast to the serving dtype through vLLM's own reload (which re-packs the weights). Exact in fp32; in
  bf16 it rounds the update away (`rlvr.sync.push` says so at start and measures how much).

`report()` fingerprints what is served (`rlvr.sync.push.lowrank_fingerprint` / `dense_fingerprint`), read
from the live buffers in `lora` mode, so that the driver can compare it with the learner's own numbers; in
`lora` mode also the base, as the live kernels compute it.

What this module does NOT do: decide the mode (`rlvr.sync.push.resolve_mode`), compare fingerprints (the
driver does, `rlvr.sync.push`), or serve tensor-parallel engines (one worker per sampler; refused otherwise).
The `lora` wrap needs an eager engine (the default: `Sampler(enforce_eager=True)`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from rlvr.sync.push import dense_fingerprint, lowrank_fingerprint, probe_vectors
from rlvr.sync.wire import parse_adapter

__all__ = ["AdapterServer", "MODES"]

MODES = ("lora", "merge")


@dataclass
class _Piece:
    """Where one HF module's update lives in a (possibly fused) vLLM layer."""

    layer: str  # vLLM module name, e.g. model.layers.0.self_attn.qkv_proj
    index: int  # piece index inside the fused layer (0 when not fused)
    pieces: int  # how many pieces the layer fuses
    rows: slice  # its output rows in the layer


@dataclass
class _LayerLora:
    """A vLLM layer's served factors: a [pieces * r, in] and b [out, pieces * r] (block-diagonal), fp32."""

    a: torch.Tensor | None = None
    b: torch.Tensor | None = None


class _LoraMethod:
    """Wraps a vLLM layer's quant method: base output (vLLM's own kernel) + the served adapter's update."""

    def __init__(self, inner, lora: _LayerLora):
        self.__dict__.update(inner=inner, lora=lora)

    def __getattr__(self, name):  # everything but `apply` is the wrapped method's
        return getattr(self.__dict__["inner"], name)

    def apply(self, layer, x: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
        out = self.inner.apply(layer, x, bias)  # [..., out]
        a, b = self.lora.a, self.lora.b
        if a is None:
            return out
        delta = F.linear(F.linear(x.to(a.dtype), a), b)  # [..., out] fp32
        return out + delta.to(out.dtype)


@dataclass
class AdapterServer:
    """Keeps what a sampler needs of the base and serves each received adapter (see the module docstring)."""

    model: torch.nn.Module = field(repr=False)
    mode: str
    dtype: torch.dtype
    version: int = -1
    received: dict = field(default_factory=dict)  # module -> fingerprint of the factors as received
    _pieces: dict = field(default_factory=dict)  # HF module -> _Piece
    _layers: dict = field(default_factory=dict)  # vLLM layer name -> _LayerLora
    _shapes: dict = field(default_factory=dict)  # vLLM layer name -> (module, pieces, out, in)
    _base: dict = field(default_factory=dict)  # merge: HF module -> fp32 base weight [out, in]
    _base_fp: dict = field(default_factory=dict)  # merge: HF module -> fingerprint of the served base
    _served: dict = field(default_factory=dict)  # merge: HF module -> fingerprint of the served update

    def __post_init__(self):
        if self.mode not in MODES:
            raise ValueError(f"serving mode must be one of {MODES}, got {self.mode!r}")

    def load_base(self, tensors: dict[str, torch.Tensor], targets: list[str], reload) -> None:
        """Load the base into the engine (`reload(dict)`: vLLM's in-place reload) and keep what `mode` needs.

        A previous server's wraps are removed first: vLLM's reload only knows its own quant methods."""
        unwrap(self.model)
        reload({k: v.to(self.dtype) for k, v in tensors.items()})
        if self.mode == "merge":
            missing = [m for m in targets if f"{m}.weight" not in tensors]
            if missing:
                raise ValueError(f"the base lacks the targeted modules {missing[:3]}")
            self._base = {m: tensors[f"{m}.weight"].float().clone() for m in targets}
            self._base_fp = {m: dense_fingerprint(m, w.to(self.dtype)) for m, w in self._base.items()}
        else:
            self._pieces = {m: _locate(self.model, m) for m in targets}
            for piece in self._pieces.values():
                if piece.layer not in self._layers:
                    module = self.model.get_submodule(piece.layer)
                    out_features = sum(getattr(module, "output_sizes", None) or [module_out(module)])
                    self._shapes[piece.layer] = (module, piece.pieces, out_features, module_in(module))
                    self._layers[piece.layer] = _LayerLora()
            self.wrap()
        self.version, self.received, self._served = -1, {}, {}

    def wrap(self) -> None:
        """Put the adapter path into every served layer (`lora` mode; `unwrap` takes it out again)."""
        for name, lora in self._layers.items():
            module = self._shapes[name][0]
            if not isinstance(module.quant_method, _LoraMethod):
                module.quant_method = _LoraMethod(module.quant_method, lora)

    def apply(self, tensors: dict[str, torch.Tensor], reload) -> None:
        """Serve the adapter in `tensors` (`rlvr.sync.wire.adapter_tensors`); refuses a partial one untouched."""
        version, factors = parse_adapter(tensors)
        targets = self._base if self.mode == "merge" else self._pieces
        missing, extra = sorted(set(targets) - set(factors)), sorted(set(factors) - set(targets))
        if missing or extra:
            raise ValueError(f"adapter push (version {version}) does not match the served modules: "
                             f"missing {missing[:3]} ({len(missing)}), unexpected {extra[:3]} ({len(extra)})")
        if self.mode == "merge":
            self._merge(factors, reload)
        else:
            self._set_factors(factors)
        self.received = {m: lowrank_fingerprint(m, f.a, f.b, f.scaling) for m, f in factors.items()}
        self.version = version

    def _set_factors(self, factors) -> None:
        rank = next(iter(factors.values())).a.shape[0]
        for name, lora in self._layers.items():
            module, pieces, out_features, in_features = self._shapes[name]
            if lora.a is None or lora.a.shape[0] != pieces * rank:
                device = _device(module)
                lora.a = torch.zeros(pieces * rank, in_features, dtype=torch.float32, device=device)
                lora.b = torch.zeros(out_features, pieces * rank, dtype=torch.float32, device=device)
        for m, f in factors.items():
            p, lora = self._pieces[m], self._layers[self._pieces[m].layer]
            cols = slice(p.index * rank, (p.index + 1) * rank)
            lora.a[cols].copy_(f.a)
            lora.b[p.rows, cols].copy_(f.b * f.scaling)

    def _merge(self, factors, reload) -> None:
        served, weights = {}, {}
        for m, f in factors.items():
            w = self._base[m].clone().addmm_(f.b, f.a, alpha=f.scaling).to(self.dtype)  # [out, in]
            weights[f"{m}.weight"] = w
            served[m] = dense_fingerprint(m, w) - self._base_fp[m]
        reload(weights)
        self._served = served

    def report(self) -> dict:
        """What this sampler serves: the adapter version, and per module the fingerprints of the factors as
        received and of the update actually served (lists of floats; see `rlvr.sync.push`)."""
        return {"version": self.version, "mode": self.mode,
                "received": {m: fp.flatten().tolist() for m, fp in self.received.items()},
                "served": {m: fp.flatten().tolist() for m, fp in self._served_fingerprints().items()},
                "base": {m: fp.flatten().tolist() for m, fp in self._base_fingerprints().items()}}

    def _base_fingerprints(self) -> dict:
        """`lora` mode: per module V^T W U of the base as the live kernel computes it (the layer's own quant
        method, without the adapter, on the k probe vectors U in the serving dtype). A base that is not the
        learner's (its own weights where the learner computes on nf4, a layer left unloaded) shows here
        exactly, where the probe's logprobs may barely move. Merge mode serves base + update in one weight:
        its base is not separately visible, so nothing is reported."""
        if self.mode != "lora":
            return {}
        out = {}
        with torch.no_grad():
            for m, p in self._pieces.items():
                module = self._shapes[p.layer][0]
                method = module.quant_method
                inner = method.inner if isinstance(method, _LoraMethod) else method
                v, u = probe_vectors(m, p.rows.stop - p.rows.start, module_in(module))  # [out, k], [in, k]
                x = u.t().contiguous().to(device=_device(module), dtype=self.dtype)  # [k, in]
                y = inner.apply(module, x)  # [k, out_total]
                out[m] = v.t() @ y[:, p.rows].t().cpu().double()  # [k, k]
        return out

    def _served_fingerprints(self) -> dict:
        if self.mode == "merge":
            return self._served
        out = {}
        for m, p in self._pieces.items():
            module, lora = self._shapes[p.layer][0], self._layers[p.layer]
            if lora.a is None or not isinstance(module.quant_method, _LoraMethod):
                continue  # not served: the driver's check names the module as missing
            # the rows this module's output gets: every column block (only its own should be non-zero)
            out[m] = lowrank_fingerprint(m, lora.a, lora.b[p.rows], 1.0)
        return out


def unwrap(model) -> int:
    """Give every layer wrapped by an `AdapterServer` its own quant method back; returns how many."""
    count = 0
    for module in model.modules():
        method = getattr(module, "quant_method", None)
        if isinstance(method, _LoraMethod):
            module.quant_method = method.inner
            count += 1
    return count


def _locate(model, hf_module: str) -> _Piece:
    """The vLLM layer (and rows in it) that serves HF module `hf_module`, following the model's fusing."""
    parent, _, leaf = hf_module.rpartition(".")
    for packed, members in (getattr(model, "packed_modules_mapping", None) or {}).items():
        if leaf in members:
            name = f"{parent}.{packed}" if parent else packed
            module = _submodule(model, name, hf_module)
            sizes = list(module.output_sizes)
            index = list(members).index(leaf)
            if len(sizes) != len(members):
                raise ValueError(f"{name}: {len(sizes)} output pieces for {len(members)} fused modules")
            start = sum(sizes[:index])
            return _Piece(name, index, len(members), slice(start, start + sizes[index]))
    module = _submodule(model, hf_module, hf_module)
    rows = getattr(module, "org_vocab_size", None) or module_out(module)  # an LM head's rows: the unpadded vocab
    return _Piece(hf_module, 0, 1, slice(0, int(rows)))


def _submodule(model, name: str, hf_module: str):
    try:
        module = model.get_submodule(name)
    except AttributeError:
        raise ValueError(f"LoRA module {hf_module} has no vLLM layer {name}: serve it with sync.mode: merge") from None
    if not hasattr(module, "quant_method"):
        raise ValueError(f"vLLM layer {name} (for {hf_module}) is not a linear layer: use sync.mode: merge")
    if getattr(module, "tp_size", 1) != 1:
        raise NotImplementedError(f"{name}: tensor-parallel layers are not served by sync.mode: lora")
    return module


def module_out(module) -> int:
    size = getattr(module, "output_size_per_partition", None) or getattr(module, "num_embeddings_per_partition", None)
    if size is None:
        raise ValueError(f"cannot tell the output size of {type(module).__name__}")
    return int(size)


def module_in(module) -> int:
    size = getattr(module, "input_size_per_partition", None) or getattr(module, "embedding_dim", None)
    if size is None:
        raise ValueError(f"cannot tell the input size of {type(module).__name__}")
    return int(size)


def _device(module) -> torch.device:
    for t in list(module.parameters()) + list(module.buffers()):
        return t.device
    return torch.device("cpu")
