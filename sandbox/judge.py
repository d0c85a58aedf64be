"""The trusted side of one job: run the dataset's test code here, calling the candidate across a pipe.

The judge is a process forked by the worker per job, *after* the candidate's process, so the candidate's
memory never held the tests or the expected output. The judge alone builds the tests' namespace
(testcode.py): its own builtins, the tests' own definitions, and from the candidate only the declared entry
point and the names the tests read but never define (as proxies that call into the child; answers decoded as
plain data or handles, remote.py). What the child announces can only narrow that set, never widen it.
Stdlib modules the solution imported and the tests use without importing are imported here (`MODULES`),
each only under its own name (`np` for numpy aside): the candidate cannot make `math` mean `cmath`.

Verdicts: pass, fail, no_checks, timeout, output_limit, load_error, exited, response_too_large,
bad_response, error. A pass needs at least one executed check in every block (an `assert` that ran, or a
`pytest.raises` that saw its exception); a block where none ran is `no_checks` (reward 0): asserts only in
an uncalled function, under `if __name__ == "__main__":`, a `check` with no entry point, an empty list, or a
loop over an empty answer. A failed check counts even when the tests catch the AssertionError. Partial
credit counts only checks that ran (remote.Checks: an assert statement that ran, passed if all of its runs
passed): a string of test code reports checks passed of checks run (plus one per error that ended a part
early); a list of tests reports tests passed of tests.

Bounds: one wall-clock deadline covers everything here, decoding included (SIGALRM; the worker kills the
judge shortly after as a backstop for C code that ignores signals); decoding is linear in the response
size, capped at `response_bytes` (codec.py); the verdict is capped (well under a pipe buffer) and is valid
UTF-8. Once an Abort is raised it is sticky: test code that swallows it (`except BaseException`) cannot
turn it into a pass. Details never quote the test code or its expected values.
What this module does NOT do: kill or reap processes (the worker does), or guard against hostile *test*
code: tests are trusted. A test's own helpers that live in the candidate's source (HumanEval/32's `poly`,
HumanEval/38's `encode_cyclic`) are the candidate's: a solution that rewrites them changes what they mean.
"""

from __future__ import annotations

import builtins
import errno
import functools
import importlib
import signal
import sys
import time
from dataclasses import dataclass

from . import kernel, testcode
from .channel import DETAIL_CHARS, Channel
from .remote import Abort, CandidateError, CheckFailed, Checks, Raises, exc_filter, proxy
from .result import STATUSES

__all__ = ["Abort", "CandidateError", "Channel", "judge_io", "judge_tests", "run_judge"]

MODULES = frozenset({"math", "cmath", "collections", "itertools", "functools", "heapq", "bisect", "re",
                     "string", "random", "statistics", "fractions", "decimal", "operator", "copy", "datetime",
                     "json", "typing", "numbers", "array", "hashlib", "unicodedata", "textwrap", "enum",
                     "dataclasses", "numpy"})
_ALIASES = {"np": "numpy"}  # the only free name that may bind a module of another name
MAX_NAMES = 10_000


# ---- one block of tests -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Block:
    passed: int   # checks that ran and never failed
    total: int    # checks that ran, plus errors that ended a part early
    detail: str   # first failure, "" if none

    @property
    def vacuous(self) -> bool:
        return self.total == 0

    @property
    def ok(self) -> bool:
        return self.passed == self.total > 0


def _where(e: BaseException) -> str:
    tb, line = e.__traceback__, None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == testcode.FILENAME:
            line = tb.tb_lineno
        tb = tb.tb_next
    return f" (test line {line})" if line else ""


def _describe(e: BaseException) -> str:
    if isinstance(e, CheckFailed):
        return f"{e}{_where(e)}"
    if isinstance(e, CandidateError):
        return f"{e.type_name}: {e.message[:200]}{_where(e)}"
    return f"{type(e).__name__}: {str(e)[:200]}{_where(e)}"


def _namespace(chan: Channel, prep: testcode.Prepared, ready: tuple, entry_point: str | None,
               checks: Checks) -> dict:
    """The tests' globals: judge builtins and hooks, then only the candidate names the tests leave free."""
    names, modules = ready
    ns = {"__name__": "__test__", "__builtins__": builtins, "__sbx_ok__": checks.passed,
          "__sbx_fail__": checks.fail, "__sbx_exc__": exc_filter, "__sbx_raises__": functools.partial(Raises, checks)}
    for n in prep.free:
        if n in names:
            ns[n] = proxy(chan, n)
        elif modules.get(n) == _ALIASES.get(n, n) in MODULES:  # `math` is math, never another module
            try:
                ns[n] = importlib.import_module(modules[n])
            except ImportError:
                pass
    if entry_point and entry_point in names and entry_point not in prep.bound:
        ns[entry_point] = proxy(chan, entry_point)
    return ns


def _run_part(fn, errors: list) -> bool:
    """Run one part (module body, check, a test function); an exception ends only that part.
    `errors` gets (is_a_failed_check, description)."""
    try:
        fn()
        return True
    except Abort:
        raise
    except SystemExit as e:
        if e.code not in (None, 0):
            errors.append((False, f"the tests exited with status {e.code!r}"[:DETAIL_CHARS]))
    except Exception as e:
        errors.append((isinstance(e, CheckFailed), _describe(e)))
    return False


def _run_block(chan: Channel, prep: testcode.Prepared, ready: tuple, entry_point: str | None) -> Block:
    checks, errors = Checks(), []
    ns = _namespace(chan, prep, ready, entry_point, checks)
    if _run_part(lambda: exec(prep.code, ns), errors):
        if prep.call_check and entry_point and entry_point in ready[0]:
            _run_part(lambda: ns["check"](proxy(chan, entry_point)), errors)
        for name in prep.test_functions:
            _run_part(lambda n=name: ns[n](), errors)
    if chan.aborted is not None:
        raise chan.aborted
    n_err = sum(1 for is_check, _ in errors if not is_check)
    detail = errors[0][1] if errors else ("a failed check was caught by the test code" if checks.failed else "")
    return Block(checks.ok, checks.executed + n_err, detail)


def _await_ready(chan: Channel) -> tuple[tuple | None, dict | None]:
    frame = chan.pump(want_frame=True)
    if frame is None:
        return None, {"status": "exited", "detail": "the candidate's process ended while loading"}
    t = frame.get("t")
    if t == "load_error":
        return None, {"status": "load_error", "detail": str(frame.get("detail"))[:300]}
    names, modules = frame.get("names"), frame.get("modules", {})
    if t != "ready" or type(names) is not list or len(names) > MAX_NAMES or type(modules) is not dict:
        raise chan.fail("bad_response", "expected the ready frame")
    names = frozenset(n for n in names if type(n) is str)
    modules = {k: v for k, v in list(modules.items())[:MAX_NAMES] if type(v) is str}
    return (names, modules), None


def _summary(blocks: list[Block], single: bool) -> dict:
    if single:
        b = blocks[0]
        status = "pass" if b.ok else "no_checks" if b.vacuous else "fail"
        detail = b.detail or ("no check ran" if b.vacuous else "")
        return {"status": status, "passed": b.passed, "total": b.total, "detail": detail}
    passed = sum(1 for b in blocks if b.ok)
    failed = next((f"test {i + 1}: {b.detail}" for i, b in enumerate(blocks) if not b.ok and not b.vacuous), "")
    vacuous = next((f"test {i + 1}: no check ran" for i, b in enumerate(blocks) if b.vacuous), "")
    status = "fail" if failed else "no_checks" if vacuous or not blocks else "pass"
    return {"status": status, "passed": passed, "total": len(blocks),
            "detail": failed or vacuous or ("no tests" if not blocks else "")}


def judge_tests(chan: Channel, tests, entry_point: str | None) -> dict:
    """Verdict for a function-call problem: test code (str) or a list of test snippets."""
    single = isinstance(tests, str)
    blocks = [tests] if single else list(tests)
    total_hint = max(len(blocks), 1) if not single else 1
    try:
        prepared = [testcode.prepare(b) for b in blocks]
    except (SyntaxError, ValueError, RecursionError, MemoryError) as e:
        return {"status": "error", "passed": 0, "total": total_hint,
                "detail": f"the test code does not parse: {type(e).__name__}"}
    try:
        ready, early = _await_ready(chan)
        if early:
            return {**early, "passed": 0, "total": total_hint}
        if entry_point and entry_point not in ready[0]:
            return {"status": "load_error", "passed": 0, "total": total_hint,
                    "detail": f"entry point {entry_point!r} is not defined"}
        return _summary([_run_block(chan, p, ready, entry_point) for p in prepared], single)
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


def _bounded(verdict: dict) -> dict:
    """A verdict the worker can always read: known status, small ints, short valid UTF-8 detail."""
    status = verdict.get("status") if verdict.get("status") in STATUSES else "error"
    nums = [v if type(v) is int and 0 <= v < 1 << 31 else 0 for v in (verdict.get("passed"), verdict.get("total"))]
    detail = str(verdict.get("detail") or "")[:DETAIL_CHARS].encode("utf-8", "replace").decode("utf-8")
    return {"status": status, "passed": nums[0], "total": nums[1], "detail": detail}


def _in_main_thread() -> bool:
    """Without importing threading: a process that imported it pays its at-fork hook on every fork (measured
    0.35 ms of CPU per fork here), and the judges' zygote forks once per job. No threading, no other thread."""
    threading = sys.modules.get("threading")
    return threading is None or threading.current_thread() is threading.main_thread()


def _under_deadline(chan: Channel, fn) -> dict:
    """Run `fn` with SIGALRM at the deadline, so decoding and the tests' own work are bounded too."""
    if not _in_main_thread():
        return fn()

    def on_alarm(_sig, _frame):
        raise chan.fail("timeout", "wall-clock limit reached")

    old = kernel.set_signal(signal.SIGALRM, on_alarm)
    try:
        # repeats after the deadline: an Abort swallowed (a gc callback, `except BaseException`) is raised again
        signal.setitimer(signal.ITIMER_REAL, max(chan.deadline - time.monotonic(), 1e-3), 0.05)
        return fn()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        kernel.set_signal(signal.SIGALRM, old)


def run_judge(kind: str, fds: dict, deadline: float, limits: dict, spec: dict) -> dict:
    """Entry point in the judge process. Always returns a bounded verdict."""
    chan = Channel(fds, deadline, limits)
    try:
        if kind == "io":
            verdict = _under_deadline(chan, lambda: judge_io(chan, spec["expected"]))
        else:
            verdict = _under_deadline(chan, lambda: judge_tests(chan, spec["tests"], spec.get("entry_point")))
    except Abort as a:
        verdict = {"status": a.status, "passed": 0, "total": 1, "detail": a.detail}
    except OSError as e:
        if e.errno != errno.EPIPE:
            raise
        verdict = {"status": "exited", "passed": 0, "total": 1, "detail": "candidate closed its pipe"}
    return _bounded(verdict)
