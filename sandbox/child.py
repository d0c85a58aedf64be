"""The untrusted side: lock down a freshly forked process, load the candidate, answer calls.

Runs in the child the worker forks per job. `confine` applies, in order: a new session, only the fds the
job needs, rlimits, an unprivileged uid (or zero capabilities in user-namespace mode), no_new_privs, a
parent-death signal, Landlock and seccomp. Then `serve_calls` executes the candidate's source and answers
`call` frames from the judge, or `run_program` runs it as a stdin/stdout program.

Nothing this process says is trusted: the judge decodes its answers as plain data and makes the verdict.
What this module does NOT do: time limits on the wall clock, output caps or cleanup; the judge and the
worker own those, from outside.
"""

from __future__ import annotations

import io
import os
import resource
import signal
import sys
import traceback
import types

from . import answer, codec, kernel

STDIN, STDOUT, STDERR, REQ, RESP = 0, 1, 2, 3, 4


def _place_fds(fds: dict[int, int]) -> None:
    """dup2 each source fd to its target number, then close everything else."""
    staged = {target: os.dup(src) for target, src in fds.items()}
    for target, tmp in staged.items():
        os.dup2(tmp, target, inheritable=False)
        os.close(tmp)
    os.closerange(max(fds) + 1, 65536)


def confine(plan: dict, fds: dict[int, int], ruleset_fd: int | None, seccomp_filter) -> None:
    """Apply every layer the worker enabled. Raises OSError if one fails; the caller then exits."""
    os.setsid()
    if ruleset_fd is not None:
        fds = {**fds, 5: ruleset_fd}
    _place_fds(fds)
    os.chdir(plan["workdir"])
    cpu = int(plan["timeout"]) + 2
    limits = {
        resource.RLIMIT_AS: plan["memory_bytes"], resource.RLIMIT_CPU: cpu,
        resource.RLIMIT_FSIZE: plan["file_bytes"], resource.RLIMIT_NOFILE: plan["max_files"],
        resource.RLIMIT_NPROC: plan["max_procs"], resource.RLIMIT_CORE: 0,
    }
    for which, value in limits.items():
        hard = value + 1 if which == resource.RLIMIT_CPU else value
        resource.setrlimit(which, (value, hard))
    if plan["uid"] is not None:
        os.setgroups([])
        os.setresgid(plan["uid"], plan["uid"], plan["uid"])
        os.setresuid(plan["uid"], plan["uid"], plan["uid"])
    else:
        kernel.drop_capabilities()
    kernel.prctl(kernel.PR_SET_NO_NEW_PRIVS, 1)
    kernel.prctl(kernel.PR_SET_PDEATHSIG, signal.SIGKILL)
    if ruleset_fd is not None:
        kernel.landlock_restrict(5)
        os.close(5)
    if seccomp_filter is not None:
        seccomp_filter.load()


def _reset_interpreter(as_main: bool) -> dict:
    """Fresh stdio objects over fds 0-2, default signals, and an empty module to run the source in."""
    sys.stdin = io.TextIOWrapper(io.FileIO(STDIN, "r", closefd=False), encoding="utf-8")
    sys.stdout = io.TextIOWrapper(io.FileIO(STDOUT, "w", closefd=False), encoding="utf-8",
                                  write_through=False)
    sys.stderr = io.TextIOWrapper(io.FileIO(STDERR, "w", closefd=False), encoding="utf-8",
                                  write_through=True)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_DFL)
    sys.argv = ["solution.py"]
    module = types.ModuleType("__main__" if as_main else "solution")
    module.__dict__["__builtins__"] = __builtins__
    sys.modules[module.__name__] = module  # dataclasses, pickle, typing look the module up by name
    return module.__dict__


def _send(msg: dict) -> None:
    codec.write_all(RESP, codec.pack(msg))


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass


def _short_exc(e: BaseException) -> str:
    return f"{type(e).__name__}: {str(e)[:300]}"


def serve_calls(source: str) -> None:
    """Load the candidate, report its callables, then answer `call` frames until EOF. Never returns."""
    ns = _reset_interpreter(as_main=False)
    try:
        exec(compile(source, "solution.py", "exec"), ns)
    except Exception as e:
        tb = traceback.format_exception_only(type(e), e)[-1].strip()
        _flush()
        _send({"t": "load_error", "detail": tb[:500]})
        os._exit(0)
    names = sorted(k for k, v in ns.items() if callable(v) and not k.startswith("__"))
    modules = {k: v.__name__ for k, v in ns.items() if isinstance(v, types.ModuleType) and not k.startswith("__")}
    _flush()
    _send({"t": "ready", "names": names, "modules": modules})  # untrusted: the judge only narrows with it
    handles = answer.Handles()
    while True:
        try:
            req = codec.read_frame(REQ)
        except EOFError:
            os._exit(0)
        reply = answer.answer(req, ns, handles)
        _flush()
        _send(reply)


def run_program(source: str) -> None:
    """Run the source as __main__ with the prepared stdin; exit status carries SystemExit codes."""
    ns = _reset_interpreter(as_main=True)
    code = 0
    try:
        exec(compile(source, "solution.py", "exec"), ns)
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except BaseException:
        traceback.print_exc(limit=3)
        code = 1
    _flush()
    _send({"t": "exit", "code": code & 0xFF})
    os._exit(code & 0xFF)
