"""Fixtures for the attack tests: one shared sandbox, a loopback listener, a secret in our environment."""

import os
import socket
import threading
from pathlib import Path

import pytest

from sandbox import Sandbox

SECRET = "xyz-sandbox-test-secret"
HONEST = "def add(a, b):\n    return a + b\n"
ADD_TESTS = ["assert add(1, 2) == 3", "assert add(-1, 1) == 0", "assert add(0, 0) == 0"]


@pytest.fixture(scope="session")
def sb():
    os.environ["SECRET"] = SECRET  # the harness holds a secret; no worker may ever see it
    with Sandbox(workers=2, timeout=2.0) as box:
        box.start()
        yield box


class Listener:
    """A TCP and UDP listener on 127.0.0.1 that records every byte an intruder sends."""

    def __init__(self):
        self.tcp = socket.create_server(("127.0.0.1", 0))
        self.port = self.tcp.getsockname()[1]
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", self.port))
        self.received: list[bytes] = []
        threading.Thread(target=self._accept, daemon=True).start()
        threading.Thread(target=self._udp, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.tcp.accept()
            except OSError:
                return
            self.received.append(conn.recv(1000) or b"<connected>")
            conn.close()

    def _udp(self):
        while True:
            try:
                self.received.append(self.udp.recv(1000))
            except OSError:
                return

    def close(self):
        self.tcp.close()
        self.udp.close()


@pytest.fixture(scope="session")
def listener():
    lst = Listener()
    yield lst
    lst.close()


@pytest.fixture
def honest_after(sb):
    """Yields, then checks an honest solution still passes on the same sandbox."""
    yield
    r = sb.run_tests(HONEST, ADD_TESTS, timeout=15.0)  # generous: CI machines are shared
    assert r.status == "pass" and r.passed == 3, r


def outside_paths() -> list[Path]:
    return [Path("/tmp/outside"), Path("/tmp/outside_daemon"), Path("/tmp/outside_shell"),
            Path("/etc/sandbox_pwned"), Path("/dev/shm/fill0"), Path("/var/tmp/pwned")]


@pytest.fixture
def no_files_outside():
    for p in outside_paths():
        p.unlink(missing_ok=True)
    yield
    leaked = [str(p) for p in outside_paths() if p.exists()]
    for p in outside_paths():
        p.unlink(missing_ok=True)
    assert not leaked, f"files written outside scratch: {leaked}"
