"""The trusted side of one job: run the dataset's test code here, calling the candidate across a pipe.

The judge is a process forked by the worker per job, *after* the candidate's process, so the candidate's
memory never held the tests or the expected output. Candidate functions appear in the test code's namespace
as proxies: each call becomes a frame to the child, and the answer is decoded as plain data (codec.py).
Every `assert` of the test code is rewritten into an explicit check that counts passes, so counts do not
depend on `python -O` and the candidate cannot patch `AssertionError` (it lives in another process).

Verdicts: pass, fail, timeout, output_limit, load_error, exited, response_too_large, bad_response, error.
Details never quote the test code or its expected values (the worker forwards them; see worker.py).
What this module does NOT do: kill or reap processes (the worker does), or guard against hostile *test*
code: tests are trusted, only a wall-clock backstop in the worker covers a test that hangs.
"""

from __future__ import annotations

import ast
import builtins
import errno
import os
import select

from . import codec


class Abort(BaseException):
    """Stops the test code at once; BaseException so that `except Exception` in a test cannot eat it."""

    def __init__(self, status: str, detail: str):
        super().__init__(status, detail)
        self.status, self.detail = status, detail


class CandidateError(Exception):
    """The candidate raised an exception that is not a built-in type; carries its name and message."""


class Channel:
    """Frames to and from the child, with output draining, size caps and one wall-clock deadline."""

    def __init__(self, fds: dict, deadline: float, limits: dict):
        self.req, self.resp = fds["req"], fds["resp"]
        self.streams = {fds["out"]: bytearray(), fds["err"]: bytearray()}
        self.out_fd, self.pidfd, self.deadline = fds["out"], fds["pidfd"], deadline
        self.output_limit, self.response_limit = limits["output_bytes"], limits["response_bytes"]
        self.buf, self.output_total, self.child_gone, self.next_id = bytearray(), 0, False, 1
        for fd in (self.resp, *self.streams):
            os.set_blocking(fd, False)

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
                    raise Abort("response_too_large", f"response over {self.response_limit} bytes")
                continue
            self.output_total += len(b)
            if self.output_total > self.output_limit:
                raise Abort("output_limit", f"printed over {self.output_limit} bytes")
            self.streams[fd] += b

    def _frame(self) -> dict | None:
        if len(self.buf) < codec.HEADER.size:
            return None
        (n,) = codec.HEADER.unpack_from(self.buf)
        if n > self.response_limit:
            raise Abort("response_too_large", f"response of {n} bytes over {self.response_limit}")
        if len(self.buf) < codec.HEADER.size + n:
            return None
        body = bytes(self.buf[codec.HEADER.size:codec.HEADER.size + n])
        del self.buf[:codec.HEADER.size + n]
        try:
            return codec.unpack(body)
        except codec.CodecError as e:
            raise Abort("bad_response", str(e)) from None

    def pump(self, want_frame: bool, write: bytes = b"") -> dict | None:
        """Drain output, write `write`, and return the next frame (if wanted) before the deadline."""
        import time

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
                raise Abort("timeout", "wall-clock limit reached")
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

    def call(self, name: str, args: tuple, kwargs: dict):
        """One candidate call; returns plain data or raises the candidate's (rebuilt) exception."""
        cid, self.next_id = self.next_id, self.next_id + 1
        try:
            msg = {"t": "call", "id": cid, "name": name, "args": codec.encode_value(list(args)),
                   "kwargs": codec.encode_value(kwargs)}
        except codec.CodecError as e:
            raise TypeError(f"test argument not transferable: {e}") from None
        os.set_blocking(self.req, False)
        frame = self.pump(want_frame=True, write=codec.pack(msg))
        if frame is None:
            raise Abort("exited", "the candidate's process ended during a call")
        if frame.get("t") == "exc":
            raise _rebuild(frame)
        if frame.get("t") != "ok" or frame.get("id") != cid:
            raise Abort("bad_response", "unexpected frame during a call")
        try:
            return codec.decode_value(frame.get("v"))
        except codec.CodecError as e:
            raise Abort("bad_response", str(e)) from None

    def stdout_text(self) -> str:
        return bytes(self.streams[self.out_fd]).decode("utf-8", "replace")

    def stderr_tail(self) -> str:
        err = [v for k, v in self.streams.items() if k != self.out_fd][0]
        return bytes(err[-300:]).decode("utf-8", "replace")


def _rebuild(frame: dict) -> Exception:
    name, msg = str(frame.get("type"))[:100], str(frame.get("msg"))[:300]
    cls = getattr(builtins, name, None)
    if isinstance(cls, type) and issubclass(cls, Exception):
        try:
            return cls(msg)
        except Exception:
            pass
    return CandidateError(f"{name}: {msg}")


class _AssertRewriter(ast.NodeTransformer):
    """`assert c, m` -> `if not c: __sbx_fail__(i, m)` then `__sbx_ok__(i)`."""

    def __init__(self):
        self.count = 0

    def visit_Assert(self, node: ast.Assert):
        i = self.count
        self.count += 1
        msg = node.msg if node.msg is not None else ast.Constant(None)
        fail = ast.Expr(ast.Call(ast.Name("__sbx_fail__", ast.Load()), [ast.Constant(i), msg], []))
        check = ast.If(ast.UnaryOp(ast.Not(), node.test), [fail], [])
        ok = ast.Expr(ast.Call(ast.Name("__sbx_ok__", ast.Load()), [ast.Constant(i)], []))
        return [ast.copy_location(check, node), ast.copy_location(ok, node)]


def _compile_tests(code: str) -> tuple[object, int]:
    tree = ast.parse(code, "tests.py")
    rw = _AssertRewriter()
    tree = ast.fix_missing_locations(rw.visit(tree))
    return compile(tree, "tests.py", "exec"), rw.count


def _where(e: BaseException) -> str:
    tb, line = e.__traceback__, None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "tests.py":
            line = tb.tb_lineno
        tb = tb.tb_next
    return f" (test line {line})" if line else ""


def _run_block(chan: Channel, code: str, names: list[str], entry_point: str | None) -> tuple[bool, int, int, str]:
    """Run one block of test code; returns (clean, passed_asserts, total_asserts, detail)."""
    compiled, total = _compile_tests(code)
    passed: set[int] = set()

    def fail(i, _msg):
        raise AssertionError(f"assertion {i + 1} of {max(total, 1)}")

    ns = {"__name__": "__test__", "__sbx_ok__": passed.add, "__sbx_fail__": fail}
    for n in names:
        ns[n] = _proxy(chan, n)
    try:
        exec(compiled, ns)
        check = ns.get("check")
        if callable(check) and "check" not in names and entry_point:
            check(_proxy(chan, entry_point))
    except Abort:
        raise
    except AssertionError as e:
        return False, len(passed), max(total, 1), f"{e} failed{_where(e)}"
    except (CandidateError, Exception) as e:
        return False, len(passed), max(total, 1), f"{type(e).__name__}: {str(e)[:200]}{_where(e)}"
    return True, max(total, 1), max(total, 1), ""


def _proxy(chan: Channel, name: str):
    def proxy(*args, **kwargs):
        return chan.call(name, args, kwargs)

    proxy.__name__ = proxy.__qualname__ = name
    return proxy


def _await_ready(chan: Channel) -> tuple[list[str] | None, dict | None]:
    frame = chan.pump(want_frame=True)
    if frame is None:
        return None, {"status": "exited", "detail": "the candidate's process ended while loading"}
    t = frame.get("t")
    if t == "load_error":
        return None, {"status": "load_error", "detail": str(frame.get("detail"))[:300]}
    names = frame.get("names")
    if t != "ready" or type(names) is not list or not all(type(n) is str for n in names):
        raise Abort("bad_response", "expected the ready frame")
    return names, None


def judge_tests(chan: Channel, tests, entry_point: str | None) -> dict:
    """Verdict for a function-call problem: test code (str) or a list of assert statements."""
    blocks = [tests] if isinstance(tests, str) else list(tests)
    total_hint = 1 if isinstance(tests, str) else len(blocks)
    try:
        names, early = _await_ready(chan)
        if early:
            return {**early, "passed": 0, "total": total_hint}
        if entry_point and entry_point not in names:
            return {"status": "load_error", "passed": 0, "total": total_hint,
                    "detail": f"entry point {entry_point!r} is not defined"}
        if isinstance(tests, str):
            clean, passed, total, detail = _run_block(chan, tests, names, entry_point)
            return {"status": "pass" if clean else "fail", "passed": passed, "total": total, "detail": detail}
        results = [_run_block(chan, b, names, entry_point) for b in blocks]
        passed = sum(1 for r in results if r[0])
        first = next((f"test {i + 1}: {r[3]}" for i, r in enumerate(results) if not r[0]), "")
        return {"status": "pass" if passed == len(blocks) else "fail", "passed": passed,
                "total": len(blocks), "detail": first}
    except Abort as a:
        return {"status": a.status, "passed": 0, "total": total_hint, "detail": a.detail}


def _normalise(text: str) -> list[str]:
    lines = [ln.rstrip() for ln in text.replace("\r\n", "\n").split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def judge_io(chan: Channel, expected: str) -> dict:
    """Verdict for a stdin/stdout problem: the child's stdout against the expected text, compared here.

    The program's exit status is not read here (the child has no frame channel in this mode): the worker
    takes it from the kernel and turns a pass into a fail unless the program exited with status 0.
    """
    try:
        while not chan.child_gone:  # wait for the process to end so the last output is in
            chan.pump(want_frame=True)
    except Abort as a:
        return {"status": a.status, "passed": 0, "total": 1, "detail": a.detail}
    if _normalise(chan.stdout_text()) == _normalise(expected):
        return {"status": "pass", "passed": 1, "total": 1, "detail": ""}
    return {"status": "fail", "passed": 0, "total": 1, "detail": "wrong output"}


def run_judge(kind: str, fds: dict, deadline: float, limits: dict, spec: dict) -> dict:
    """Entry point in the judge process."""
    chan = Channel(fds, deadline, limits)
    try:
        if kind == "io":
            return judge_io(chan, spec["expected"])
        return judge_tests(chan, spec["tests"], spec.get("entry_point"))
    except OSError as e:
        if e.errno == errno.EPIPE:
            return {"status": "exited", "passed": 0, "total": 1, "detail": "candidate closed its pipe"}
        raise
