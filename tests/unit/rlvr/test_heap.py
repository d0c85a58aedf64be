"""rlvr.learn.heap: freed heap pages go back to the OS on glibc, and the learner trims after each step."""

import platform
import subprocess
import sys

import pytest

from rlvr.learn.heap import release_heap

# A fresh process fills its heap with 2,000 blocks of 100 KB (below glibc's mmap threshold, so they live in the
# arena), frees all but the last (which pins the heap's top: glibc's own trimming only shrinks the top) and
# prints its RSS before and after release_heap.
_CHILD = """
import os
from rlvr.learn.heap import release_heap
from rlvr.run.memwatch import read_memory
def rss():
    return read_memory(os.getpid())[0] >> 20
blocks = [bytearray(100_000) for _ in range(2000)]
for b in blocks:
    b[::4096] = b'x' * len(b[::4096])
keep = blocks[-1]
del blocks
held = rss()
released = release_heap()
print(held, rss(), released)
"""


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc only")
def test_freed_heap_returns_to_the_os_on_glibc():
    out = subprocess.run([sys.executable, "-c", _CHILD], capture_output=True, text=True, check=True).stdout.split()
    held, after, released = int(out[0]), int(out[1]), out[2]
    assert held > 150, f"the child did not hold its freed blocks ({held} MiB): the test shows nothing"
    assert released == "True"
    assert after < held - 120, f"RSS {held} -> {after} MiB: the freed heap stayed"


def test_release_heap_is_a_bool_everywhere():
    assert release_heap() in (True, False)
