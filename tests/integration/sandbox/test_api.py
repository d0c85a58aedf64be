"""The public API end to end: statuses, counts, I/O problems, threads, layers, lifecycle, the CLI."""

import json
import pickle
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from sandbox import Sandbox, SandboxUnavailable

ADD = "def add(a, b):\n    return a + b\n"


@pytest.fixture(scope="module")
def sb():
    with Sandbox(workers=2, timeout=10.0) as box:
        yield box


def test_pass_and_fail_counts(sb):
    r = sb.run_tests(ADD, ["assert add(1, 2) == 3", "assert add(2, 2) == 5", "assert add(0, 0) == 0"])
    assert (r.status, r.passed, r.total) == ("fail", 2, 3) and r.detail.startswith("test 2")
    r = sb.run_tests(ADD, "assert add(1, 2) == 3\nassert add(1, 1) == 2\n")
    assert (r.status, r.passed, r.total) == ("pass", 2, 2)


def test_humaneval_style_check_and_exceptions(sb):
    tests = "def check(candidate):\n    assert candidate(2, 3) == 5\n    assert isinstance(candidate(1, 1), int)\n"
    assert sb.run_tests(ADD, tests, entry_point="add").status == "pass"
    bad = "def add(a, b):\n    raise ValueError('no')\n"
    r = sb.run_tests(bad, tests, entry_point="add")
    assert r.status == "fail" and "ValueError" in r.detail
    assert sb.run_tests(ADD, tests, entry_point="nope").status == "load_error"
    assert sb.run_tests("def add(:\n", tests, entry_point="add").status == "load_error"


def test_tuples_and_dicts_cross_the_boundary(sb):
    src = "def f(x):\n    return (x, {1: [x]}, {x})\n"
    assert sb.run_tests(src, ["assert f(2) == (2, {1: [2]}, {2})", "assert type(f(1)) is tuple"]).status == "pass"


def test_io_problems(sb):
    src = "n = int(input())\nprint(sum(range(n + 1)))\n"
    assert sb.run_io(src, "4\n", "10\n").status == "pass"
    assert sb.run_io(src, "4\n", "11\n").status == "fail"
    assert sb.run_io("import sys\nprint(10)\nsys.exit(3)\n", "", "10").status == "fail"
    assert sb.run_io("print('10')\nimport os\nos._exit(0)\n", "", "10").status == "fail"  # no clean exit


def test_thread_safe_concurrent_jobs(sb):
    with ThreadPoolExecutor(6) as ex:
        results = list(ex.map(lambda i: sb.run_tests(ADD, [f"assert add({i}, 1) == {i + 1}"]), range(24)))
    assert all(r.status == "pass" for r in results)


def test_missing_layer_is_refused_unless_opted_out():
    with pytest.raises(SandboxUnavailable, match="seccomp"):
        Sandbox(workers=1, disable=["seccomp"]).start()
    with Sandbox(workers=1, disable=["seccomp"], allow_missing=["seccomp"]) as box:
        assert box.run_tests(ADD, ["assert add(1, 1) == 2"]).status == "pass"
        assert box.layers["seccomp"] == "disabled by caller"
    with pytest.raises(ValueError):
        Sandbox(allow_missing=["nonsense"])


def test_lifecycle_is_lazy_and_close_is_idempotent():
    box = Sandbox(workers=1)
    assert box._all == []  # nothing started yet
    box2 = pickle.loads(pickle.dumps(box))
    assert box2.workers == 1 and box2._all == []
    box.close()
    box.close()
    with pytest.raises(RuntimeError):
        box.run_tests(ADD, ["assert add(1, 1) == 2"])


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "sandbox", *args], capture_output=True, text=True, timeout=120)


def test_cli_prints_one_json_object(tmp_path):
    sol, tests = tmp_path / "sol.py", tmp_path / "tests.py"
    sol.write_text(ADD)
    tests.write_text("assert add(1, 2) == 3\n")
    out = _cli("check", str(sol), "--tests", str(tests), "--timeout", "5")
    assert out.returncode == 0 and json.loads(out.stdout)["status"] == "pass"
    sol.write_text("import sys\nsys.exit(0)\n")
    out = _cli("check", str(sol), "--tests", str(tests))
    got = json.loads(out.stdout)
    assert out.returncode == 0 and got["status"] == "exited" and got["passed"] == 0 and got["total"] == 1
    (tmp_path / "in.txt").write_text("")
    (tmp_path / "out.txt").write_text("hi\n")
    sol.write_text("print('hi')\n")
    out = _cli("check", str(sol), "--stdin", str(tmp_path / "in.txt"), "--expect", str(tmp_path / "out.txt"))
    assert json.loads(out.stdout)["status"] == "pass"
    assert _cli("check", str(sol)).returncode == 2


def test_cli_refuses_a_tests_file_that_does_not_compile(tmp_path):
    """Tests are trusted input: a broken tests file is the caller's mistake (exit 2, one line), not a verdict."""
    sol, tests = tmp_path / "sol.py", tmp_path / "tests.py"
    sol.write_text(ADD)
    tests.write_text("assert add(1, 2) == 3\nassert add(1,\n")
    out = _cli("check", str(sol), "--tests", str(tests))
    assert out.returncode == 2 and out.stdout == ""
    assert "tests.py does not compile: line 2" in out.stderr and "Traceback" not in out.stderr
