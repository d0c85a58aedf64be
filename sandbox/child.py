"""The untrusted side: set up a freshly forked process for one job, lock it down, run the candidate.

Runs in the process the zygote (zygote.py) forks per job. `start_job` is the trusted prologue: it reads
the job (the worker's plan frame, then the caller's source frame) from a pipe -- the only way the job's
text ever reaches this process, after the fork --, enters a fresh IPC namespace and calls `confine`. (It
was born in the worker's cgroup, where the zygote lives, and its working directory is a tmpfs the worker
mounted for this job alone.) `confine` applies, in order: a
new session, only the fds the job needs, rlimits, an unprivileged uid (or zero capabilities in
user-namespace mode), no_new_privs, a parent-death signal, Landlock and seccomp, and closes the setup pipe
last. A failure anywhere in the prologue is written to that setup pipe, which the worker alone reads: the
candidate's code never holds it, so it cannot report a fake infrastructure error. Then `serve_calls` executes
the candidate's source and answers `call` frames from the judge, or `run_program` runs it as a
stdin/stdout program whose exit status the worker reads from the kernel.

Nothing this process says is trusted: the judge decodes its answers as plain data and makes the verdict.
What this module does NOT do: time limits on the wall clock, output caps or cleanup; the judge and the
worker own those, from outside.
"""

from __future__ import annotations

import fcntl
import io
import os
import resource
import signal
import sys
import traceback
import types

from . import answer, codec, kernel

STDIN, STDOUT, STDERR, REQ, RESP, SETUP, RULESET = 0, 1, 2, 3, 4, 5, 6
_setup_fd = -1  # where the prologue reports a failure; -1 once closed


def _place_fds(fds: dict[int, int]) -> None:
    """dup2 each source fd to its target number, then close every other fd (low numbers included)."""
    staged = {target: fcntl.fcntl(src, fcntl.F_DUPFD_CLOEXEC, 100) for target, src in fds.items()}
    for target, tmp in staged.items():
        os.dup2(tmp, target, inheritable=False)
        os.close(tmp)
    for fd in range(max(fds)):
        if fd not in fds:
            try:
                os.close(fd)
            except OSError:
                pass
    os.closerange(max(fds) + 1, 1 << 20)


def start_job(ctx: dict, fds: dict[str, int]) -> None:
    """The trusted prologue in the zygote's fresh child; never returns. See the module docstring."""
    global _setup_fd
    _setup_fd = fds["setup"]
    try:
        kernel.set_name("sbx-job")
        plan = codec.read_frame(fds["src"], limit=1 << 16)
        job = codec.read_frame(fds["src"])
        os.close(fds["src"])
        if ctx["fresh_ipc"]:
            kernel.unshare(kernel.CLONE_NEWIPC)  # SysV/mq objects of this job die with its last process
        kernel.write_file("/proc/self/oom_score_adj", b"1000")  # out of memory, the job dies, never the zygote
        targets = {STDIN: _stdin(job.get("stdin") or "") if plan["kind"] == "io" else os.open("/dev/null", 0),
                   STDOUT: fds["out"], STDERR: fds["err"], SETUP: fds["setup"]}
        if plan["kind"] != "io":
            targets |= {REQ: fds["req"], RESP: fds["resp"]}
        confine(plan, targets, ctx["ruleset"], ctx["seccomp"])
        source = job["source"]
    except BaseException as e:
        _report_setup_failure(e)
        os._exit(70)
    try:
        if plan["kind"] == "io":
            run_program(source, ctx.get("stdio"))
        else:
            serve_calls(source, ctx.get("stdio"))
    finally:
        os._exit(1)


def _report_setup_failure(e: BaseException) -> None:
    try:
        codec.write_all(_setup_fd, f"{type(e).__name__}: {e}"[:300].encode("utf-8", "replace"))
    except BaseException:
        pass


def _stdin(text: str) -> int:
    fd = os.memfd_create("stdin", 0)
    codec.write_all(fd, text.encode())
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


def confine(plan: dict, fds: dict[int, int], ruleset_fd: int | None, seccomp_filter) -> None:
    """Apply every layer the worker enabled, closing the setup pipe (fd SETUP) last. Raises on failure."""
    global _setup_fd
    os.setsid()
    if ruleset_fd is not None:
        fds = {**fds, RULESET: ruleset_fd}
    _place_fds(fds)
    _setup_fd = SETUP
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
        kernel.landlock_restrict(RULESET)
        os.close(RULESET)
    if seccomp_filter is not None:
        seccomp_filter.load()
    os.close(SETUP)
    _setup_fd = -1


def stdio_objects() -> tuple:
    """sys.stdin, sys.stdout and sys.stderr for the candidate: text wrappers over fds 0-2 (no buffer layer).

    Built once by the worker for the candidates' zygote (`ctx["stdio"]`) over fds as every job has them --
    stdout and stderr pipes, stdin a seekable file (/dev/null here, /dev/null or a memfd in a job) -- since a
    wrapper records at birth whether its file is seekable. Nothing is ever written through them before a
    job, and each job writes only through its own copy-on-write copy. Why: building them in each fresh child
    cost ~70 page faults, 0.2 ms of CPU.
    """
    saved = {fd: os.dup(fd) for fd in (STDOUT, STDERR)}
    r, w = os.pipe()
    try:
        for fd in saved:
            os.dup2(w, fd)
        return _new_stdio()
    finally:
        for fd, copy in saved.items():
            os.dup2(copy, fd)
            os.close(copy)
        os.close(r)
        os.close(w)


def _new_stdio() -> tuple:
    return (io.TextIOWrapper(io.FileIO(STDIN, "r", closefd=False), encoding="utf-8"),
            io.TextIOWrapper(io.FileIO(STDOUT, "w", closefd=False), encoding="utf-8", write_through=False),
            io.TextIOWrapper(io.FileIO(STDERR, "w", closefd=False), encoding="utf-8", write_through=True))


def _reset_interpreter(as_main: bool, stdio: tuple | None) -> dict:
    """Stdio objects over fds 0-2 (`stdio_objects`, else new ones), default signals, and an empty module to
    run the source in."""
    sys.stdin, sys.stdout, sys.stderr = stdio or _new_stdio()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGPIPE, signal.SIGCHLD):
        kernel.set_signal(sig, signal.SIG_DFL)
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


def serve_calls(source: str, stdio: tuple | None = None) -> None:
    """Load the candidate, report its callables, then answer `call` frames until EOF. Never returns."""
    ns = _reset_interpreter(False, stdio)
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


def run_program(source: str, stdio: tuple | None = None) -> None:
    """Run the source as __main__ with the prepared stdin; the exit status (SystemExit's code, 1 for an
    uncaught exception) is all it reports, and the worker reads it from the kernel, not from a frame."""
    ns = _reset_interpreter(True, stdio)
    code = 0
    try:
        exec(compile(source, "solution.py", "exec"), ns)
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except BaseException:
        traceback.print_exc(limit=3)
        code = 1
    _flush()
    os._exit(code & 0xFF)
