"""`make backfill`, `make verify`, `make prune`: the backfill handler's code, run here.

Runs every segment in its own thread, each resuming on its continuation until done, shows progress
(a bar on a terminal, a line every few seconds otherwise), prints the merged summary and a verdict
with what to run next. Exit status: 0 when the run did its job; 1 when `verify` finds drift or the
run cannot start (make reports a failed command as its own exit status 2).
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TextIO

from botocore.exceptions import BotoCoreError, ClientError

from devtools.dynamodb_local import DynamoDBLocalError
from devtools.environment import (
    SettingError,
    dynamodb_endpoint,
    integer_setting,
    table_layout_setting,
    use_default_table_name,
)
from resource_registry import service
from resource_registry.backfill.reconciler import RegistryReconciler
from resource_registry.backfill.request import BackfillRequest, Mode
from resource_registry.backfill.summary import BackfillSummary, merge_summaries
from resource_registry.clients import table_name
from resource_registry.dynamodb import describe_botocore_error
from resource_registry.errors import RegistryError

DEFAULT_SEGMENTS = 4
MAX_SEGMENTS = 1_000_000  # DynamoDB's limit on parallel scan segments
PLAIN_PROGRESS_INTERVAL_SECONDS = 10.0
BAR_REFRESH_SECONDS = 0.25
BAR_WIDTH = 30


def counted(count: int, noun: str) -> str:
    """'1 item', '2 items', '1,000 items'."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


class ScanProgress:
    """Items scanned and resources found so far, over all segments.

    On a terminal, one line redrawn in place: a bar of the segments done, the counts and the time
    taken. Elsewhere (CI, a pipe, a log file) a plain line every few seconds, and once at the end.
    """

    def __init__(self, total_segments: int, stream: TextIO | None = None) -> None:
        self._lock = threading.Lock()
        self._stream = stream if stream is not None else sys.stderr
        self._on_terminal = self._stream.isatty()
        self._scanned = [0] * total_segments
        self._found = [0] * total_segments
        self._base_scanned = [0] * total_segments
        self._base_found = [0] * total_segments
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
        scanned, found = sum(self._scanned), sum(self._found)
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


def run_segment(
    reconciler: RegistryReconciler, request: BackfillRequest, progress: ScanProgress
) -> list[BackfillSummary]:
    """One segment to its end, following continuations."""
    runs: list[BackfillSummary] = []
    while True:
        summary = reconciler.run(request, on_page=progress.page)
        progress.run_done(summary)
        runs.append(summary)
        if summary.continuation is None:
            return runs
        request = request.resumed_from(summary.continuation)


def check_namespace(namespace: str | None) -> None:
    """SettingError naming the active namespaces when ``namespace`` is not one of them."""
    if namespace is None:
        return
    names = [scope.name for scope in service.namespaces().active()]
    if namespace not in names:
        raise SettingError(
            f"NAMESPACE={namespace!r} is not an active namespace of table {table_name()}: use "
            f"one of {', '.join(names)}, or unset it for every namespace"
        )


def reconcile(mode: Mode, total_segments: int, namespace: str | None = None) -> dict[str, Any]:
    """Run ``mode`` over the table (one namespace, or all) in ``total_segments`` segments."""
    reconciler = RegistryReconciler(service.batch_table())
    requests = [
        BackfillRequest(mode, segment, total_segments, namespace)
        for segment in range(total_segments)
    ]
    with (
        ScanProgress(total_segments) as progress,
        ThreadPoolExecutor(max_workers=total_segments) as pool,
    ):
        results = pool.map(lambda request: run_segment(reconciler, request, progress), requests)
        runs = [run.to_dict() for segment_runs in results for run in segment_runs]
    return merge_summaries(runs)


def shown(count: int, sample: list[str]) -> str:
    """A count of names and, when there are any, a sample: '12: a, b, ... (first 10)'."""
    if not count:
        return "-"
    if count <= len(sample):
        return f"{count}: {', '.join(sample)}"
    return f"{count:,}: {', '.join(sample)}, ... (first {len(sample)})"


DRIFT_KINDS = ("unregistered", "registered_without_defaults")
# What each mode repairs: backfill registers what is missing, prune removes what has no defaults.
REPAIRED_BY = {Mode.BACKFILL.value: "unregistered", Mode.PRUNE.value: "registered_without_defaults"}


def remaining_drift(summary: dict[str, Any]) -> dict[str, tuple[int, list[str]]]:
    """The drift still there after the run: what it found less what it repaired (all of its
    kind: a name a run finds missing it adds, a name it finds without defaults it removes)."""
    repaired = REPAIRED_BY.get(summary["mode"])
    return {
        kind: (0, []) if kind == repaired else (summary[kind], summary["sample"][kind])
        for kind in DRIFT_KINDS
    }


def summary_rows(summary: dict[str, Any]) -> dict[str, str]:
    """The summary as printed rows: counts, and for names a count and a sample."""
    samples = summary["sample"]
    rows: dict[str, str] = {}
    for key, value in summary.items():
        if key in ("sample", "namespaces", "drift", *DRIFT_KINDS):
            continue
        rows[key] = (
            shown(value, samples[key]) if key in samples else "-" if value is None else str(value)
        )
    for kind in DRIFT_KINDS:
        rows[f"drift found: {kind}"] = shown(summary[kind], samples[kind])
    if summary["mode"] != Mode.VERIFY.value:  # verify repairs nothing: all it found is left
        for kind, (count, sample) in remaining_drift(summary).items():
            rows[f"drift left: {kind}"] = shown(count, sample)
    if len(summary["namespaces"]) > 1:
        for name, counts in summary["namespaces"].items():
            rows[f"namespace {name}"] = ", ".join(f"{k} {v:,}" for k, v in counts.items())
    return rows


def verdict(summary: dict[str, Any]) -> tuple[str, bool]:
    """One line on the registry's state after the run, saying what to run next; and whether the
    registry is in sync."""
    left = {kind: count for kind, (count, _) in remaining_drift(summary).items()}
    if not any(left.values()):
        if summary["mode"] == Mode.VERIFY.value:
            return "in sync: the registry lists exactly the resources that have defaults", True
        return "in sync: no drift left", True
    parts = []
    if count := left["unregistered"]:
        has = "has" if count == 1 else "have"
        parts.append(
            f"{counted(count, 'resource')} {has} defaults but {'is' if count == 1 else 'are'} "
            "not registered (run make backfill)"
        )
    if count := left["registered_without_defaults"]:
        has = "has" if count == 1 else "have"
        parts.append(f"{counted(count, 'registered name')} {has} no defaults (run make prune)")
    return "drift: " + "; ".join(parts), False


def print_summary(summary: dict[str, Any]) -> bool:
    """Print the rows and the verdict; whether the registry is in sync."""
    rows = summary_rows(summary)
    width = max(len(key) for key in rows)
    for key, value in rows.items():
        print(f"{key:<{width}}  {value}")
    line, in_sync = verdict(summary)
    print(f"{'verdict':<{width}}  {line}")
    return in_sync


def describe_refusal(error: ClientError) -> str:
    """DynamoDB's refusal in one line, saying what to do about a missing table."""
    details = error.response.get("Error", {})
    if details.get("Code") == "ResourceNotFoundException":
        return (
            f"table {table_name()} does not exist there: make run creates it, or set TABLE_NAME "
            "to an existing table"
        )
    return f"DynamoDB refused: {details.get('Message', error)}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("mode", choices=[mode.value for mode in Mode])
    parser.add_argument(
        "--segments", type=int, default=None, help="parallel scan segments (default: SEGMENTS or 4)"
    )
    parser.add_argument(
        "--namespace",
        default=os.environ.get("NAMESPACE") or None,
        help="one namespace (default: NAMESPACE, else every namespace)",
    )
    args = parser.parse_args(argv)
    mode = Mode(args.mode)
    try:
        # Every setting is checked before anything starts.
        use_default_table_name()
        table_layout_setting()
        segments = args.segments
        if segments is None:
            segments = integer_setting("SEGMENTS", DEFAULT_SEGMENTS, 1, MAX_SEGMENTS)
        if not 1 <= segments <= MAX_SEGMENTS:
            raise SettingError(f"--segments {segments}: use a number from 1 to {MAX_SEGMENTS}")
        with dynamodb_endpoint(reuse_running=True) as endpoint:
            check_namespace(args.namespace)
            print(
                f"{mode.value} on table {table_name()} at {endpoint.url}, {segments} segments",
                file=sys.stderr,
            )
            summary = reconcile(mode, segments, args.namespace)
    except (DynamoDBLocalError, RegistryError, SettingError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except BotoCoreError as error:
        print(f"error: {describe_botocore_error(error)}", file=sys.stderr)
        return 1
    except ClientError as error:
        print(f"error: {describe_refusal(error)}", file=sys.stderr)
        return 1
    in_sync = print_summary(summary)
    return 1 if mode is Mode.VERIFY and not in_sync else 0


if __name__ == "__main__":
    sys.exit(main())
