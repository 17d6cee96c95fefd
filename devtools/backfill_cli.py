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
from devtools.environment import dynamodb_endpoint, use_default_table_name
from resource_registry import service
from resource_registry.backfill import (
    BackfillRequest,
    BackfillSummary,
    Mode,
    RegistryReconciler,
    merge_summaries,
)
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
            self._scanned[segment] = self._base_scanned[segment] + summary.items_read
            self._found[segment] = self._base_found[segment] + summary.total("resources_found")
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


def reconcile(mode: Mode, total_segments: int, namespace: str | None = None) -> dict[str, Any]:
    """Run ``mode`` over the table (one namespace, or all) in ``total_segments`` segments."""
    reconciler = RegistryReconciler(dynamodb_client(), table_name(), layout=service.table_layout())
    progress = Progress(total_segments)
    requests = [
        BackfillRequest(mode, segment, total_segments, namespace)
        for segment in range(total_segments)
    ]
    with ThreadPoolExecutor(max_workers=total_segments) as pool:
        results = pool.map(lambda request: run_segment(reconciler, request, progress), requests)
        runs = [run.to_dict() for segment_runs in results for run in segment_runs]
    if sys.stderr.isatty():
        sys.stderr.write("\n")
    return merge_summaries(runs)


def print_table(summary: dict[str, Any]) -> None:
    rows = {key: value for key, value in summary.items() if key not in ("sample", "namespaces")}
    for key, names in summary["sample"].items():
        if names:
            more = summary[key] - len(names)
            rows[f"{key} (names)"] = ", ".join(names) + (f" and {more} more" if more else "")
    if len(summary["namespaces"]) > 1:
        for name, counts in summary["namespaces"].items():
            rows[f"namespace {name}"] = ", ".join(f"{k} {v}" for k, v in counts.items())
    width = max(len(key) for key in rows)
    for key, value in rows.items():
        print(f"{key:<{width}}  {'-' if value is None or value == '' else value}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("mode", choices=[mode.value for mode in Mode])
    parser.add_argument(
        "--segments",
        type=int,
        default=int(os.environ.get("SEGMENTS", "4")),
        help="parallel scan segments",
    )
    parser.add_argument(
        "--namespace",
        default=os.environ.get("NAMESPACE") or None,
        help="one namespace (default: every namespace)",
    )
    args = parser.parse_args(argv)
    use_default_table_name()
    mode = Mode(args.mode)
    try:
        with dynamodb_endpoint(reuse_running=True) as endpoint:
            print(
                f"{mode.value} on table {table_name()} at {endpoint}, {args.segments} segments",
                file=sys.stderr,
            )
            summary = reconcile(mode, args.segments, args.namespace)
    except (DynamoDBLocalError, RegistryError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except ClientError as error:
        print(f"error: {error.response['Error'].get('Message', error)}", file=sys.stderr)
        return 1
    print_table(summary)
    return 1 if mode is Mode.VERIFY and summary["drift"] else 0


if __name__ == "__main__":
    sys.exit(main())
