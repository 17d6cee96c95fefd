"""The frame-chunk cache preloaded into cold-start processes: built here, read back by the child.

CPython 3.13.0 maps and unmaps a 16 KiB frame chunk each time calls cross its edge (gh-142183);
the 3.13 releases Lambda runs keep the freed chunk instead. frame_chunk_cache.c does what the fix
does, for processes started with it in LD_PRELOAD, and counts the mappings it saved.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

from devtools.dynamodb_local import ROOT

SOURCE = Path(__file__).with_name("frame_chunk_cache.c")
BUILD_DIR = ROOT / "build" / "bench"
REUSES_SYMBOL = "frame_chunk_cache_reuses"
# What a child prints after its CPU time: the chunks the cache saved, or -1 without the cache.
REPORT_REUSES = f"""
import ctypes
try:
    reuses = ctypes.c_ulong.in_dll(ctypes.CDLL(None), "{REUSES_SYMBOL}").value
except ValueError:
    reuses = -1
print(reuses, flush=True)
"""


class FrameChunkCacheError(RuntimeError):
    """The cache could not be built here (no C compiler, or not Linux)."""


def frame_chunk_cache() -> Path:
    """The shared library, compiled once per version of its source into build/bench/."""
    compiler = shutil.which(os.environ.get("CC", "cc"))
    if compiler is None:
        raise FrameChunkCacheError("no C compiler (cc, or $CC) on PATH")
    digest = hashlib.sha256(SOURCE.read_bytes()).hexdigest()[:16]
    library = BUILD_DIR / f"frame_chunk_cache-{digest}.so"
    if library.exists():
        return library
    BUILD_DIR.mkdir(parents=True, exist_ok=True)
    # Built beside its final name and renamed into place, so a half-written file is never loaded.
    partial = library.with_suffix(f".{os.getpid()}.partial")
    command = [compiler, "-shared", "-fPIC", "-O2", "-o", str(partial), str(SOURCE)]
    built = subprocess.run(
        [*command, "-ldl", "-lpthread"], capture_output=True, text=True, check=False
    )
    if built.returncode:
        partial.unlink(missing_ok=True)
        raise FrameChunkCacheError(f"{compiler} failed: {built.stderr.strip()[-300:]}")
    partial.replace(library)
    return library
