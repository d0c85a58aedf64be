"""The worker process of `RewardPool`: reads (verifier, completion, row) messages from a pipe, scores them,
writes pickled results back. Run as `python -m rewards._worker RFD WFD MEMORY_MB`.

Its caps: an address-space limit (RLIMIT_AS), a size cap on each reply (an oversized info is cut down to its
reason), stdout sent to /dev/null so a chatty verifier cannot flood the trainer's console, and a parent-death
signal so it never outlives the process that started it. It does not time itself: the parent kills it.
"""

from __future__ import annotations

import os
import pickle
import resource
import signal
import sys
from multiprocessing.connection import Connection

from rewards.base import Score
from rewards.custom import PICKLE_HINT


def _die_with_parent() -> None:
    try:
        from sandbox.kernel import PR_SET_PDEATHSIG, prctl

        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError, ImportError):
        pass


def _limit_memory(memory_mb: int) -> None:
    if memory_mb > 0:
        cap = memory_mb * 2**20
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY:
            cap = min(cap, hard)
        resource.setrlimit(resource.RLIMIT_AS, (cap, hard))


def _error(kind: str, exc: BaseException) -> Score:
    return Score(0.0, {"reason": kind, "error": f"{type(exc).__name__}: {exc}"[:500]})


def _score(verifier, completion, row) -> Score | None:
    try:
        out = verifier.score(completion, **row)
    except MemoryError as exc:
        return _error("memory_limit", exc)
    except Exception as exc:  # a verifier bug must not kill the run, but it must be visible
        return _error("verifier_error", exc)
    if out is not None and not isinstance(out, Score):
        return Score(0.0, {"reason": "verifier_error", "error": f"score() returned {type(out).__name__}"})
    return out


def _encode(result, max_bytes: int) -> bytes:
    data = pickle.dumps(("ok", result))
    if len(data) > max_bytes and isinstance(result, Score):
        small = Score(result.reward, {"reason": str(result.info.get("reason"))[:200], "info_truncated": True})
        data = pickle.dumps(("ok", small))
    return data


def serve(rx: Connection, tx: Connection, max_bytes: int) -> None:
    verifiers: dict[str, object] = {}
    tx.send_bytes(pickle.dumps(("ready", os.getpid())))
    while True:
        try:
            msg = pickle.loads(rx.recv_bytes())
        except EOFError:
            return
        if msg[0] == "load":
            _, key, blob = msg
            try:
                verifiers[key] = pickle.loads(blob)
                tx.send_bytes(pickle.dumps(("loaded", key)))
            except Exception as exc:
                hint = f" ({PICKLE_HINT})" if isinstance(exc, AttributeError | ImportError) else ""
                tx.send_bytes(pickle.dumps(("fatal", f"cannot load verifier: {type(exc).__name__}: {exc}{hint}")))
            continue
        _, key, completion, row = msg
        tx.send_bytes(_encode(_score(verifiers[key], completion, row), max_bytes))


def main(argv: list[str]) -> None:
    rfd, wfd, memory_mb, max_bytes = (int(a) for a in argv)
    _die_with_parent()
    _limit_memory(memory_mb)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    sys.stdout = open(1, "w", closefd=False)
    serve(Connection(rfd, writable=False), Connection(wfd, readable=False), max_bytes)


if __name__ == "__main__":
    main(sys.argv[1:])
