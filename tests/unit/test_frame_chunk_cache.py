"""The frame-chunk cache the cold-start benchmark preloads (benchmarks/frame_chunk_cache.c).

It must keep only what CPython 3.13.0 churns (16 KiB private anonymous mappings it handed out),
hand a kept chunk back zeroed, and leave every program's results as they were.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.frame_chunks import REPORT_REUSES, FrameChunkCacheError, frame_chunk_cache

# Oscillates around whatever depth the current chunk ends at: each call deeper than the edge
# needs a new chunk, and on 3.13.0 each return from it frees that chunk again.
CROSS_CHUNK_EDGES = """
import sys
def depth(n):
    return 0 if n == 0 else 1 + depth(n - 1)
total = 0
for start in range(400):
    for _ in range(20):
        total += depth(start)
print(total, flush=True)
"""
EXPECTED_TOTAL = sum(start * 20 for start in range(400))

# Counts what the cache hands out around each step, so that a test sees which mapping was kept.
COUNTED = """
import ctypes, mmap
reuses = ctypes.c_ulong.in_dll(ctypes.CDLL(None), "frame_chunk_cache_reuses")
def handed_out(step):
    before = reuses.value
    result = step()
    return result, reuses.value - before
"""

# A 16 KiB private anonymous mapping, dirtied and unmapped, then mapped again: a new mapping
# reads as zeros, so a kept chunk handed out again must too.
REMAP_DIRTY_CHUNK = (
    COUNTED
    + """
first = mmap.mmap(-1, 16384, flags=mmap.MAP_PRIVATE)
first.write(b"\\xff" * 16384)
first.close()
second, kept = handed_out(lambda: mmap.mmap(-1, 16384, flags=mmap.MAP_PRIVATE))
print(kept, second.read(16384) == bytes(16384), flush=True)
"""
)

# With a private chunk kept, a shared mapping of the same size is still a new one.
SHARED_AFTER_KEPT_CHUNK = (
    COUNTED
    + """
mmap.mmap(-1, 16384, flags=mmap.MAP_PRIVATE).close()
shared, kept = handed_out(lambda: mmap.mmap(-1, 16384, flags=mmap.MAP_SHARED))
print(kept, flush=True)
"""
)


@pytest.fixture(scope="module")
def library() -> Path:
    try:
        return frame_chunk_cache()
    except FrameChunkCacheError as unavailable:
        pytest.skip(f"the frame-chunk cache cannot be built here: {unavailable}")


def run_preloaded(library: Path | None, code: str) -> list[str]:
    environment = dict(os.environ)
    if library is not None:
        environment["LD_PRELOAD"] = str(library)
    result = subprocess.run(
        [sys.executable, "-c", code + REPORT_REUSES],
        env=environment,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return result.stdout.split()


def test_programs_compute_the_same_across_chunk_edges(library: Path) -> None:
    total, reuses = run_preloaded(library, CROSS_CHUNK_EDGES)

    assert int(total) == EXPECTED_TOTAL
    if sys.version_info[:3] == (3, 13, 0):
        # The interpreter that churns: the cache saved it thousands of maps.
        assert int(reuses) > 1_000


def test_without_the_cache_the_counter_is_absent(library: Path) -> None:
    total, reuses = run_preloaded(None, CROSS_CHUNK_EDGES)

    assert int(total) == EXPECTED_TOTAL
    assert int(reuses) == -1


def test_a_kept_chunk_is_handed_out_zeroed(library: Path) -> None:
    kept, zeroed = run_preloaded(library, REMAP_DIRTY_CHUNK)[:2]

    assert kept == "1"  # the second mapping was a kept chunk...
    assert zeroed == "True"  # ...and reads as a new mapping does


def test_shared_mappings_are_never_handed_a_kept_chunk(library: Path) -> None:
    kept = run_preloaded(library, SHARED_AFTER_KEPT_CHUNK)[0]

    assert kept == "0"
