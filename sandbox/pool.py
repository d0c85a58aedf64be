"""`Sandbox`: a thread-safe pool of warm isolated workers, the library's front door.

Creating a Sandbox costs nothing; workers start on first use (or `start()`), each with an empty environment,
and report which isolation layers hold. If any layer is missing and the caller did not list it in
`allow_missing`, the pool refuses to run untrusted code (SandboxUnavailable names the layers); the one
exception is the cgroup layer on a host that has no cgroup v1 controllers for us (not root, or v2 only),
which is logged as a warning. A Sandbox
pickles as its settings only, so it can be handed to a Ray actor and starts its own workers there.
What this module does NOT do: judge anything (the worker's judge process does), or retry a job: a job
whose worker dies or hangs is reported as status "error" and the worker is replaced.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import select
import subprocess
import sys
import threading
import time
from collections.abc import Sequence

from . import codec
from .isolation import HOST_LACKS, LAYERS
from .result import Result

log = logging.getLogger("sandbox")
_PKG_DIR = os.path.dirname(os.path.abspath(__file__))
# The worker imports its modules without the package's __init__ (and so without this module, logging,
# subprocess, threading): a smaller process forks and exits faster, and it forks twice per job.
_BOOT = (f"import sys, types; m = types.ModuleType('sandbox'); m.__path__ = [{_PKG_DIR!r}]; "
         "sys.modules['sandbox'] = m; from sandbox.worker import main; main()")
BACKSTOP_S = 15.0


class SandboxUnavailable(RuntimeError):
    """An isolation layer is missing on this machine and the caller did not opt out of it."""


class _WorkerProc:
    """One worker process and its frame pipes; used by one thread at a time."""

    def __init__(self, cfg: dict, python: str):
        self.proc = subprocess.Popen(
            [python, "-I", "-c", _BOOT, json.dumps(cfg)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            env={}, cwd="/", close_fds=True, start_new_session=True)
        self.in_fd, self.out_fd = self.proc.stdin.fileno(), self.proc.stdout.fileno()
        self.buf = bytearray()
        self.layers: dict[str, str] = {}

    def await_hello(self, timeout: float) -> None:
        hello = self.read(time.monotonic() + timeout)
        self.layers = dict(hello.get("layers", {}))

    def read(self, deadline: float) -> dict:
        while True:
            if len(self.buf) >= codec.HEADER.size:
                (n,) = codec.HEADER.unpack_from(self.buf)
                if len(self.buf) >= codec.HEADER.size + n:
                    body = bytes(self.buf[codec.HEADER.size:codec.HEADER.size + n])
                    del self.buf[:codec.HEADER.size + n]
                    return codec.unpack(body)
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.out_fd], [], [], left)[0]:
                raise TimeoutError("worker did not answer in time")
            chunk = os.read(self.out_fd, 1 << 16)
            if not chunk:
                raise EOFError("worker exited")
            self.buf += chunk

    def request(self, job: dict, source: dict, spec: dict, hard_timeout: float) -> dict:
        codec.write_all(self.in_fd, codec.pack(job) + codec.pack(source) + codec.pack(spec))
        return self.read(time.monotonic() + hard_timeout)

    def kill(self, grace_s: float = 0.0) -> None:
        """Close the pipes (an idle worker then exits and removes its cgroup), wait `grace_s`, SIGKILL."""
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except OSError:
                pass
        try:
            self.proc.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(self.proc.pid, 9)
        except (ProcessLookupError, PermissionError):
            pass
        self.proc.wait()


class Sandbox:
    """Run untrusted code against trusted tests. Thread-safe; `with Sandbox(workers=2) as sb: ...`."""

    def __init__(self, workers: int | None = None, *, timeout: float = 5.0, memory_mb: int = 1024,
                 output_bytes: int = 1 << 20, response_bytes: int = 4 << 20, scratch_mb: int = 64,
                 scratch_inodes: int = 4096, file_mb: int = 16, max_files: int = 64, max_procs: int = 64,
                 allow_missing: Sequence[str] = (), disable: Sequence[str] = (), python: str | None = None):
        unknown = (set(allow_missing) | set(disable)) - set(LAYERS)
        if unknown:
            raise ValueError(f"unknown layer(s) {sorted(unknown)}; layers are {LAYERS}")
        self.workers = int(workers or os.cpu_count() or 1)
        self.timeout = float(timeout)
        self.allow_missing, self.disable = tuple(allow_missing), tuple(disable)
        self.python = python or sys.executable
        self._cfg = {"memory_mb": memory_mb, "output_bytes": output_bytes, "response_bytes": response_bytes,
                     "scratch_mb": scratch_mb, "scratch_inodes": scratch_inodes, "file_mb": file_mb,
                     "max_files": max_files, "max_procs": max_procs, "disable": list(disable)}
        self._init_state()

    def _init_state(self) -> None:
        self._lock = threading.Lock()
        self._idle: queue.Queue[_WorkerProc | None] = queue.Queue()
        self._all: list[_WorkerProc] = []
        self._started = self._closed = False
        self.layers: dict[str, str] = {}

    # ---- pickling: settings only --------------------------------------------------------------------------
    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if not k.startswith("_") or k == "_cfg"} | {"layers": {}}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._init_state()

    # ---- lifecycle ------------------------------------------------------------------------------------------
    def start(self) -> Sandbox:
        """Start the workers now and check the layers; otherwise this happens on the first job."""
        with self._lock:
            if self._closed:
                raise RuntimeError("Sandbox is closed")
            if self._started:
                return self
            procs = [_WorkerProc(self._cfg, self.python) for _ in range(self.workers)]
            try:
                for p in procs:
                    p.await_hello(60.0)
            except BaseException:
                for p in procs:
                    p.kill()
                raise
            self._all = procs
            self.layers = procs[0].layers
            self._check_layers(procs)
            for p in procs:
                self._idle.put(p)
            self._started = True
        return self

    def _check_layers(self, procs: list[_WorkerProc]) -> None:
        missing = {name: why for p in procs for name in LAYERS
                   if not (why := p.layers.get(name, "not reported")).startswith("ok")}
        if not missing:
            return
        text = "; ".join(f"{k}: {v}" for k, v in sorted(missing.items()))
        optional = {k for k, v in missing.items() if k == "cgroup" and v.startswith(HOST_LACKS)}
        refused = sorted(set(missing) - set(self.allow_missing) - optional)
        if refused:
            for p in procs:
                p.kill()
            self._all = []
            raise SandboxUnavailable(f"isolation layer(s) {refused} unavailable ({text}); refusing to run "
                                     "untrusted code. Pass allow_missing=[...] to opt out explicitly.")
        log.warning("sandbox running without layer(s) %s (opted out or absent here): %s", sorted(missing), text)

    def close(self) -> None:
        """Stop every worker; safe to call twice."""
        with self._lock:
            self._closed = True
            procs, self._all = self._all, []
        for p in procs:
            p.kill(grace_s=2.0)

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    # ---- jobs -----------------------------------------------------------------------------------------------
    def run_tests(self, source: str, tests: str | Sequence[str], entry_point: str | None = None,
                  timeout: float | None = None) -> Result:
        """Run `source`, then the trusted `tests` (test code, or a list of assert statements) against it.

        With `entry_point` and test code defining `check(candidate)` (HumanEval), `check` is called with
        the candidate's function. Test code sees the entry point and the names it reads but never defines.
        """
        if not isinstance(source, str):
            raise TypeError("source must be a str")
        if not isinstance(tests, str):
            tests = list(tests)
            if not all(isinstance(t, str) for t in tests):
                raise TypeError("tests must be a str or a list of str")
        return self._submit("tests", source, "", {"tests": tests, "entry_point": entry_point}, timeout)

    def run_io(self, source: str, stdin: str, expected_stdout: str, timeout: float | None = None) -> Result:
        """Run `source` as a program on `stdin`; passes when it exits cleanly and its stdout matches
        `expected_stdout` (trailing whitespace of lines and trailing blank lines ignored)."""
        if not all(isinstance(x, str) for x in (source, stdin, expected_stdout)):
            raise TypeError("source, stdin and expected_stdout must be str")
        return self._submit("io", source, stdin, {"expected": expected_stdout}, timeout)

    def _submit(self, kind: str, source: str, stdin: str, spec: dict, timeout: float | None) -> Result:
        self.start()
        t = self.timeout if timeout is None else float(timeout)
        job = {"t": "job", "kind": kind, "timeout": t}
        w = self._idle.get()
        t0 = time.monotonic()
        try:
            if w is None:
                w = _WorkerProc(self._cfg, self.python)
                with self._lock:
                    self._all.append(w)
                w.await_hello(60.0)
            frame = w.request(job, {"source": source, "stdin": stdin}, spec, t + BACKSTOP_S)
        except (OSError, EOFError, TimeoutError, codec.CodecError) as e:
            self._replace(w)
            return Result("error", 0, 0, f"worker failed: {type(e).__name__}: {e}", time.monotonic() - t0)
        if frame.get("status") == "error" and str(frame.get("detail", "")).startswith("worker:"):
            self._replace(w)
        else:
            self._idle.put(w)
        return Result(str(frame.get("status")), int(frame.get("passed") or 0), int(frame.get("total") or 0),
                      str(frame.get("detail") or ""), float(frame.get("duration_s") or 0.0))

    def _replace(self, w: _WorkerProc | None) -> None:
        if w is not None:
            w.kill()
            with self._lock:
                if w in self._all:
                    self._all.remove(w)
        self._idle.put(None)  # a fresh worker starts on the next job that takes this slot
