"""Attacks on the process lifecycle: one attacked property per test.

Cross-job tests run two jobs one after the other on a one-worker sandbox, so the second job runs in the
same warm worker as the first: job A plants a secret (in its source, its tests, its verdict, its scratch,
IPC, environment, ...), job B looks for it and reports through its own verdict. Each B also finds a marker
of its own the same way, so a search that could never succeed cannot pass for isolation.
Other tests forge the frames and signals the worker must not trust, and attack cleanup and neighbours.
"""

import os
import threading
import time
import uuid
from pathlib import Path

import pytest

from sandbox import Sandbox, cgroups

from .conftest import ADD_TESTS, HONEST


def _tag(kind: str) -> tuple[str, str]:
    """A secret as two halves; a job that looks for it never holds the halves side by side."""
    return f"zq-{kind}-", uuid.uuid4().hex


@pytest.fixture(scope="module")
def one():
    """One worker: consecutive jobs share it, which is what a cross-job attack needs."""
    with Sandbox(workers=1, timeout=10.0) as box:
        box.start()
        yield box


@pytest.fixture(scope="module")
def one_open_proc():
    """One worker without Landlock, so a job can read its own /proc/self/mem and prove what is in it."""
    with Sandbox(workers=1, timeout=20.0, disable=["landlock"], allow_missing=["landlock"]) as box:
        box.start()
        yield box


def _honest_passes(box):
    r = box.run_tests(HONEST, ADD_TESTS, timeout=15.0)
    assert r.status == "pass", r


def _plant(box, halves: list[tuple[str, str]]) -> None:
    """Job A: the first secret is in its source, the second in its tests, the third in its verdict."""
    (s1, s2), (t1, t2), (v1, v2) = halves
    src = f"KEPT = {s1 + s2!r}\ndef f():\n    raise ValueError({v1 + v2!r})\n"
    r = box.run_tests(src, [f"assert f() != {t1 + t2!r}"])
    assert r.status == "fail" and v1 + v2 in r.detail, r  # the verdict really carried the secret


SCAN = '''
import ctypes, gc, os

def _find(data, a, b):
    i = data.find(a)
    while i >= 0:
        if data[i + len(a):i + len(a) + len(b)] == b:
            return True
        i = data.find(a, i + 1)
    return False

def memory(parts):
    """Which of the (half, half) secrets appear anywhere in this process's readable memory."""
    ctypes.CDLL(None).prctl(4, 1, 0, 0, 0)  # PR_SET_DUMPABLE, so /proc/self/mem is ours to read
    parts = [(a.encode(), b.encode()) for a, b in parts]
    found = [False] * len(parts)
    with open('/proc/self/maps') as m:
        regions = [line.split()[:2] for line in m]
    with open('/proc/self/mem', 'rb', buffering=0) as mem:
        for rng, perms in regions:
            if not perms.startswith('r'):
                continue
            lo, hi = (int(x, 16) for x in rng.split('-'))
            try:
                mem.seek(lo)
                data = mem.read(hi - lo)
            except (OSError, OverflowError, ValueError):
                continue
            found = [f or _find(data, a, b) for f, (a, b) in zip(found, parts)]
    return found

def objects(parts):
    """Which secrets appear in any string reachable from the garbage collector's objects."""
    found = [False] * len(parts)
    for o in gc.get_objects():
        for r in gc.get_referents(o):
            if isinstance(r, str):
                found = [f or _find(r, a, b) for f, (a, b) in zip(found, parts)]
    return found
'''


def _own_marker() -> tuple[str, str, str]:
    a, b = _tag("mine")
    return a, b, f"MINE = {a!r} + {b!r}\n"  # concatenated in the job: present there in one piece


def test_heap_of_the_previous_job_is_not_in_the_next_jobs_memory(one_open_proc):
    halves = [_tag("src"), _tag("spec"), _tag("verdict")]
    _plant(one_open_proc, halves)
    a, b, mine = _own_marker()
    src = SCAN + mine
    tests = [f"assert memory([({a!r}, {b!r})]) == [True]"] + [f"assert memory([({x!r}, {y!r})]) == [False]"
                                                                for x, y in halves]
    r = one_open_proc.run_tests(src, tests)
    assert (r.status, r.passed) == ("pass", 4), r


def test_previous_job_is_not_among_the_next_jobs_objects(one):
    halves = [_tag("src"), _tag("spec"), _tag("verdict")]
    _plant(one, halves)
    a, b, mine = _own_marker()
    tests = [f"assert objects([({a!r}, {b!r})]) == [True]"] + [f"assert objects([({x!r}, {y!r})]) == [False]"
                                                               for x, y in halves]
    r = one.run_tests(SCAN + mine, tests)
    assert (r.status, r.passed) == ("pass", 4), r


WARM_LEFTOVERS = (
    "import gc\n"
    "def mine():\n    return 1\n"
    "def leftovers():\n"
    "    gc.unfreeze()  # the zygote's frozen objects become visible to get_objects\n"
    "    names = set()\n"
    "    for o in gc.get_objects():\n"
    "        code = getattr(o, '__code__', None)\n"
    "        if code is not None and code.co_filename == 'solution.py':\n"
    "            names.add(o.__name__)\n"
    "        elif isinstance(o, type) and getattr(o, '__module__', None) == 'solution':\n"
    "            names.add(o.__name__)\n"
    "    return sorted(names - {'leftovers'})\n"
)


def test_the_zygotes_warm_up_leaves_no_candidate_behind(one):
    """The zygotes run a fixed job of our own before they freeze (sandbox/warm.py): its candidate's
    functions and classes must be gone, so a job finds only its own (`mine` is the positive control)."""
    from sandbox import warm

    assert "def pair" in warm.SOURCE and "class Box" in warm.SOURCE  # the names a leftover would carry
    r = one.run_tests(WARM_LEFTOVERS, ["assert leftovers() == ['mine']"])
    assert (r.status, r.passed) == ("pass", 1), r


def test_unflushed_output_does_not_reach_the_next_jobs_stdout(one):
    """Every job's sys.stdout/sys.stderr are copies of wrappers its zygote made once (child.stdio_objects):
    text job A leaves in their buffers, unflushed (os._exit skips the flush), must not be written by job B."""
    a, b = _tag("stdout")
    src = (f"import os, sys\nsys.stdout.write({a!r} + {b!r})\nsys.stderr.write({a!r})\n"
           "def add(x, y):\n    os._exit(0)\n")
    r = one.run_tests(src, ADD_TESTS)
    assert r.status == "exited", r
    r = one.run_io("import sys\nsys.stdout.write('x')\nprint(sys.stdin.read().strip())\n", "in", "xin\n")
    assert r.status == "pass", r  # anything left over from A would precede 'x'


def test_scratch_files_do_not_reach_the_next_job(one):
    a, b = _tag("file")
    r = one.run_tests(f"open('left_behind', 'w').write({a + b!r})\ndef ok():\n    return True\n", ["assert ok()"])
    assert r.status == "pass", r
    src = "import os\ndef seen():\n    return sorted(os.listdir('.'))\n"
    r = one.run_tests(src, ["assert seen() == []"])
    assert r.status == "pass", r


def test_scratch_xattrs_do_not_reach_the_next_job(one):
    src = ("import os\ndef plant():\n    os.setxattr('.', 'user.sbx', b'planted')\n"
           "    return os.getxattr('.', 'user.sbx')\n")
    r = one.run_tests(src, ["assert plant() == b'planted'"])
    assert r.status == "pass", r  # tmpfs takes user xattrs: the plant really happened
    r = one.run_tests("import os\ndef attrs():\n    return os.listxattr('.')\n", ["assert attrs() == []"])
    assert r.status == "pass", r


def test_scratch_default_acl_does_not_reach_the_next_job(one):
    # a POSIX ACL v2 header plus USER_OBJ rwx, GROUP_OBJ r-x, OTHER rwx: a default ACL granting everyone write
    acl = "b'\\x02\\x00\\x00\\x00' + b'\\x01\\x00\\x07\\x00\\xff\\xff\\xff\\xff' + " \
          "b'\\x04\\x00\\x05\\x00\\xff\\xff\\xff\\xff' + b'\\x20\\x00\\x07\\x00\\xff\\xff\\xff\\xff'"
    src = (f"import os\ndef plant():\n    try:\n        os.setxattr('.', 'system.posix_acl_default', {acl})\n"
           "    except OSError:\n        return False\n    return True\n")
    planted = one.run_tests(src, ["assert plant()"]).status == "pass"
    r = one.run_tests("import os\ndef attrs():\n    return os.listxattr('.')\n", ["assert attrs() == []"])
    assert r.status == "pass", (planted, r)


def test_sysv_shared_memory_cannot_be_created(one):
    src = ("import ctypes\ndef shm():\n    return ctypes.CDLL(None, use_errno=True).shmget(0x5bx, 1 << 20, 0o1666)\n"
           .replace("0x5bx", "0x5b5b"))
    r = one.run_tests(src, ["assert shm() == -1"])
    assert r.status == "pass", r


def test_posix_message_queues_cannot_be_created(one):
    src = ("import ctypes\ndef mq():\n    rt = ctypes.CDLL('librt.so.1', use_errno=True)\n"
           "    return rt.mq_open(b'/sbxq', 0o102, 0o666, None)\n")
    r = one.run_tests(src, ["assert mq() == -1"])
    assert r.status == "pass", r


def test_sysv_objects_do_not_outlive_their_job_without_seccomp():
    """With the seccomp layer off, a job can make a segment; the next job's fresh IPC namespace lacks it."""
    with Sandbox(workers=1, timeout=10.0, disable=["seccomp"], allow_missing=["seccomp"]) as box:
        src = ("import ctypes\nlibc = ctypes.CDLL(None)\n"
               "def make():\n    return libc.shmget(0x5b5b, 1 << 20, 0o1666)\n"
               "def find():\n    return libc.shmget(0x5b5b, 0, 0o666)\n")
        r = box.run_tests(src, ["assert make() >= 0", "assert find() >= 0"])
        assert r.status == "pass", r  # the segment existed while its job ran
        r = box.run_tests(src, ["assert find() == -1"])
        assert r.status == "pass", r


def test_environment_changes_do_not_reach_the_next_job(one):
    a, b = _tag("env")
    r = one.run_tests(f"import os\nos.environ['PLANT'] = {a + b!r}\nos.putenv('PLANT2', 'x')\n"
                      "def env():\n    return sorted(os.environ)\n", ["assert 'PLANT' in env()"])
    assert r.status == "pass", r
    r = one.run_tests("import os\ndef env():\n    return sorted(os.environ)\n",
                      ["assert 'PLANT' not in env() and 'PLANT2' not in env()", "assert len(env()) <= 1"])
    assert r.status == "pass", r  # one variable at most: LC_CTYPE, which Python itself may set


def test_a_job_holds_no_fd_but_its_own_five(one):
    src = ("import os\ndef fds():\n    out = []\n    for fd in range(1024):\n        try:\n"
           "            os.fstat(fd)\n            out.append(fd)\n        except OSError:\n            pass\n"
           "    return out\n")
    r = one.run_tests(src, ["assert fds() == [0, 1, 2, 3, 4]"])
    assert r.status == "pass", r


def test_forged_confine_error_frame_is_not_an_infrastructure_error(one):
    src = ("import os, json, struct\nb = json.dumps({'t': 'confine_error', 'detail': 'forged'}).encode()\n"
           "for fd in range(10):\n    try:\n        os.write(fd, struct.pack('!I', len(b)) + b)\n"
           "    except OSError:\n        pass\nos._exit(0)\n")
    r = one.run_tests(src, ADD_TESTS)
    assert r.status not in ("pass", "error"), r
    _honest_passes(one)


def test_forged_exit_frame_does_not_make_a_failing_program_pass(one):
    src = ("import os, json, struct\nb = json.dumps({'t': 'exit', 'code': 0}).encode()\n"
           "for fd in range(3, 10):\n    try:\n        os.write(fd, struct.pack('!I', len(b)) + b)\n"
           "    except OSError:\n        pass\nprint(42, flush=True)\nos._exit(3)\n")
    r = one.run_io(src, "", "42\n")
    assert r.status == "fail" and "status 3" in r.detail, r


def test_io_program_killed_by_a_signal_does_not_pass(one):
    src = "import os, signal\nprint(42, flush=True)\nos.kill(os.getpid(), signal.SIGSEGV)\n"
    r = one.run_io(src, "", "42\n")
    assert r.status == "fail" and "SIGSEGV" in r.detail, r


def test_lowering_its_own_cpu_limit_is_not_a_timeout(one):
    src = ("import resource\nresource.setrlimit(resource.RLIMIT_CPU, (1, 2))\n"
           "def add(a, b):\n    while True:\n        pass\n")
    r = one.run_tests(src, ADD_TESTS, timeout=8.0)
    assert r.status not in ("pass", "timeout"), r
    assert "SIGXCPU" in r.detail or "SIGKILL" in r.detail or r.status == "exited", r


def test_the_workers_own_cpu_limit_is_still_a_timeout(one):
    src = ("import threading\ndef spin():\n    while True:\n        pass\n"
           "for _ in range(4):\n    threading.Thread(target=spin, daemon=True).start()\n"
           "def add(a, b):\n    spin()\n")
    r = one.run_tests(src, ADD_TESTS, timeout=1.0)
    assert r.status == "timeout", r


def test_the_zygote_cannot_be_killed_by_a_job(one):
    src = ("import os, signal\nhit = False\ntry:\n    os.kill(os.getppid(), signal.SIGKILL)\n    hit = True\n"
           "except OSError:\n    pass\ndef add(a, b):\n    return a + b if hit else None\n")
    r = one.run_tests(src, ADD_TESTS)
    assert r.status == "fail", r
    _honest_passes(one)


def test_deep_directory_chain_does_not_kill_the_worker():
    # Landlock checks walk the whole path, which makes building the chain quadratic: off for this test,
    # whose attacked property is the cleanup (with Landlock on, a job cannot even build it in time).
    with Sandbox(workers=1, timeout=60.0, scratch_inodes=120_000, disable=["landlock"],
                 allow_missing=["landlock"]) as box:
        src = ("import os\nn = 0\nwhile n < 100_000:\n    os.mkdir('d')\n    os.chdir('d')\n    n += 1\n"
               "def depth():\n    return n\n")
        r = box.run_tests(src, ["assert depth() == 100000"])
        assert r.status == "pass", r
        _honest_passes(box)
        assert all(w.proc.poll() is None for w in box._all)


def test_cleanup_does_not_follow_symlinks_out_of_scratch(one):
    victim = Path(__file__).resolve().parent / f".victim-{uuid.uuid4().hex}"
    victim.mkdir()
    (victim / "keep").write_text("keep")
    try:
        src = (f"import os\nos.symlink({str(victim)!r}, 'link')\nos.mkdir('d')\n"
               f"os.symlink({str(victim)!r}, 'd/link')\nos.symlink({str(victim / 'keep')!r}, 'file')\n"
               "def ok():\n    return True\n")
        assert one.run_tests(src, ["assert ok()"]).status == "pass"
        _honest_passes(one)
        assert (victim / "keep").read_text() == "keep"
    finally:
        (victim / "keep").unlink(missing_ok=True)
        victim.rmdir()


def test_zombies_of_a_job_do_not_use_up_the_next_jobs_processes(one):
    plant = ("import os\nfor _ in range(40):\n    if os.fork() == 0:\n        os._exit(0)\ndef ok():\n    return True\n")
    # children not yet exited when the job ends (a loaded machine) are reported as escaped; either way the
    # job leaves up to 40 zombies or dying processes behind
    assert one.run_tests(plant, ["assert ok()"]).status in ("pass", "escaped_processes")
    src = ("import os, time\ndef spawn():\n    pids = []\n    for _ in range(50):\n        pid = os.fork()\n"
           "        if pid == 0:\n            time.sleep(0.2)\n            os._exit(0)\n        pids.append(pid)\n"
           "    for p in pids:\n        os.waitpid(p, 0)\n    return len(pids)\n")
    r = one.run_tests(src, ["assert spawn() == 50"])
    assert r.status == "pass", r


def test_memory_summed_over_processes_is_bounded():
    """Each child stays under the per-process limit; together they exceed the job's cgroup limit."""
    with Sandbox(workers=1, timeout=20.0, memory_mb=512) as box:
        src = ("import os\ndef hog():\n    pids = []\n    for _ in range(4):\n        pid = os.fork()\n"
               "        if pid == 0:\n            b = bytearray(400 << 20)\n            b[::4096] = b'x' * len(b[::4096])\n"
               "            os.write(1, b'.')\n            import time; time.sleep(2)\n            os._exit(0)\n"
               "        pids.append(pid)\n    ok = 0\n    for p in pids:\n        _, st = os.waitpid(p, 0)\n"
               "        ok += st == 0\n    return ok\n")
        box.start()
        worker = box._all[0].proc.pid
        r = box.run_tests(src, ["assert hog() == 4"])
        assert r.status != "pass", r
        _honest_passes(box)
        assert [w.proc.pid for w in box._all] == [worker]  # the OOM killer took the job, not the zygote


def test_every_process_of_a_job_is_in_its_workers_cpu_group():
    """CPU is shared per job, not per process: a job's spinners sit in one CFS group (cgroups.py)."""
    with Sandbox(workers=2, timeout=10.0) as box:
        box.start()
        src = ("import os, time\nfor _ in range(20):\n    if os.fork() == 0:\n        time.sleep(3)\n"
               "        os._exit(0)\ntime.sleep(3)\ndef ok():\n    return True\n")
        t = threading.Thread(target=box.run_tests, args=(src, ["assert ok()"]))
        t.start()
        time.sleep(1.5)
        base = cgroups._own_path("cpu")
        groups = [Path(f"{base}/sbx-{w.proc.pid}/cgroup.procs") for w in box._all]
        sizes = sorted(len(g.read_text().split()) for g in groups if g.exists())
        t.join()
        assert len(sizes) == 2 and sizes[-1] >= 21, sizes  # the busy worker's group holds the job's 21+


def test_a_spinning_neighbour_does_not_starve_a_job_into_a_timeout():
    """A job of 60 spinning processes next to a job that needs a little CPU: the small one passes."""
    with Sandbox(workers=2, timeout=20.0) as box:
        box.start()
        hog = ("import os, time\nfor _ in range(60):\n    if os.fork() == 0:\n        os.setsid()\n        t = time.time() + 6\n"
               "        while time.time() < t:\n            pass\n        os._exit(0)\ntime.sleep(6)\n"
               "def ok():\n    return True\n")
        t = threading.Thread(target=box.run_tests, args=(hog, ["assert ok"]))
        t.start()
        time.sleep(1.0)
        small = "def work():\n    return sum(i * i for i in range(300_000))\n"
        r = box.run_tests(small, ["assert work() == sum(i * i for i in range(300_000))"], timeout=4.0)
        t.join()
        assert r.status == "pass", r


def test_a_large_source_does_not_desynchronise_the_worker(one):
    big = "X = " + repr("y" * (4 << 20)) + "\n" + HONEST
    r = one.run_tests(big, ADD_TESTS, timeout=20.0)
    assert r.status == "pass", r
    _honest_passes(one)


def test_the_workers_cgroups_are_removed_when_it_closes():
    box = Sandbox(workers=1)
    box.start()
    group = f"{cgroups._own_path('pids')}/sbx-{box._all[0].proc.pid}"
    assert os.path.isdir(group)
    box.close()
    assert not os.path.exists(group)
