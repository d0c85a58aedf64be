"""Hand the memory a learner step freed back to the operating system (glibc's `malloc_trim`).

Why: a train step allocates its activations, logits and their gradients (GiBs), frees them when it ends,
and glibc keeps the freed pages in its arenas instead of returning them. Measured on the embedded
SmolLM2-135M learner (32 samples of ~174 tokens, micro_batch 16, 2026-12-02): RSS 7.19 GiB after a step,
1.15 GiB after `malloc_trim(0)`; 2.05 -> 1.40 GiB after `export_base`. Between steps the learner idles
while the sampler generates and the reward workers run, so what it holds then is memory the rest of the
job on the same machine cannot use.

What it does not do: lower the peak *within* a step (that is the step's own tensors: micro_batch,
grad_checkpoint), free anything still referenced, or do anything where the C library is not glibc
(macOS, musl): `release_heap` then returns False.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

__all__ = ["release_heap"]


@functools.cache
def _malloc_trim():
    """glibc's malloc_trim, or None where this process's C library has none."""
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        fn = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):
        return None
    fn.argtypes, fn.restype = [ctypes.c_size_t], ctypes.c_int
    return fn


def release_heap() -> bool:
    """Return freed heap pages to the OS; True when glibc did (it says whether any memory was released)."""
    fn = _malloc_trim()
    return bool(fn(0)) if fn is not None else False
