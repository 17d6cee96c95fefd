"""`make backfill`, `make verify`, `make prune`: the backfill handler's code, run here.

Runs every segment in its own thread, each resuming on its continuation until done, shows progress
(a bar on a terminal, a line every few seconds otherwise), prints the merged summary and a verdict
with what to run next. When DynamoDB still fails after the batch client's retries, it prints the
point to resume from (`make backfill RESUME=...`), and a run given it continues every unfinished
segment from its last checkpoint (every few seconds of its scan) and reports on the whole table.
Exit status: 0 when the run did its job; 1 when `verify` finds drift or the run cannot start or
finish (make reports a failed command as its own exit status 2).
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import os
import sys
import time
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from devtools.backfill_report import print_summary
from devtools.dynamodb_local import DynamoDBLocalError
from devtools.environment import (
    SettingError,
    dynamodb_endpoint,
    integer_setting,
    table_layout_setting,
    use_default_table_name,
)
from devtools.scan_progress import ScanProgress
from resource_registry import service
from resource_registry.backfill.reconciler import RegistryReconciler
from resource_registry.backfill.request import BackfillRequest, Mode
from resource_registry.backfill.summary import SUMMED, BackfillSummary, merge_summaries
from resource_registry.clients import table_name
from resource_registry.dynamodb import describe_botocore_error
from resource_registry.errors import RegistryError

DEFAULT_SEGMENTS = 4
# Each segment runs in a thread of this process: past a few hundred, one machine gains nothing
# (100,000 died of "can't start new thread"). The state machine fans out up to DynamoDB's
# 1,000,000 segments.
MAX_SEGMENTS = 256
RESUME_VARIABLE = "RESUME"
# A segment's scan ends a run at the first page boundary after this long and goes on from its
# continuation: when DynamoDB stops a segment, RESUME loses at most this much of its work.
CHECKPOINT_SECONDS = 10.0
# 2: the value carries the summary of what ran, so a resumed run's verdict covers the whole table.
RESUME_VERSION = 2
# What a summary of earlier work must hold for a resumed run to add to it.
SUMMARY_KEYS = frozenset(
    {"mode", "namespaces", "sample", "capacity_consumed", "invocations", *SUMMED}
)


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
            summary = reconciler.run(
                request,
                remaining_millis=until(time.monotonic() + CHECKPOINT_SECONDS),
                on_page=progress.page,
            )
        except (RegistryError, BotoCoreError, ClientError) as error:
            return SegmentOutcome(runs, error, continuation)
        progress.run_done(summary)
        runs.append(summary)
        if summary.continuation is None:
            return SegmentOutcome(runs)
        continuation = summary.continuation
        request = request.resumed_from(continuation)


def until(checkpoint: float) -> Callable[[], int]:
    """A run's clock: the milliseconds left before ``checkpoint`` (``time.monotonic``)."""
    return lambda: int((checkpoint - time.monotonic()) * 1000)


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
    mode: Mode,
    namespace: str | None,
    total: int,
    pending: dict[int, str | None],
    done: dict[str, Any] | None,
) -> str:
    """The RESUME value: the unfinished segments, each with the continuation to start from, and
    the summary of what ran (its drift stays in the verdict of the run that finishes)."""
    state = {
        "v": RESUME_VERSION,
        "mode": mode.value,
        "namespace": namespace,
        "total_segments": total,
        "segments": {str(segment): token for segment, token in sorted(pending.items())},
        "done": done,
    }
    packed = zlib.compress(json.dumps(state, separators=(",", ":")).encode(), level=9)
    return base64.urlsafe_b64encode(packed).decode("ascii")


def resumed_run(mode: Mode, token: str) -> tuple[list[BackfillRequest], dict[str, Any] | None]:
    """The requests that continue what a RESUME value names, and the summary of what ran before
    it; SettingError for any other value."""
    try:
        state = json.loads(zlib.decompress(base64.urlsafe_b64decode(token.encode("ascii"))))
        total, namespace, done = state["total_segments"], state["namespace"], state["done"]
        pending = {int(segment): cont for segment, cont in state["segments"].items()}
        known = state["v"] == RESUME_VERSION and (done is None or done.keys() >= SUMMARY_KEYS)
    except (ValueError, TypeError, KeyError, AttributeError, binascii.Error, zlib.error):
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
    return requests, done


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


def reconcile(
    requests: list[BackfillRequest], earlier: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Run each segment's request to its end, in parallel; the merged summary of these runs and
    of the ``earlier`` work they continue.

    UnfinishedError, with the point to resume from, when DynamoDB failed any segment.
    """
    # No safety margin: a run here has no Lambda timeout to keep clear of, only its checkpoint.
    reconciler = RegistryReconciler(service.batch_table(), safety_margin_millis=0)
    with (
        ScanProgress(len(requests)) as progress,
        ThreadPoolExecutor(max_workers=len(requests)) as pool,
    ):
        outcomes = list(
            pool.map(lambda request: run_segment(reconciler, request, progress), requests)
        )
    done = combined(earlier, [run.to_dict() for outcome in outcomes for run in outcome.runs])
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
        token = resume_token(request.mode, request.namespace, request.total_segments, pending, done)
        raise UnfinishedError(first.failure, token)
    assert done is not None  # every segment finished, so each ran at least once
    return done


def combined(earlier: dict[str, Any] | None, runs: list[dict[str, Any]]) -> dict[str, Any] | None:
    """One summary of earlier work and these runs; None when neither did anything."""
    parts = ([earlier] if earlier else []) + runs
    if not parts:
        return None
    merged = merge_summaries(parts)
    if earlier:  # merge_summaries counts each part as one invocation; the earlier counted its own
        merged["invocations"] += earlier["invocations"] - 1
    return merged


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
            requests, earlier = resumed_run(mode, args.resume)
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
            namespace, earlier = args.namespace, None
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
            summary = reconcile(requests, earlier)
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
