"""Warm the zygotes up before they freeze: run the code every job runs, on fixed data of our own, once.

Why: CPython 3.11 rewrites a function's bytecode in place as it warms up (quickening, then specialising each
instruction to the types it meets) and fills lazy caches (type attribute lookups, json's scanners) on first
use. Done in each forked child, that work and the copy-on-write faults it causes are paid again per job:
measured here, the judge's `testcode.prepare` of three asserts cost 1.36 ms of CPU and 219 page faults in a
fresh judge against 0.24 ms warm. Done once in a zygote before `gc.freeze`, every child finds that code
already specialised.

What runs where: the judges' zygote judges a few fixed jobs for real (`judge.run_judge`, its pipes, its
deadline) against a throwaway child it forks, which answers with `child.serve_calls` unconfined (our own
constant source). The candidates' zygote cannot confine itself, so it runs the pieces of `child.py` that
do not change the process: frame reading, compiling and executing a source in a throwaway namespace,
answering calls, writing through a text wrapper.

Invariant kept: nothing here is a job's. The data are this module's constants, identical in every worker;
what outlives the warm-up is what CPython caches in code objects and types, the same for every zygote.
So a job still inherits nothing of any job (the package docstring's invariant).
What this module does NOT do: import modules for the jobs (a job's imports stay its own cost), or measure
anything (benchmarks/sandbox_throughput.py does).
"""

from __future__ import annotations

import io
import os
import time

from . import answer, codec

ROUNDS = 16  # 3.11 quickens a function after 8 calls (measured: 64 rounds bought nothing more)
SOURCE = ("import math\n"
          "def add(a, b):\n    return a + b\n"
          "def pair(xs):\n    return (min(xs), max(xs)), {'n': len(xs)}\n"
          "class Box:\n    def __init__(self, v):\n        self.v = v\n    def get(self):\n        return self.v\n")
TESTS = ["assert add(1, 2) == 3", "assert add(-1, 1) == 0", "assert pair([3, 1, 2]) == ((1, 3), {'n': 3})",
         "b = Box(4)\nassert b.get() == 4"]
CHECK = ("def check(candidate):\n    assert candidate(2, 3) == 5\n    for i in range(3):\n"
         "        assert candidate(i, i) == 2 * i\n    try:\n        candidate(None, 1)\n"
         "    except TypeError:\n        pass\n")
IO_SOURCE = "import sys\nprint(sum(int(x) for x in sys.stdin.read().split()))\n"


def candidate_side(rounds: int = ROUNDS) -> None:
    """In the candidates' zygote: the frame reading, loading and call answering of child.py, on our data."""
    null = os.open("/dev/null", os.O_WRONLY)
    try:
        for _ in range(rounds):
            r, w = os.pipe()
            try:
                codec.write_all(w, codec.pack({"kind": "tests", "workdir": "/", "timeout": 1.0, "uid": None}))
                codec.write_all(w, codec.pack({"source": SOURCE, "stdin": ""}))
                codec.read_frame(r, limit=1 << 16)
                job = codec.read_frame(r)
            finally:
                os.close(r)
                os.close(w)
            ns = {"__builtins__": __builtins__, "__name__": "solution"}
            exec(compile(job["source"], "solution.py", "exec"), ns)
            handles = answer.Handles()
            for i, (name, args) in enumerate((("add", [1, 2]), ("pair", [[3, 1, 2]]), ("Box", [4]), ("add", [None, 1]))):
                req = {"t": "call", "name": name, "args": codec.encode_value(args), "kwargs": {"D": []}, "id": i}
                codec.unpack(codec.pack(answer.answer(req, ns, handles))[codec.HEADER.size:])
            out = io.TextIOWrapper(io.FileIO(null, "w", closefd=False), encoding="utf-8", write_through=False)
            out.write("warm\n")
            out.flush()
    finally:
        os.close(null)


def judge_side(limits: dict, rounds: int = ROUNDS) -> None:
    """In the judges' zygote: judge fixed jobs for real against a throwaway child (see the module docstring)."""
    from . import judge

    jobs = [("tests", {"tests": TESTS}, SOURCE, ""), ("tests", {"tests": CHECK, "entry_point": "add"}, SOURCE, ""),
            ("io", {"expected": "6\n"}, IO_SOURCE, "1 2 3\n")]
    for i in range(rounds):
        kind, spec, source, stdin = jobs[i % len(jobs)]
        verdict = _judge_once(judge, kind, spec, source, stdin, limits)
        if verdict["status"] != "pass":
            raise RuntimeError(f"the warm-up job did not pass: {verdict}")


def _judge_once(judge, kind: str, spec: dict, source: str, stdin: str, limits: dict) -> dict:
    from . import child

    pipes = {k: os.pipe() for k in ("req", "resp", "out", "err")}
    stdin_fd = child._stdin(stdin)
    pid = os.fork()
    if pid == 0:  # the throwaway candidate: our constant source, unconfined, gone before any job
        try:
            fds = {child.STDIN: stdin_fd, child.STDOUT: pipes["out"][1], child.STDERR: pipes["err"][1]}
            if kind == "io":
                child._place_fds(fds)
                child.run_program(source)
            child._place_fds(fds | {child.REQ: pipes["req"][0], child.RESP: pipes["resp"][1]})
            child.serve_calls(source)
        finally:
            os._exit(1)
    os.close(stdin_fd)
    for end in (pipes["req"][0], pipes["resp"][1], pipes["out"][1], pipes["err"][1]):
        os.close(end)
    pidfd = os.pidfd_open(pid)
    fds = {"req": pipes["req"][1], "resp": pipes["resp"][0], "out": pipes["out"][0], "err": pipes["err"][0],
           "pidfd": pidfd}
    try:
        verdict = judge.run_judge(kind, fds, time.monotonic() + 10.0, limits, spec)
        codec.pack(verdict)
        return verdict
    finally:
        for fd in fds.values():
            os.close(fd)
        os.waitpid(pid, 0)
