"""A backfill run's progress: a bar on a terminal, elsewhere a plain line every few seconds."""

from __future__ import annotations

import sys
import threading
import time
from collections import defaultdict
from typing import TextIO

from devtools.backfill_report import counted
from resource_registry.backfill.summary import BackfillSummary

PLAIN_PROGRESS_INTERVAL_SECONDS = 10.0
BAR_REFRESH_SECONDS = 0.25
BAR_WIDTH = 30


class ScanProgress:
    """Items scanned and resources found so far, over all segments.

    On a terminal, one line redrawn in place: a bar of the segments done, the counts and the time
    taken. Elsewhere (CI, a pipe, a log file) a plain line every few seconds, and once at the end.
    """

    def __init__(self, total_segments: int, stream: TextIO | None = None) -> None:
        self._lock = threading.Lock()
        self._stream = stream if stream is not None else sys.stderr
        self._on_terminal = self._stream.isatty()
        # By segment number (a resumed run runs some of a run's segments).
        self._scanned: defaultdict[int, int] = defaultdict(int)
        self._found: defaultdict[int, int] = defaultdict(int)
        self._base_scanned: defaultdict[int, int] = defaultdict(int)
        self._base_found: defaultdict[int, int] = defaultdict(int)
        self._segments_done = 0
        self._total_segments = total_segments
        self._started = self._last_line = time.monotonic()
        self._stop = threading.Event()
        self._ticker = threading.Thread(target=self._tick, name="progress", daemon=True)

    def __enter__(self) -> ScanProgress:
        if self._on_terminal:
            self._draw()
            self._ticker.start()
        return self

    def __exit__(self, *_: object) -> None:
        if self._on_terminal:
            self._stop.set()
            self._ticker.join()
            with self._lock:
                self._draw()
            self._stream.write("\n")
        else:
            self._write_line()
        self._stream.flush()

    def _counts(self) -> str:
        scanned, found = sum(self._scanned.values()), sum(self._found.values())
        return f"scanned {counted(scanned, 'item')}, found {counted(found, 'resource')}"

    def _line(self) -> str:
        return f"{self._segments_done}/{self._total_segments} segments done, {self._counts()}"

    def _bar(self) -> str:
        filled = BAR_WIDTH * self._segments_done // self._total_segments
        elapsed = int(time.monotonic() - self._started)
        return (
            f"segments [{'#' * filled}{'-' * (BAR_WIDTH - filled)}] "
            f"{self._segments_done}/{self._total_segments}  {self._counts()}  "
            f"{elapsed // 60}:{elapsed % 60:02d}"
        )

    def _draw(self) -> None:
        # \r back to the line's start, the line, then clear what a longer one left behind.
        self._stream.write(f"\r{self._bar()}\x1b[K")
        self._stream.flush()

    def _write_line(self) -> None:
        self._stream.write(self._line() + "\n")
        self._stream.flush()

    def _tick(self) -> None:
        """Redraw now and then, so that the time moves while a long page is read."""
        while not self._stop.wait(BAR_REFRESH_SECONDS):
            with self._lock:
                self._draw()

    def page(self, summary: BackfillSummary) -> None:
        with self._lock:
            segment = summary.segment
            self._scanned[segment] = self._base_scanned[segment] + summary.items_read
            self._found[segment] = self._base_found[segment] + summary.total("resources_found")
            self._show()

    def run_done(self, summary: BackfillSummary) -> None:
        with self._lock:
            self._base_scanned[summary.segment] = self._scanned[summary.segment]
            self._base_found[summary.segment] = self._found[summary.segment]
            if summary.continuation is None:
                self._segments_done += 1
            self._show()

    def _show(self) -> None:
        if self._on_terminal:
            self._draw()
        elif time.monotonic() - self._last_line >= PLAIN_PROGRESS_INTERVAL_SECONDS:
            self._last_line = time.monotonic()
            self._write_line()
