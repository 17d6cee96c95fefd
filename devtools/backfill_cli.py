"""`make backfill`, `make verify`, `make prune`: the backfill handler's code, run here.

Runs every segment in its own thread, each resuming on its continuation until done, shows progress
(a bar on a terminal, a line every few seconds otherwise), prints the merged summary and a verdict
with what to run next. When DynamoDB still fails after the batch client's retries, it prints the
point to resume from (`make backfill RESUME=...`), and a run given it continues every unfinished
segment where it stopped. Exit status: 0 when the run did its job; 1 when `verify` finds drift or
the run cannot start or finish (make reports a failed command as its own exit status 2).
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import os
import sys
import threading
import time
from collections import defaultdict
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
# Each segment runs in a thread of this process: past a few hundred, one machine gains nothing
# (100,000 died of "can't start new thread"). The state machine fans out up to DynamoDB's
# 1,000,000 segments.
MAX_SEGMENTS = 256
RESUME_VARIABLE = "RESUME"
RESUME_VERSION = 1
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


class SegmentOutcome:
    """What a segment's runs found, and, when DynamoDB failed it, where to resume and why."""

    def __init__(
        self,
        runs: list[BackfillSummary],
        failure: Exception | None = None,
        resume_from: str | None = None,
    ) -> None:
        self.runs = runs
        self.failure = failure
        self.resume_from = resume_from  # the continuation the failed run started from


def run_segment(
    reconciler: RegistryReconciler, request: BackfillRequest, progress: ScanProgress
) -> SegmentOutcome:
    """One segment to its end, following continuations; a failure ends it with where to resume."""
    runs: list[BackfillSummary] = []
    continuation = request.resumed_at
    while True:
        try:
            summary = reconciler.run(request, on_page=progress.page)
        except (RegistryError, BotoCoreError, ClientError) as error:
            return SegmentOutcome(runs, error, continuation)
        progress.run_done(summary)
        runs.append(summary)
        if summary.continuation is None:
            return SegmentOutcome(runs)
        continuation = summary.continuation
        request = request.resumed_from(continuation)


class UnfinishedError(Exception):
    """DynamoDB failed some segments: their work so far stands; RESUME continues them."""

    def __init__(self, failure: Exception, resume: str) -> None:
        super().__init__(describe_failure(failure))
        self.resume = resume


def describe_failure(error: Exception) -> str:
    """What stopped a segment, in one line."""
    if isinstance(error, BotoCoreError):
        return describe_botocore_error(error)
    if isinstance(error, ClientError):
        return describe_refusal(error)
    return str(error)


def resume_token(
    mode: Mode, namespace: str | None, total: int, pending: dict[int, str | None]
) -> str:
    """The RESUME value: the unfinished segments, each with the continuation to start from."""
    state = {
        "v": RESUME_VERSION,
        "mode": mode.value,
        "namespace": namespace,
        "total_segments": total,
        "segments": {str(segment): token for segment, token in sorted(pending.items())},
    }
    return base64.urlsafe_b64encode(json.dumps(state).encode()).decode("ascii")


def resumed_requests(mode: Mode, token: str) -> list[BackfillRequest]:
    """The requests that continue what a RESUME value names; SettingError for any other value."""
    try:
        state = json.loads(base64.urlsafe_b64decode(token.encode("ascii")))
        total, namespace = state["total_segments"], state["namespace"]
        pending = {int(segment): cont for segment, cont in state["segments"].items()}
        known = state["v"] == RESUME_VERSION
    except (ValueError, TypeError, KeyError, AttributeError, binascii.Error, UnicodeError):
        known = False
    if not known:
        raise SettingError(f"{RESUME_VARIABLE} is not a value a run printed: copy it whole")
    if state["mode"] != mode.value:
        raise SettingError(
            f"{RESUME_VARIABLE} resumes a {state['mode']} run: run make {state['mode']} with it"
        )
    requests = []
    for segment, continuation in sorted(pending.items()):
        request = BackfillRequest(mode, segment, total, namespace)
        try:
            requests.append(request if continuation is None else request.resumed_from(continuation))
        except RegistryError as error:
            raise SettingError(f"{RESUME_VARIABLE}: {error}") from None
    return requests


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


def reconcile(requests: list[BackfillRequest]) -> dict[str, Any]:
    """Run each segment's request to its end, in parallel; the merged summary.

    UnfinishedError, with the point to resume from, when DynamoDB failed any segment.
    """
    reconciler = RegistryReconciler(service.batch_table())
    with (
        ScanProgress(len(requests)) as progress,
        ThreadPoolExecutor(max_workers=len(requests)) as pool,
    ):
        outcomes = list(
            pool.map(lambda request: run_segment(reconciler, request, progress), requests)
        )
    failed = {
        request.segment: outcome
        for request, outcome in zip(requests, outcomes, strict=True)
        if outcome.failure is not None
    }
    if failed:
        first = next(iter(failed.values()))
        assert first.failure is not None
        request = requests[0]
        pending = {segment: outcome.resume_from for segment, outcome in failed.items()}
        token = resume_token(request.mode, request.namespace, request.total_segments, pending)
        raise UnfinishedError(first.failure, token)
    return merge_summaries([run.to_dict() for outcome in outcomes for run in outcome.runs])


def shown(count: int, sample: list[str]) -> str:
    """A count of names and, when there are any, a sample: '12: a, b, ... (first 10)'."""
    if not count:
        return "-"
    if count <= len(sample):
        return f"{count}: {', '.join(sample)}"
    return f"{count:,}: {', '.join(sample)}, ... (first {len(sample)})"


DRIFT_KINDS = ("unregistered", "registered_without_defaults", "unservable")
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
    if count := left["unservable"]:
        has, them = ("has", "it") if count == 1 else ("have", "them")
        names = ", ".join(remaining_drift(summary)["unservable"][1])
        more = "" if count <= len(remaining_drift(summary)["unservable"][1]) else ", ..."
        parts.append(
            f"{counted(count, 'resource')} with defaults {has} a name the API cannot serve: "
            f"{names}{more}; rename or delete {them}"
        )
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
    parser.add_argument(
        "--resume",
        default=os.environ.get(RESUME_VARIABLE) or None,
        help="continue a run that stopped, from the value it printed (default: RESUME)",
    )
    args = parser.parse_args(argv)
    mode = Mode(args.mode)
    try:
        # Every setting is checked before anything starts.
        use_default_table_name()
        table_layout_setting()
        if args.resume:
            requests = resumed_requests(mode, args.resume)
            segments, namespace = requests[0].total_segments, requests[0].namespace
        else:
            segments = args.segments
            if segments is None:
                segments = integer_setting("SEGMENTS", DEFAULT_SEGMENTS, 1, MAX_SEGMENTS)
            if not 1 <= segments <= MAX_SEGMENTS:
                raise SettingError(
                    f"--segments {segments}: use a number from 1 to {MAX_SEGMENTS} (each segment "
                    "is a thread here; the stack's state machine runs more)"
                )
            namespace = args.namespace
            requests = [
                BackfillRequest(mode, segment, segments, namespace) for segment in range(segments)
            ]
        with dynamodb_endpoint(reuse_running=True) as endpoint:
            check_namespace(namespace)
            resumed = f", resuming {len(requests)} of them" if args.resume else ""
            print(
                f"{mode.value} on table {table_name()} at {endpoint.url}, {segments} segments"
                f"{resumed}",
                file=sys.stderr,
            )
            summary = reconcile(requests)
    except UnfinishedError as error:
        print(f"error: {error}", file=sys.stderr)
        print(
            f"what ran stands; to continue where it stopped: make {mode.value} "
            f"{RESUME_VARIABLE}={error.resume}",
            file=sys.stderr,
        )
        return 1
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
