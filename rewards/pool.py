"""`RewardPool`: score rows in worker processes with a hard per-item timeout.

Why processes and not signals: `signal.alarm` only works in the main thread (Math-Verify inside Ray workers
scored everything 0, verl PR#5635) and cannot stop C code; a hung reward froze whole runs (verl PR#6673).
Here each item is sent to a worker process; if no answer comes within `timeout_s` the worker's process group
is SIGKILLed and a fresh worker replaces it; the item scores 0 with reason "timeout". A worker that dies
scores its item 0 with reason "worker_died". Workers are plain `python -m rewards._worker` subprocesses
(no fork of the caller, no `__main__` re-import), so the pool is safe to use from threads and Ray actors.

Not done here: retrying timed-out items, or isolation against hostile code (that is `sandbox`'s job).
Verifier classes must be importable by module name in the worker (the worker gets the caller's sys.path).
"""

from __future__ import annotations

import hashlib
import os
import pickle
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from multiprocessing.connection import Connection
from typing import Any

from .base import Score, Verifier
from .custom import travel_check

__all__ = ["RewardPool"]

_STARTUP_S = 120.0  # a fresh interpreter plus the verifier's imports (sympy) on a loaded 2-core machine


class _Fatal(RuntimeError):
    pass


class _Worker:
    """One `rewards._worker` subprocess and its two pipes."""

    def __init__(self, memory_mb: int, max_result_bytes: int) -> None:
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
        args = [str(to_child_r), str(from_child_w), str(memory_mb), str(max_result_bytes)]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "rewards._worker", *args], pass_fds=(to_child_r, from_child_w),
            stdin=subprocess.DEVNULL, env=env, start_new_session=True)
        os.close(to_child_r)
        os.close(from_child_w)
        self.tx = Connection(to_child_w, readable=False)
        self.rx = Connection(from_child_r, writable=False)
        self.loaded: set[str] = set()
        reply = self.recv(_STARTUP_S)
        if reply is None or reply[0] != "ready":
            self.kill()
            raise _Fatal(f"reward worker failed to start (exit code {self.proc.poll()})")

    def recv(self, timeout: float):
        """The next message, or None on timeout; EOFError if the worker died."""
        if not self.rx.poll(timeout):
            return None
        return pickle.loads(self.rx.recv_bytes())

    def send(self, msg: tuple) -> None:
        self.tx.send_bytes(pickle.dumps(msg))

    def kill(self) -> int | None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        for conn in (self.tx, self.rx):
            conn.close()
        try:
            return self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            return None


class _Batch:
    """One `submit` call: the rows, their results so far and the future to resolve."""

    def __init__(self, verifier: Verifier, rows: Sequence[Mapping[str, Any]], on_item) -> None:
        self.blob = pickle.dumps(verifier)
        self.key = hashlib.sha1(self.blob).hexdigest()
        self.rows = rows
        self.results: list[Score | None] = [None] * len(rows)
        self.left = len(rows)
        self.future: Future = Future()
        self.on_item = on_item
        self.lock = threading.Lock()

    def put(self, i: int, score: Score | None) -> None:
        with self.lock:
            self.results[i] = score
            self.left -= 1
            done = self.left == 0
        if self.on_item is not None:
            self.on_item(i, score)
        if done and not self.future.done():
            self.future.set_result(self.results)

    def fail(self, exc: BaseException) -> None:
        with self.lock:
            if not self.future.done():
                self.future.set_exception(exc)


class RewardPool:
    """A pool of worker processes that score rows with any picklable verifier.

    >>> from rewards import make
    >>> with RewardPool(workers=1, timeout_s=30) as pool:
    ...     [s.reward for s in pool.map(make("math"), [{"completion": "so 2+2 = 4", "answer": "4"}])]
    [1.0]

    `memory_mb` caps each worker's address space; `max_result_bytes` caps each reply (an oversized info is
    cut down to its reason). Thread-safe: many threads may `map`/`submit` at once; items are served in order.
    """

    def __init__(self, workers: int = 2, timeout_s: float = 10.0, memory_mb: int = 4096,
                 max_result_bytes: int = 65536) -> None:
        if workers < 1 or timeout_s <= 0:
            raise ValueError("workers must be >= 1 and timeout_s > 0")
        self.workers, self.timeout_s = workers, float(timeout_s)
        self.memory_mb, self.max_result_bytes = memory_mb, max_result_bytes
        self._tasks: queue.Queue = queue.Queue()
        self._closed = False
        self._threads = [threading.Thread(target=self._serve_slot, name=f"reward-slot-{i}", daemon=True)
                         for i in range(workers)]
        for t in self._threads:
            t.start()

    def submit(self, verifier: Verifier, rows: Sequence[Mapping[str, Any]],
               on_item: Callable[[int, Score | None], None] | None = None) -> Future:
        """Queue `rows` (dicts with "completion" plus the verifier's fields); a Future of their scores, in order.

        Rows missing a required field raise `MissingFieldError` here, before anything runs.
        """
        if self._closed:
            raise RuntimeError("RewardPool is closed")
        travel_check(verifier, getattr(verifier, "name", "") or type(verifier).__name__)  # __main__ cannot travel
        for i, row in enumerate(rows):
            if "completion" not in row:
                raise KeyError(f"row {i}: missing field 'completion'")
            verifier.check_row(row, where=f"row {i}")
        batch = _Batch(verifier, rows, on_item)
        batch.future.set_running_or_notify_cancel()
        if not rows:
            batch.future.set_result([])
        for i in range(len(rows)):
            self._tasks.put((batch, i))
        return batch.future

    def map(self, verifier: Verifier, rows: Sequence[Mapping[str, Any]]) -> list[Score | None]:
        """Score `rows` and wait; same order as `rows`."""
        return self.submit(verifier, rows).result()

    def _serve_slot(self) -> None:
        worker: _Worker | None = None
        while True:
            task = self._tasks.get()
            if task is None:
                break
            batch, i = task
            if batch.future.done():
                continue
            try:
                worker, score = self._score_one(worker, batch, i)
            except Exception as exc:
                batch.fail(exc)
                continue
            batch.put(i, score)
        if worker is not None:
            worker.kill()

    def _score_one(self, worker: _Worker | None, batch: _Batch, i: int) -> tuple[_Worker | None, Score | None]:
        fields = dict(batch.rows[i])
        completion = fields.pop("completion")
        for attempt in range(2):  # a worker found dead before it got the item is replaced once
            if worker is None:
                worker = _Worker(self.memory_mb, self.max_result_bytes)
            try:
                if batch.key not in worker.loaded:
                    worker.send(("load", batch.key, batch.blob))
                    reply = worker.recv(_STARTUP_S)
                    if reply is None or reply[0] != "loaded":
                        raise _Fatal(reply[1] if reply else "timed out loading the verifier")
                    worker.loaded.add(batch.key)
                worker.send(("score", batch.key, completion, fields))
            except (BrokenPipeError, EOFError, ConnectionResetError, OSError):
                worker.kill()
                worker = None
                if attempt:
                    raise
                continue
            return self._await(worker, batch, i)
        raise AssertionError("unreachable")

    def _await(self, worker: _Worker, batch: _Batch, i: int) -> tuple[_Worker | None, Score | None]:
        try:
            reply = worker.recv(self.timeout_s)
        except (EOFError, OSError):
            code = worker.kill()
            return None, Score(0.0, {"reason": "worker_died", "exit_code": code})
        if reply is None:
            worker.kill()
            return None, Score(0.0, {"reason": "timeout", "timeout_s": self.timeout_s})
        return worker, reply[1]

    def close(self) -> None:
        """Finish the items already queued, then stop the slots and kill the workers."""
        if self._closed:
            return
        self._closed = True
        for _ in self._threads:
            self._tasks.put(None)
        for t in self._threads:
            t.join()

    def __enter__(self) -> RewardPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass
