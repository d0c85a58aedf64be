"""Wire format between the judge and the untrusted child, and between the pool and its workers.

Frames are a 4-byte big-endian length followed by UTF-8 JSON. Values are JSON with tags for the built-in
types JSON lacks (tuple, dict with any keys, set, frozenset, bytes, complex), so a test that checks
`isinstance(result, tuple)` still works across the process boundary.

Why decode to plain types: whatever the child sends, `decode` only ever builds `int`, `float`, `str`,
`list`, `tuple`, ... never an object of the candidate's classes, so a lying `__eq__` cannot reach the
trusted comparison. What this module does NOT do: keep object identity (a list mutated in place by the
candidate is not seen by the caller), or send functions, classes or arbitrary objects.
"""

from __future__ import annotations

import base64
import json
import math
import struct

HEADER = struct.Struct("!I")
_TAGS = ("T", "D", "S", "F", "B", "C")


class CodecError(ValueError):
    """A value that cannot be encoded, or bytes that are not a valid message."""


def encode_value(x, depth: int = 0):
    """Turn a Python value into JSON-able data with tags; subclasses are reduced to their base type."""
    if depth > 100:
        raise CodecError("value nested deeper than 100 levels")
    if x is None or isinstance(x, bool):
        return None if x is None else bool(x)
    if isinstance(x, int):
        return int.__int__(x)
    if isinstance(x, float):
        return float.__float__(x)
    if isinstance(x, str):
        return str.__str__(x)
    d = depth + 1
    if isinstance(x, list):
        return [encode_value(v, d) for v in x]
    if isinstance(x, tuple):
        return {"T": [encode_value(v, d) for v in x]}
    if isinstance(x, dict):
        return {"D": [[encode_value(k, d), encode_value(v, d)] for k, v in x.items()]}
    if isinstance(x, frozenset):
        return {"F": [encode_value(v, d) for v in x]}
    if isinstance(x, set):
        return {"S": [encode_value(v, d) for v in x]}
    if isinstance(x, bytes | bytearray):
        return {"B": base64.b64encode(bytes(x)).decode("ascii")}
    if isinstance(x, complex):
        return {"C": [x.real, x.imag]}
    if hasattr(x, "tolist"):  # numpy scalars and arrays
        return encode_value(x.tolist(), d)
    if hasattr(x, "__index__"):
        return int(x.__index__())
    raise CodecError(f"cannot send a value of type {type(x).__name__}")


def _dec_tagged(obj: dict, depth: int):
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
    if tag not in _TAGS or type(body) is not list:
        raise CodecError(f"unknown tag {tag!r}")
    if tag == "D":
        out = {}
        for pair in body:
            if type(pair) is not list or len(pair) != 2:
                raise CodecError("bad dict item")
            out[decode_value(pair[0], d)] = decode_value(pair[1], d)
        return out
    items = [decode_value(v, d) for v in body]
    return {"T": tuple, "S": set, "F": frozenset}[tag](items)


def decode_value(x, depth: int = 0):
    """Rebuild plain built-in values from `encode_value` output; raises CodecError on anything else."""
    if depth > 100:
        raise CodecError("value nested deeper than 100 levels")
    t = type(x)
    if x is None or t in (bool, int, str):
        return x
    if t is float:
        return x if not math.isnan(x) else math.nan
    if t is list:
        return [decode_value(v, depth + 1) for v in x]
    if t is dict:
        try:
            return _dec_tagged(x, depth)
        except TypeError as e:  # unhashable set member or dict key
            raise CodecError(str(e)) from None
    raise CodecError(f"unexpected JSON type {t.__name__}")


def pack(message: dict) -> bytes:
    """One frame: length header + compact JSON."""
    body = json.dumps(message, separators=(",", ":")).encode()
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
    import os

    chunks, got = [], 0
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
    import os

    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
