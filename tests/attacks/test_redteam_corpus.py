"""The shared red-team corpus (../shared/redteam/sandbox, 29 files): every file must be contained.

Contained = verdict not `pass`, no connection or datagram reached our loopback listener, no file appeared
outside scratch, the workers and this process are alive, and an honest `add` passes right after.
Skipped when the corpus folder is absent (e.g. outside this project's machines).
"""

import os
import time
from pathlib import Path

import pytest

from .conftest import ADD_TESTS, HONEST, outside_paths

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO.parent / "shared" / "redteam" / "sandbox"
FILES = sorted(CORPUS.glob("[0-9][0-9]_*.py")) if CORPUS.is_dir() else []


@pytest.mark.skipif(not FILES, reason=f"red-team corpus not found at {CORPUS}")
@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_corpus_file_is_contained(sb, listener, path):
    for p in outside_paths():
        p.unlink(missing_ok=True)
    source = path.read_text().replace("__PORT__", str(listener.port)).replace("__HARNESS_PID__", str(os.getpid()))
    before = len(listener.received)
    r = sb.run_tests(source, ADD_TESTS, timeout=2.0)
    print(f"{path.name}: {r.status} {r.detail[:100]}")
    assert r.status != "pass", r
    time.sleep(0.1)
    assert len(listener.received) == before, listener.received[before:]
    assert not [p for p in outside_paths() if p.exists()]
    assert all(w.proc.poll() is None for w in sb._all)
    honest = sb.run_tests(HONEST, ADD_TESTS, timeout=15.0)
    assert honest.status == "pass", honest


def test_corpus_has_29_files_when_present():
    if not CORPUS.is_dir():
        pytest.skip("corpus absent")
    assert len(FILES) == 29
