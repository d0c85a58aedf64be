"""A second suite no one here wrote: reasoning-gym's CodeI/O programs (`codeio.jsonl.gz`: a reference
`main_solution` per task and an input generator). For a fixed sample of stdlib-only programs, expected
outputs are computed by running the reference *outside* the sandbox in a plain subprocess (twice in each of two
processes with different string-hash seeds, and with `random` seeded differently for each call, to drop
non-deterministic programs; programs that import os, threading, time, ... are left out: their answers
depend on the machine, and the sandbox differs from it by design); then every reference solution must pass in the sandbox against asserts on those
outputs, and every one with its body replaced by `return None` must not. This exercises the codec and the
judge on real-world return types (dicts, nested lists, floats, tuples, big ints, strings)."""

import gzip
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from sandbox import Sandbox

rg = pytest.importorskip("reasoning_gym")
DATA = Path(rg.__file__).parent / "data" / "codeio.jsonl.gz"
SAMPLE_EVERY, INPUTS_PER_PROGRAM = 25, 3

REFERENCE = r'''
import ast, copy, json, random, signal, sys
from random import Random
ENVIRONMENT = {"os", "sys", "multiprocessing", "threading", "subprocess", "socket", "tempfile", "shutil",
               "pathlib", "time", "datetime", "io", "glob", "signal", "asyncio", "concurrent", "secrets", "uuid"}
STDLIB = set(sys.stdlib_module_names) - ENVIRONMENT
def imports_ok(code):
    for n in ast.walk(ast.parse(code)):
        names = [a.name for a in n.names] if isinstance(n, ast.Import) else [n.module or ""] if isinstance(n, ast.ImportFrom) else []
        if any(x.split(".")[0] not in STDLIB for x in names):
            return False
    return True
def on_alarm(*_):
    raise TimeoutError
signal.signal(signal.SIGALRM, on_alarm)
out = []
for row in json.load(sys.stdin):
    try:
        if not imports_ok(row["code_sample"]) or "main_solution" not in row["code_sample"]:
            continue
        signal.alarm(2)
        ns = {}
        exec(row["code_sample"], ns)
        gen = {"Random": Random}
        exec(row["input_generator"], gen)
        cases = []
        for seed in range(int(sys.argv[1])):
            inputs = json.loads(json.dumps(gen["generate_inputs"](Random(seed))))
            random.seed(1)  # the shared module state differently seeded: a program that draws from it answers twice
            a = json.dumps(ns["main_solution"](**copy.deepcopy(inputs)), sort_keys=True)
            random.seed(2)
            b = json.dumps(ns["main_solution"](**copy.deepcopy(inputs)), sort_keys=True)
            if a != b or "NaN" in a or "Infinity" in a or a == "null":
                raise ValueError("not usable")
            cases.append([json.dumps(inputs), a])
        signal.alarm(0)
        out.append({"code": row["code_sample"], "cases": cases})
    except BaseException:
        signal.alarm(0)
print(json.dumps(out))
'''


@pytest.fixture(scope="module")
def programs():
    with gzip.open(DATA, "rt") as f:
        rows = [json.loads(line) for i, line in enumerate(f) if i % SAMPLE_EVERY == 0]
    usable = _agreeing(*(_reference(rows, seed) for seed in ("1", "2")))
    print(f"codeio: {len(usable)} usable of {len(rows)} sampled programs")
    assert len(usable) >= 40
    return usable


def _reference(rows, hash_seed: str) -> list[dict]:
    """Expected outputs under one string-hash seed: a program that returns a set's order, or anything else
    that follows `hash(str)`, answers differently in another process (the sandbox's), so each run gets its own."""
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    ref = subprocess.run([sys.executable, "-c", REFERENCE, str(INPUTS_PER_PROGRAM)], input=json.dumps(rows),
                         capture_output=True, text=True, timeout=600, env=env)
    return json.loads(ref.stdout)


def _agreeing(first: list[dict], second: list[dict]) -> list[dict]:
    """The programs whose every expected output is the same under both hash seeds."""
    cases = {p["code"]: p["cases"] for p in second}
    return [p for p in first if cases.get(p["code"]) == p["cases"]]


def _tests(cases) -> list[str]:
    return [f"import json\nexpected = json.loads({out!r})\n"
            f"assert json.loads(json.dumps(main_solution(**json.loads({inp!r})), sort_keys=True)) == expected\n"
            for inp, out in cases]


def _judge_all(programs, source_of):
    with Sandbox(workers=2, timeout=10.0) as sb, ThreadPoolExecutor(4) as ex:
        return list(ex.map(lambda p: sb.run_tests(source_of(p), _tests(p["cases"]), "main_solution"), programs))


@pytest.mark.slow
def test_reference_solutions_pass(programs):
    results = _judge_all(programs, lambda p: p["code"])
    failed = [(r.status, r.detail) for r in results if r.status != "pass"]
    print(f"codeio reference: {len(results) - len(failed)}/{len(results)} pass")
    assert not failed


@pytest.mark.slow
def test_return_none_bodies_fail(programs):
    results = _judge_all(programs, lambda p: p["code"] + "\ndef main_solution(*args, **kwargs):\n    return None\n")
    passed = [r for r in results if r.status == "pass"]
    print(f"codeio return None: {len(results) - len(passed)}/{len(results)} fail")
    assert not passed
