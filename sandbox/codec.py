"""Wire format between the judge and the untrusted child, and between the pool and its workers.

Frames are a 4-byte big-endian length followed by UTF-8 JSON. Values are JSON with tags for the built-in
types JSON lacks (tuple, dict with any keys, set, frozenset, bytes, complex, big int) and one tag, "H", for
a *handle*: an object the child keeps and the judge may only ask about (remote.py), so a test that checks
`isinstance(result, tuple)` still works across the process boundary and `Solution()` can be called.

Why decode to plain types: whatever the child sends, `decode_value` only ever builds `int`, `float`, `str`,
`list`, `tuple`, ... (or the judge's own handle objects), never an object of the candidate's classes, so a
lying `__eq__` cannot reach the trusted comparison.

Why decoding is bounded by the size of the bytes: the judge decodes hostile input, so every step is linear in
the frame's length (capped by the caller): nesting is capped at 100 levels, ints beyond 60 bits travel as
hex (base-16 parsing is linear; decimal is quadratic), and a set, frozenset or dict whose members share
hashes (e.g. ints congruent modulo 2**61 - 1, which make CPython's hash table quadratic) is refused before
it is built (`HashCollision`).
What this module does NOT do: keep object identity (a list mutated in place by the candidate is copied back
by the judge, see remote.py), or send functions, classes or arbitrary objects other than as handles.
"""

from __future__ import annotations

import base64
import json
import math
import os
import struct
from collections import Counter

HEADER = struct.Struct("!I")
MAX_DEPTH = 100
_BIG = 60  # ints wider than this many bits travel as hex
_TAGS = ("T", "D", "S", "F", "B", "C", "I", "H")


class CodecError(ValueError):
    """A value that cannot be encoded, or bytes that are not a valid message."""


class HashCollision(CodecError):
    """A set/dict whose members share hashes: building it would cost quadratic time in the judge."""


def encode_value(x, depth: int = 0, on_object=None):
    """Turn a Python value into JSON-able data with tags; subclasses are reduced to their base type.

    `on_object(x) -> int | None` (optional) turns any other object into a handle id (None: not a handle);
    objects it declines are sent as lists (numpy's `tolist`), ints (`__index__`) or refused (CodecError).
    """
    if depth > MAX_DEPTH:
        raise CodecError(f"value nested deeper than {MAX_DEPTH} levels")
    if x is None or isinstance(x, bool):
        return None if x is None else bool(x)
    if isinstance(x, int):
        v = int.__int__(x)
        return v if v.bit_length() <= _BIG else {"I": format(v, "x")}
    if isinstance(x, float):
        return float.__float__(x)
    if isinstance(x, str):
        return str.__str__(x)
    d = depth + 1
    if isinstance(x, list):
        return [encode_value(v, d, on_object) for v in list.__iter__(x)]
    if isinstance(x, tuple):
        return {"T": [encode_value(v, d, on_object) for v in tuple.__iter__(x)]}
    if isinstance(x, dict):
        return {"D": [[encode_value(k, d, on_object), encode_value(v, d, on_object)]
                      for k, v in dict.items(x)]}
    if isinstance(x, frozenset):
        return {"F": [encode_value(v, d, on_object) for v in frozenset.__iter__(x)]}
    if isinstance(x, set):
        return {"S": [encode_value(v, d, on_object) for v in set.__iter__(x)]}
    if isinstance(x, bytes | bytearray):
        return {"B": base64.b64encode(bytes(x)).decode("ascii")}
    if isinstance(x, complex):
        return {"C": [complex.__getattribute__(x, "real"), complex.__getattribute__(x, "imag")]}
    handle = on_object(x) if on_object is not None else None
    if handle is not None:
        return {"H": int(handle)}
    if hasattr(x, "tolist"):  # numpy scalars and arrays
        return encode_value(x.tolist(), d, on_object)
    if hasattr(x, "__index__"):
        return encode_value(int(x.__index__()), d)
    raise CodecError(f"cannot send a value of type {type(x).__name__}")


def _check_spread(items: list) -> None:
    """Refuse members whose hashes collide so much that a set/dict of them costs more than linear time."""
    if len(items) < 64:
        return
    counts = Counter(hash(v) for v in items)
    cost = sum(c * c for c in counts.values())
    if cost > 8 * len(items) + 4096:
        raise HashCollision(f"{len(items)} members share {len(items) - len(counts) + 1}+ hashes")


def _dec_tagged(obj: dict, depth: int, on_handle):
    if len(obj) != 1:
        raise CodecError("tagged value must have exactly one key")
    ((tag, body),) = obj.items()
    d = depth + 1
    if tag == "B":
        if type(body) is not str:
            raise CodecError("bad bytes")
        return base64.b64decode(body.encode("ascii"), validate=True)
    if tag == "C":
        if type(body) is not list or len(body) != 2 or not all(type(v) in (int, float) for v in body):
            raise CodecError("bad complex")
        return complex(body[0], body[1])
    if tag == "I":
        if type(body) is not str or not 0 < len(body) <= 1 << 22 or body.lstrip("-").strip("0123456789abcdef"):
            raise CodecError("bad big int")
        return int(body, 16)
    if tag == "H":
        if type(body) is not int or on_handle is None:
            raise CodecError("unexpected handle")
        return on_handle(body)
    if tag not in _TAGS or type(body) is not list:
        raise CodecError(f"unknown tag {tag!r}")
    if tag == "D":
        pairs = []
        for pair in body:
            if type(pair) is not list or len(pair) != 2:
                raise CodecError("bad dict item")
            pairs.append((decode_value(pair[0], d, on_handle), decode_value(pair[1], d, on_handle)))
        _check_spread([k for k, _ in pairs])
        return dict(pairs)
    items = [decode_value(v, d, on_handle) for v in body]
    if tag == "T":
        return tuple(items)
    _check_spread(items)
    return set(items) if tag == "S" else frozenset(items)


def decode_value(x, depth: int = 0, on_handle=None):
    """Rebuild plain built-in values from `encode_value` output; raises CodecError on anything else.

    `on_handle(id)` (optional) builds the caller's object for a handle; without it a handle is an error.
    """
    if depth > MAX_DEPTH:
        raise CodecError(f"value nested deeper than {MAX_DEPTH} levels")
    t = type(x)
    if x is None or t in (bool, int, str):
        return x
    if t is float:
        return x if not math.isnan(x) else math.nan
    if t is list:
        return [decode_value(v, depth + 1, on_handle) for v in x]
    if t is dict:
        try:
            return _dec_tagged(x, depth, on_handle)
        except CodecError:
            raise
        except (TypeError, ValueError, OverflowError) as e:  # unhashable member, bad base64, huge complex, ...
            raise CodecError(f"{type(e).__name__}: {str(e)[:200]}") from None
    raise CodecError(f"unexpected JSON type {t.__name__}")


def pack(message: dict) -> bytes:
    """One frame: length header + compact JSON."""
    try:
        body = json.dumps(message, separators=(",", ":")).encode("utf-8", "surrogatepass")
    except (ValueError, TypeError) as e:
        raise CodecError(f"cannot encode frame: {str(e)[:200]}") from None
    return HEADER.pack(len(body)) + body


def unpack(body: bytes) -> dict:
    """Parse a frame body into a dict; any malformed input becomes CodecError."""
    try:
        msg = json.loads(body)
    except (ValueError, RecursionError) as e:
        raise CodecError(f"undecodable frame: {type(e).__name__}") from None
    if type(msg) is not dict:
        raise CodecError("frame is not an object")
    return msg


def read_exact(fd: int, n: int) -> bytes:
    """Blocking read of exactly n bytes; EOF raises EOFError. Used where no deadline is needed."""
    b = os.read(fd, n)
    if len(b) == n:  # the usual case: one read
        return b
    if not b:
        raise EOFError
    chunks, got = [b], len(b)
    while got < n:
        b = os.read(fd, min(n - got, 1 << 20))
        if not b:
            raise EOFError
        chunks.append(b)
        got += len(b)
    return b"".join(chunks)


def read_frame(fd: int, limit: int = 1 << 30) -> dict:
    """Blocking read of one frame from a trusted peer."""
    (n,) = HEADER.unpack(read_exact(fd, HEADER.size))
    if n > limit:
        raise CodecError(f"frame of {n} bytes exceeds {limit}")
    return unpack(read_exact(fd, n))


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
