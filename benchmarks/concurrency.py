"""The concurrency harness's longer run: many writers through the handlers, with a backfill and a
prune beside them, checked at checkpoints. Run in its own process (it spawns writer processes)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from benchmarks.report import Figure, Section, measured_equals
from devtools.dynamodb_local import ROOT

HARNESS_SECONDS = 60
HARNESS_WRITERS = 8


def run(endpoint: str) -> Section:
    """Run the harness for a minute against ``endpoint``; its figures, violations held to zero."""
    environment = {
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        **os.environ,
        "AWS_ENDPOINT_URL_DYNAMODB": endpoint,
    }
    command = [
        sys.executable,
        "-m",
        "devtools.concurrency_harness",
        "--seconds",
        str(HARNESS_SECONDS),
        "--writers",
        str(HARNESS_WRITERS),
        "--json",
    ]
    finished = subprocess.run(
        command, cwd=ROOT, env=environment, capture_output=True, text=True, check=False
    )
    if not finished.stdout.strip():
        raise RuntimeError(f"the concurrency harness failed: {finished.stderr.strip()[-2000:]}")
    report = json.loads(finished.stdout)
    seconds = report["elapsed_seconds"]
    section = Section(7, "Concurrency harness (writers, backfill and prune at once)")
    section.figures += [
        Figure(
            "operations through the handlers",
            report["operations"],
            0,
            "",
            measured_note=f"{report['operations'] / seconds:.0f}/s, {HARNESS_WRITERS} writers",
        ),
        Figure("transactions cancelled and retried", report["conflicts_retried"], 0, ""),
        Figure("retries that ran out (answered 409)", report["retries_ran_out"], 0, ""),
        Figure(
            "backfill + prune runs beside the writers",
            sum(report["reconciler_runs"].values()),
            0,
            "",
        ),
        Figure("checkpoints checked", report["checkpoints"], 0, ""),
        Figure(
            "violations (registry ≠ items, mixed sets, undocumented status)",
            len(report["violations"]),
            0,
            "",
            goal=measured_equals(0, ""),
        ),
    ]
    section.notes += report["violations"][:10]
    return section
