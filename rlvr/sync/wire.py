"""The weight-sync wire format: safetensors bytes, written into one buffer reused across syncs, read as views.

Why not `safetensors.torch.save`/`load`: every sync sends the same layout (SmolLM2-135M's LoRA-targeted
modules, fp32: 425 MB), and `save` builds a fresh `bytes` object each time. Touching 425 MB of new memory
costs page faults, not copying: on the 2-core CI machine `save` took 0.75 s of a 1.3 s sync, against
0.05 s to copy the same tensors into memory written once before. `load` then copied every tensor out
again. `Packer.pack` writes into a buffer it keeps while the layout stays the same; `unpack` returns
tensors that are views into the bytes it is given, so nothing is copied before the engine's own copy
into its parameters.

The bytes are plain safetensors (header length, JSON header, data; the header padded with spaces to 8
bytes): `safetensors.torch.load(bytes(buf))` reads what `pack` wrote, and `unpack` reads what
`safetensors.torch.save` writes.

The adapter a push carries after start-up (`adapter_tensors` / `parse_adapter`): per LoRA module
`{module}.lora_A` [r, in], `{module}.lora_B` [out, r], `{module}.lora_scaling` [1] (fp32, HF module
names) and `rlvr.version` [1] (int64: the learner's step), so a sampler can say which update it serves.

What this module does NOT do: choose the tensors (`rlvr.learn.policy.dense_weights`, `lora_factors`), move them between
processes (Ray's object store: a numpy array is one copy in and zero copies out), or load them into an
engine (`rlvr.rollout.sampler`).
"""

from __future__ import annotations

import json
import struct
import warnings

import numpy as np
import torch

__all__ = ["Packer", "adapter_tensors", "parse_adapter", "unpack", "tensor_names"]

_VERSION = "rlvr.version"
_PARTS = (".lora_A", ".lora_B", ".lora_scaling")

_CODES = {torch.float64: "F64", torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
          torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8", torch.uint8: "U8",
          torch.bool: "BOOL"}
_DTYPES = {code: dtype for dtype, code in _CODES.items()}


class Packer:
    """Packs state dicts into one reusable buffer. Not thread-safe; one per exporter.

    The array `pack` returns is (a prefix of) that buffer: it is valid until the next `pack` call. Ray
    copies a returned array into its object store when the actor method returns, so a learner actor can
    return it. The buffer only grows: after a sampler's first, full sync the smaller per-update layout
    fits into memory already touched.
    """

    def __init__(self) -> None:
        self._layout: tuple | None = None
        self._memory = np.empty(0, dtype=np.uint8)
        self._buffer = self._memory
        self._offsets: list[tuple[int, int]] = []

    def pack(self, tensors: dict[str, torch.Tensor]) -> np.ndarray:
        """Safetensors bytes of `tensors` (CPU, any supported dtype) as a uint8 array."""
        layout = tuple((name, t.dtype, tuple(t.shape)) for name, t in tensors.items())
        if layout != self._layout:
            self._allocate(layout)
        data = torch.from_numpy(self._buffer)  # [total] uint8, shares memory with the buffer
        for (start, end), t in zip(self._offsets, tensors.values(), strict=True):
            if end > start:
                data[start:end].view(t.dtype).view(t.shape).copy_(t)
        return self._buffer

    def _allocate(self, layout: tuple) -> None:
        # Widest dtypes first, so that every tensor starts aligned to its own element size.
        order = sorted(range(len(layout)), key=lambda i: -layout[i][1].itemsize)
        header: dict[str, dict] = {}
        spans: dict[int, tuple[int, int]] = {}
        pos = 0
        for i in order:
            name, dtype, shape = layout[i]
            if dtype not in _CODES:
                raise TypeError(f"{name}: dtype {dtype} has no safetensors code")
            size = dtype.itemsize * int(np.prod(shape, dtype=np.int64))
            header[name] = {"dtype": _CODES[dtype], "shape": list(shape), "data_offsets": [pos, pos + size]}
            spans[i] = (pos, pos + size)
            pos += size
        text = json.dumps(header, separators=(",", ":")).encode()
        text += b" " * (-len(text) % 8)
        start = 8 + len(text)
        if start + pos > len(self._memory):
            self._memory = np.empty(start + pos, dtype=np.uint8)
        self._buffer = self._memory[:start + pos]
        self._buffer[:8] = np.frombuffer(struct.pack("<Q", len(text)), dtype=np.uint8)
        self._buffer[8:start] = np.frombuffer(text, dtype=np.uint8)
        self._offsets = [(start + spans[i][0], start + spans[i][1]) for i in range(len(layout))]
        self._layout = layout


def _header(blob) -> tuple[dict, int, memoryview]:
    view = memoryview(blob).cast("B")
    if len(view) < 8:
        raise ValueError(f"not safetensors: {len(view)} bytes")
    (size,) = struct.unpack("<Q", view[:8])
    if 8 + size > len(view):
        raise ValueError(f"not safetensors: header of {size} bytes in a buffer of {len(view)}")
    try:
        header = json.loads(bytes(view[8:8 + size]))
    except ValueError as e:
        raise ValueError(f"not safetensors: unreadable header ({e})") from None
    header.pop("__metadata__", None)
    return header, 8 + size, view


def tensor_names(blob) -> list[str]:
    """The tensor names in safetensors bytes, from the header alone."""
    return list(_header(blob)[0])


def unpack(blob) -> dict[str, torch.Tensor]:
    """Tensors of safetensors bytes (bytes, bytearray, memoryview, numpy array) as views into `blob`.

    The views share memory with `blob`: copy what must outlive it. Read-only buffers give tensors that
    must not be written (torch warns once about that; the warning is silenced here).
    """
    header, start, view = _header(blob)
    out = {}
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The given buffer is not writable")
        for name, entry in header.items():
            dtype = _DTYPES.get(entry["dtype"])
            if dtype is None:
                raise ValueError(f"{name}: unsupported safetensors dtype {entry['dtype']}")
            begin, end = entry["data_offsets"]
            shape = entry["shape"]
            if start + end > len(view) or end - begin != dtype.itemsize * int(np.prod(shape, dtype=np.int64)):
                raise ValueError(f"{name}: data offsets {begin}..{end} do not fit shape {shape} in {len(view)} bytes")
            if end == begin:
                out[name] = torch.empty(shape, dtype=dtype)
                continue
            flat = torch.frombuffer(view, dtype=torch.uint8, offset=start + begin, count=end - begin)
            out[name] = flat.view(dtype).view(shape)
    return out


def adapter_tensors(factors: dict, version: int) -> dict[str, torch.Tensor]:
    """The adapter's wire tensors from `rlvr.learn.policy.lora_factors` output (module -> a, b, scaling)."""
    out = {_VERSION: torch.tensor([version], dtype=torch.int64)}
    for name, f in factors.items():
        out[f"{name}.lora_A"] = f.a
        out[f"{name}.lora_B"] = f.b
        out[f"{name}.lora_scaling"] = torch.tensor([f.scaling], dtype=torch.float32)
    return out


def parse_adapter(tensors: dict[str, torch.Tensor]) -> tuple[int, dict]:
    """(version, module -> LoraFactors) from `adapter_tensors` output; ValueError on an incomplete module."""
    from rlvr.learn.policy import LoraFactors

    if _VERSION not in tensors:
        raise ValueError("not an adapter push: no rlvr.version tensor")
    version = int(tensors[_VERSION].reshape(-1)[0])
    modules: dict[str, dict] = {}
    for key, t in tensors.items():
        for part in _PARTS:
            if key.endswith(part):
                modules.setdefault(key[: -len(part)], {})[part] = t
    out = {}
    for name, parts in modules.items():
        if len(parts) != len(_PARTS):
            raise ValueError(f"adapter push (version {version}): module {name} lacks {sorted(set(_PARTS) - set(parts))}")
        a, b = parts[".lora_A"], parts[".lora_B"]
        if a.dim() != 2 or b.dim() != 2 or a.shape[0] != b.shape[1]:
            raise ValueError(f"adapter push: {name} has lora_A {tuple(a.shape)} and lora_B {tuple(b.shape)}")
        out[name] = LoraFactors(a=a, b=b, scaling=float(parts[".lora_scaling"].reshape(-1)[0]))
    return version, out
