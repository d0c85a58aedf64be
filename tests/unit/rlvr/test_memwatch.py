"""rlvr.run.memwatch: the job's memory is the sum over the driver's process tree, children and grandchildren
included, sampled at one instant; processes that exit are skipped, not fatal."""

import json
import os
import subprocess
import sys
import time

import pytest

from rlvr.run.memwatch import MemoryWatch, process_tree, read_memory, write_summary

pytestmark = pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads /proc")

# A child that starts a grandchild; the grandchild holds `MB` of touched memory until its stdin closes.
_HOLDER = "import sys; b = bytearray({mb} << 20); b[::4096] = b'x' * len(b[::4096]); print('ready', flush=True); sys.stdin.read()"
_PARENT = ("import subprocess, sys; p = subprocess.Popen([sys.executable, '-c', {holder!r}], stdin=subprocess.PIPE, "
           "stdout=sys.stdout); sys.stdin.read(); p.stdin.close(); p.wait()")


def _spawn(mb: int) -> subprocess.Popen:
    code = _PARENT.format(holder=_HOLDER.format(mb=mb))
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    return proc


def test_tree_includes_grandchildren_and_their_memory_counts():
    before = MemoryWatch()
    before.sample()
    proc = _spawn(300)
    try:
        tree = process_tree(os.getpid())
        assert proc.pid in tree and len(tree) >= 3  # this process, the child, the grandchild
        during = MemoryWatch()
        during.sample()
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)
    grew = during.peak["peak_rss_gib"] - before.peak["peak_rss_gib"]
    assert 0.25 <= grew <= 0.6, grew  # the 300 MB the grandchild touched, plus two small interpreters
    assert during.peak["pss_at_peak_gib"] <= during.peak["peak_rss_gib"] + 1e-3
    assert any(p["rss_gib"] >= 0.28 for p in during.peak["largest"])


def test_the_thread_catches_a_peak_that_is_gone_by_the_end(tmp_path):
    watch = MemoryWatch(interval_s=0.05).start()
    time.sleep(0.2)
    baseline = watch.samples[-1][1]
    proc = _spawn(200)
    time.sleep(0.4)
    proc.stdin.close()
    proc.wait(timeout=30)
    time.sleep(0.2)
    summary = watch.stop()
    assert summary["samples"] >= 5 and summary["series"][-1][1] < summary["peak_rss_gib"]
    assert summary["peak_rss_gib"] - baseline >= 0.15
    line = write_summary(summary, tmp_path)
    assert json.loads((tmp_path / "memory.json").read_text())["peak_rss_gib"] == summary["peak_rss_gib"]
    assert f"{summary['peak_rss_gib']:.2f} GiB RSS" in line


def test_an_exited_process_reads_as_none():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    assert read_memory(proc.pid) is None
    rss, pss = read_memory(os.getpid())
    assert rss > 10 << 20 and 0 < pss <= rss
