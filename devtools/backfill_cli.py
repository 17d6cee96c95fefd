"""`make backfill`, `make verify`, `make prune`: the backfill handler's code, run here.

Runs every segment in its own thread, each resuming on its continuation until done, shows progress,
and prints the merged summary. `verify` exits 1 when it finds drift.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from botocore.exceptions import ClientError

from devtools.dynamodb_local import DynamoDBLocalError
from devtools.environment import dynamodb_endpoint
from resource_registry.backfill import BackfillRequest, BackfillSummary, Mode, RegistryReconciler
from resource_registry.clients import dynamodb_client, table_name
from resource_registry.errors import RegistryError


class Progress:
    """Items scanned and resources found so far, over all segments, on one updating line."""

    def __init__(self, total_segments: int, stream: Any = sys.stderr) -> None:
        self._lock = threading.Lock()
        self._scanned = [0] * total_segments
        self._found = [0] * total_segments
        self._base_scanned = [0] * total_segments
        self._base_found = [0] * total_segments
        self._stream = stream

    def page(self, summary: BackfillSummary) -> None:
        if not self._stream.isatty():
            return
        with self._lock:
            segment = summary.segment
            self._scanned[segment] = self._base_scanned[segment] + summary.items_scanned
            self._found[segment] = self._base_found[segment] + len(summary.resources_found)
            self._stream.write(
                f"\rscanned {sum(self._scanned):>12,} items, found {sum(self._found):>8,} resources"
            )
            self._stream.flush()

    def run_done(self, summary: BackfillSummary) -> None:
        with self._lock:
            self._base_scanned[summary.segment] = self._scanned[summary.segment]
            self._base_found[summary.segment] = self._found[summary.segment]


def run_segment(
    reconciler: RegistryReconciler, request: BackfillRequest, progress: Progress
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


def merge(mode: Mode, runs: list[BackfillSummary], total_segments: int) -> dict[str, Any]:
    """One summary for the whole table, in the shape the fan-out state machine returns."""
    return {
        "mode": mode.value,
        "total_segments": total_segments,
        "invocations": len(runs),
        "items_scanned": sum(run.items_scanned for run in runs),
        "capacity_consumed": round(sum(run.capacity_consumed for run in runs), 1),
        # A segment's runs never find a name twice and segments never share one: counts add up.
        "resources_found": sum(len(run.resources_found) for run in runs),
        "added": sorted(name for run in runs for name in run.added),
        "removed": sorted(name for run in runs for name in run.removed),
        "drift": {
            "unregistered": sorted(name for run in runs for name in run.drift.unregistered),
            "registered_without_defaults": sorted(
                name for run in runs for name in run.drift.registered_without_defaults
            ),
        },
    }


def reconcile(mode: Mode, total_segments: int) -> dict[str, Any]:
    """Run ``mode`` over the whole table in ``total_segments`` parallel segments."""
    reconciler = RegistryReconciler(dynamodb_client(), table_name())
    progress = Progress(total_segments)
    requests = [BackfillRequest(mode, segment, total_segments) for segment in range(total_segments)]
    with ThreadPoolExecutor(max_workers=total_segments) as pool:
        results = pool.map(lambda request: run_segment(reconciler, request, progress), requests)
        runs = [run for segment_runs in results for run in segment_runs]
    if sys.stderr.isatty():
        sys.stderr.write("\n")
    return merge(mode, runs, total_segments)


def print_table(summary: dict[str, Any]) -> None:
    rows = {key: value for key, value in summary.items() if key != "drift"}
    rows |= {f"drift: {key}": value for key, value in summary["drift"].items()}
    width = max(len(key) for key in rows)
    for key, value in rows.items():
        shown = ", ".join(value) if isinstance(value, list) else value
        print(f"{key:<{width}}  {shown if shown != '' else '-'}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("mode", choices=[mode.value for mode in Mode])
    parser.add_argument(
        "--segments",
        type=int,
        default=int(os.environ.get("SEGMENTS", "4")),
        help="parallel scan segments",
    )
    args = parser.parse_args(argv)
    mode = Mode(args.mode)
    try:
        with dynamodb_endpoint(reuse_running=True) as endpoint:
            print(
                f"{mode.value} on table {table_name()} at {endpoint.url}, {args.segments} segments",
                file=sys.stderr,
            )
            summary = reconcile(mode, args.segments)
    except (DynamoDBLocalError, RegistryError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except ClientError as error:
        print(f"error: {error.response['Error'].get('Message', error)}", file=sys.stderr)
        return 1
    print_table(summary)
    drift = any(summary["drift"].values())
    return 1 if mode is Mode.VERIFY and drift else 0


if __name__ == "__main__":
    sys.exit(main())
