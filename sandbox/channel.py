"""The judge's end of the pipes to the candidate: frames, output draining, size caps, one deadline.

Runs in the judge process (judge.py). Requests go out one at a time and each must be answered by exactly
one frame with the request's id and an expected type, else the job ends as `bad_response`; a reply is
decoded as plain data or as the judge's own handle objects (remote.Remote), never as candidate objects.
Output on stdout/stderr is drained while waiting (`output_limit`), a response over `response_bytes` is
refused before it is decoded (`response_too_large`), and the wall-clock deadline is checked on every wait.
Every Abort goes through `fail`, which makes it sticky: once raised, every later request raises it again,
so test code that swallows it cannot go on to a pass.
What this module does NOT do: decide verdicts or run tests (judge.py), or enforce the deadline while the
judge computes (judge.py arms SIGALRM for that).
"""

from __future__ import annotations

import os
import select
import time

from . import codec
from .remote import Abort, CandidateError, Remote, copy_back

DETAIL_CHARS = 300


class Channel:
    """Frames to and from the child, with output draining, size caps, one wall-clock deadline, and the
    candidate's handles. Every Abort goes through `fail`, which makes it sticky."""

    def __init__(self, fds: dict, deadline: float, limits: dict):
        self.req, self.resp = fds["req"], fds["resp"]
        self.streams = {fds["out"]: bytearray(), fds["err"]: bytearray()}
        self.out_fd, self.pidfd, self.deadline = fds["out"], fds["pidfd"], deadline
        self.output_limit, self.response_limit = limits["output_bytes"], limits["response_bytes"]
        self.buf, self.output_total, self.child_gone, self.next_id = bytearray(), 0, False, 1
        self.handles: dict[int, Remote] = {}
        self.aborted: Abort | None = None
        for fd in (self.resp, *self.streams):
            os.set_blocking(fd, False)

    def fail(self, status: str, detail: str) -> Abort:
        if self.aborted is None:
            self.aborted = Abort(status, detail)
        return self.aborted

    def _read_available(self, fd: int) -> bool:
        """Read what is there; returns False at EOF."""
        while True:
            try:
                b = os.read(fd, 1 << 16)
            except BlockingIOError:
                return True
            if not b:
                return False
            if fd == self.resp:
                self.buf += b
                if len(self.buf) > self.response_limit + codec.HEADER.size:
                    raise self.fail("response_too_large", f"response over {self.response_limit} bytes")
                continue
            self.output_total += len(b)
            if self.output_total > self.output_limit:
                raise self.fail("output_limit", f"printed over {self.output_limit} bytes")
            self.streams[fd] += b

    def _frame(self) -> dict | None:
        if len(self.buf) < codec.HEADER.size:
            return None
        (n,) = codec.HEADER.unpack_from(self.buf)
        if n > self.response_limit:
            raise self.fail("response_too_large", f"response of {n} bytes over {self.response_limit}")
        if len(self.buf) < codec.HEADER.size + n:
            return None
        body = bytes(self.buf[codec.HEADER.size:codec.HEADER.size + n])
        del self.buf[:codec.HEADER.size + n]
        try:
            return codec.unpack(body)
        except codec.CodecError as e:
            raise self.fail("bad_response", str(e)) from None

    def pump(self, want_frame: bool, write: bytes = b"") -> dict | None:
        """Drain output, write `write`, and return the next frame (if wanted) before the deadline."""
        if self.aborted is not None:
            raise self.aborted
        view = memoryview(write)
        readers = [self.resp, *self.streams, self.pidfd]
        while True:
            frame = self._frame() if want_frame else None
            if frame is not None or (not want_frame and not view):
                return frame
            if self.child_gone:
                return None
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise self.fail("timeout", "wall-clock limit reached")
            r, w, _ = select.select(readers, [self.req] if view else [], [], left)
            for fd in w:
                try:
                    view = view[os.write(fd, view):]
                except BlockingIOError:
                    pass
                except BrokenPipeError:
                    view = view[:0]
            for fd in r:
                if fd == self.pidfd:
                    self.child_gone = True
                    for f in (self.resp, *self.streams):
                        self._read_available(f)
                elif not self._read_available(fd):
                    readers.remove(fd)

    # ---- calls into the candidate -------------------------------------------------------------------------
    def _handle_id(self, x) -> int | None:
        return x._h if type(x) is Remote and x._chan is self else None

    def _remote(self, h: int) -> Remote:
        if not 0 < h < 1 << 31:
            raise codec.CodecError("bad handle id")
        if h not in self.handles:
            self.handles[h] = Remote(self, h)
        return self.handles[h]

    def encode(self, value):
        try:
            return codec.encode_value(value, on_object=self._handle_id)
        except codec.CodecError as e:
            raise TypeError(f"test argument not transferable: {e}") from None

    def decode(self, wire):
        try:
            return codec.decode_value(wire, on_handle=self._remote)
        except codec.CodecError as e:
            raise self.fail("bad_response", str(e)[:DETAIL_CHARS]) from None

    def request(self, msg: dict, replies: tuple[str, ...] = ("ok", "exc")) -> dict:
        """Send one request; return its reply frame (or raise the candidate's error as CandidateError)."""
        rid, self.next_id = self.next_id, self.next_id + 1
        try:
            data = codec.pack({**msg, "id": rid})
        except codec.CodecError as e:
            raise TypeError(f"test argument not transferable: {e}") from None
        os.set_blocking(self.req, False)
        frame = self.pump(want_frame=True, write=data)
        if frame is None:
            raise self.fail("exited", "the candidate's process ended during a call")
        if type(frame.get("id")) is not int or frame["id"] != rid or frame.get("t") not in replies:
            raise self.fail("bad_response", "unexpected frame during a call")
        if frame["t"] == "exc":
            raise _candidate_error(frame)
        return frame

    def call(self, target: dict, args: tuple, kwargs: dict):
        """One call of the candidate's function or handle; returns plain data (or handles)."""
        frame = self.request({"t": "call", **target, "args": self.encode(list(args)),
                              "kwargs": self.encode(dict(kwargs))})
        value = self.decode(frame.get("v"))
        mutated = frame.get("m")
        if mutated is not None:
            if type(mutated) is not dict or len(mutated) > len(args) + len(kwargs):
                raise self.fail("bad_response", "bad mutation record")
            for key, wire in mutated.items():
                index = int(key) if key.isascii() and key.isdigit() and len(key) < 6 else None
                where = kwargs.get(key[2:]) if key.startswith("k:") else \
                    args[index] if index is not None and index < len(args) else None
                copy_back(where, self.decode(wire))
        return value

    def op(self, h: int, op: str, a=None, b=None):
        """One question about a handle (remote.Remote); AttributeError when the object has no such attribute."""
        replies = ("ok", "exc", {"getattr": "noattr", "list": "nolist"}.get(op, "ok"))
        frame = self.request({"t": "op", "h": h, "op": op, "a": self.encode(a), "b": self.encode(b)}, replies)
        if frame["t"] == "noattr":
            raise AttributeError(a)
        if frame["t"] == "nolist":
            raise TypeError("the candidate's object is not iterable")
        return self.decode(frame.get("v"))

    def stdout_text(self) -> str:
        return bytes(self.streams[self.out_fd]).decode("utf-8", "replace")

    def stderr_tail(self) -> str:
        err = [v for k, v in self.streams.items() if k != self.out_fd][0]
        return bytes(err[-300:]).decode("utf-8", "replace")


def _candidate_error(frame: dict) -> CandidateError:
    """Only names and a message travel; the exception is never rebuilt as a built-in type."""
    name = frame.get("type") if type(frame.get("type")) is str else "?"
    bases = frame.get("bases") if type(frame.get("bases")) is list else []
    msg = frame.get("msg") if type(frame.get("msg")) is str else ""
    return CandidateError(name[:100], tuple(b[:100] for b in bases[:20] if type(b) is str), msg[:DETAIL_CHARS])
