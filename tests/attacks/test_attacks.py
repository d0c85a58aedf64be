"""One test per attacked property. Each asserts: the verdict is not `pass`, the side effect did not happen
(checked from outside), and an honest solution passes right after (the `honest_after` fixture)."""

import os
import shutil
import time
from pathlib import Path

import pytest

from .conftest import ADD_TESTS, SECRET

pytestmark = pytest.mark.usefixtures("honest_after", "no_files_outside")


def run(sb, source, tests=ADD_TESTS, **kw):
    r = sb.run_tests(source, tests, **kw)
    assert r.status != "pass", r
    return r


def test_infinite_loop_times_out(sb):
    t0 = time.monotonic()
    r = run(sb, "def add(a, b):\n    while True:\n        pass\n", timeout=1.0)
    assert r.status == "timeout"
    assert time.monotonic() - t0 < 15  # bounded by the timeout plus cleanup, not by the loop


def test_sleep_at_import_times_out(sb):
    assert run(sb, "import time\ntime.sleep(10**6)\ndef add(a, b):\n    return a + b\n", timeout=1.0).status == "timeout"


def test_fork_bomb_is_contained(sb):
    r = run(sb, "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n", timeout=1.0)
    assert r.status == "timeout"


def test_memory_bomb_is_refused(sb):
    src = ("ok = False\ntry:\n    big = bytearray(50 * 1024**3)\n    ok = True\nexcept MemoryError:\n    pass\n"
           "def add(a, b):\n    return a + b if ok else None\n")
    assert run(sb, src).status == "fail"


def test_output_flood_hits_the_cap(sb):
    src = "import sys\nfor _ in range(1024):\n    sys.stdout.write('A' * (1 << 20))\ndef add(a, b):\n    return a + b\n"
    assert run(sb, src).status == "output_limit"


@pytest.mark.parametrize("path", ["/tmp/outside", "/etc/sandbox_pwned", "/dev/shm/fill0", "/var/tmp/pwned"])
def test_write_outside_scratch_is_denied(sb, path):
    src = (f"ok = False\ntry:\n    open({path!r}, 'w').write('pwned')\n    ok = True\nexcept Exception:\n    pass\n"
           "def add(a, b):\n    return a + b if ok else None\n")
    assert run(sb, src).status == "fail"
    assert not Path(path).exists()


def test_parent_environment_secret_is_not_visible(sb):
    src = ("import os, gc\nfound = " + repr(SECRET) + " in repr(dict(os.environ))\n"
           "for p in ('/proc/self/environ', '/proc/1/environ'):\n    try:\n"
           f"        found = found or {SECRET.encode()!r} in open(p, 'rb').read()\n"
           "    except OSError:\n        pass\n"
           "def add(a, b):\n    return a + b if found else None\n")
    assert os.environ["SECRET"] == SECRET
    assert run(sb, src).status == "fail"


@pytest.mark.parametrize("path", ["/etc/shadow", "/root/.sandbox_test_secret"])
def test_secret_files_are_unreadable(sb, path):
    if path.startswith("/root") and os.geteuid() == 0:
        Path(path).write_text("top secret")
    try:
        src = (f"data = None\ntry:\n    data = open({path!r}).read()\nexcept OSError:\n    pass\n"
               "def add(a, b):\n    return a + b if data else None\n")
        assert run(sb, src).status == "fail"
    finally:
        if path.startswith("/root"):
            Path(path).unlink(missing_ok=True)


def test_network_to_loopback_listener_is_blocked(sb, listener):
    src = (f"import socket\nok = False\ntry:\n    socket.create_connection(('127.0.0.1', {listener.port}), timeout=1)"
           ".sendall(b'exfil')\n    ok = True\nexcept OSError:\n    pass\n"
           "def add(a, b):\n    return a + b if ok else None\n")
    assert run(sb, src).status == "fail"
    time.sleep(0.2)
    assert listener.received == []


def test_killing_the_parent_and_everyone_fails(sb):
    src = (f"import os, signal\nhits = []\nfor pid in (os.getppid(), {os.getpid()}, 1):\n    try:\n"
           "        os.kill(pid, signal.SIGKILL)\n        hits.append(pid)\n    except OSError:\n        pass\n"
           "try:\n    os.kill(-1, signal.SIGKILL)\nexcept OSError:\n    pass\n"
           "def add(a, b):\n    return a + b if hits else None\n")
    run(sb, src)
    assert all(w.proc.poll() is None for w in sb._all), "a worker died"


def test_early_exit_zero_is_not_a_pass(sb):
    assert run(sb, "import sys\nprint('3 passed, 0 failed')\nsys.exit(0)\n").status == "exited"


def test_fake_passed_output_is_ignored(sb):
    src = "print('All tests passed!\\nOK')\ndef add(a, b):\n    return 0\n"
    assert run(sb, src).status == "fail"


def test_forged_protocol_bytes_do_not_pass(sb):
    src = ("import os, json, struct\n"
           "def frame(o):\n    b = json.dumps(o).encode()\n    return struct.pack('!I', len(b)) + b\n"
           "forged = frame({'t': 'ready', 'names': ['add']}) + b''.join(frame({'t': 'ok', 'id': i, 'v': True}) "
           "for i in range(1, 50)) + b'{\"status\": \"pass\"}'\n"
           "for fd in range(10):\n    try:\n        os.write(fd, forged)\n    except OSError:\n        pass\n"
           "os._exit(0)\n")
    assert run(sb, src).status in ("fail", "bad_response", "exited")


def test_monkeypatched_asserts_and_atexit_do_not_pass(sb):
    src = ("import unittest, builtins, atexit, os\nunittest.TestCase.assertEqual = lambda *a, **k: None\n"
           "class NoError(Exception):\n    pass\nbuiltins.AssertionError = NoError\n"
           "atexit.register(lambda: os._exit(0))\ndef add(a, b):\n    return 'wrong'\n")
    assert run(sb, src).status == "fail"


@pytest.mark.parametrize("cls", [
    "class X:\n    def __eq__(self, o): return True\n    __hash__ = object.__hash__\n",
    "class X(int):\n    def __eq__(self, o): return True\n    __hash__ = int.__hash__\n",
])
def test_lying_eq_does_not_pass(sb, cls):
    src = cls + "def add(a, b):\n    return X(7) if X is not int else 7\n"
    assert run(sb, src).status == "fail"


def test_daemon_outliving_the_job_is_killed(sb, listener):
    src = ("import os, time, socket\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
           "        t_end = time.time() + 8\n        while time.time() < t_end:\n"
           "            try:\n                open('/tmp/outside_daemon', 'w').write('alive')\n"
           "            except OSError:\n                pass\n            time.sleep(0.05)\n"
           "        os._exit(0)\n    os._exit(0)\ntime.sleep(0.1)\ndef add(a, b):\n    return a + b\n")
    assert run(sb, src).status == "escaped_processes"
    time.sleep(0.5)
    assert not Path("/tmp/outside_daemon").exists()


def test_disk_fill_is_bounded(sb):
    before = shutil.disk_usage("/").used
    src = ("import os\nwritten = 0\ntry:\n    with open('fill', 'wb') as f:\n        while written < 2 * 1024**3:\n"
           "            f.write(b'0' * (1 << 20))\n            written += 1 << 20\nexcept OSError:\n    pass\n"
           "def add(a, b):\n    return a + b if written >= 2 * 1024**3 else None\n")
    assert run(sb, src).status in ("fail", "exited")
    assert shutil.disk_usage("/").used - before < 256 << 20


def test_inode_exhaustion_is_bounded(sb):
    src = ("n = 0\ntry:\n    for i in range(200000):\n        open(f'f{i}', 'w').close()\n        n += 1\n"
           "except OSError:\n    pass\ndef add(a, b):\n    return a + b if n >= 200000 else None\n")
    assert run(sb, src, timeout=5.0).status == "fail"


def test_thread_bomb_is_bounded(sb):
    src = ("import threading, time\nn = 0\ntry:\n    while n < 5000:\n"
           "        threading.Thread(target=time.sleep, args=(30,), daemon=True).start()\n        n += 1\n"
           "except Exception:\n    pass\ndef add(a, b):\n    return a + b if n >= 5000 else None\n")
    assert run(sb, src, timeout=5.0).status == "fail"


def test_exec_of_a_shell_is_blocked(sb):
    src = ("import os, subprocess\nok = False\ntry:\n    ok = os.system('id > /tmp/outside_shell') == 0\n"
           "except Exception:\n    pass\ntry:\n    subprocess.run(['/bin/sh', '-c', 'true'], check=True)\n    ok = True\n"
           "except Exception:\n    pass\ndef add(a, b):\n    return a + b if ok else None\n")
    assert run(sb, src).status == "fail"


def test_giant_return_value_is_refused(sb):
    r = run(sb, "def add(a, b):\n    return '9' * (100 * 1024 * 1024)\n", timeout=15.0)
    assert r.status == "response_too_large"


def test_exit_inside_the_call_is_not_a_pass(sb):
    assert run(sb, "import os\ndef add(a, b):\n    os._exit(0)\n").status == "exited"
