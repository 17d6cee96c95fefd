"""Runs every benchmark in an order that builds each table once, then prints and writes the table.

Cold starts are measured first, before DynamoDB Local takes its share of the CPU. The big table
is loaded with legacy limit items (no registry) so the backfill can run on it, and only then are
its resources written through the store for the list benchmark.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from benchmarks import (
    added_latency,
    backfill_speed,
    cold_start,
    concurrency,
    contention,
    effective,
    handler_overhead,
    healer,
    layouts,
    list_cost,
    round_trips,
)
from benchmarks.dataset import (
    BATCH_SIZE,
    LOADER_THREADS,
    LoadedTable,
    build_table,
    register_resources,
)
from benchmarks.environment import configure_process
from benchmarks.machine import Machine, describe_machine
from benchmarks.report import Section, markdown_table, text_table
from devtools.dynamodb_local import ROOT, DynamoDBLocal

TABLE_SIZES = (1_000, 10_000, 100_000)
QUICK_TABLE_SIZES = (1_000, 2_000, 5_000)
REPORT_PATH = ROOT / "docs" / "BENCHMARKS.md"


class Progress:
    """One line on stderr per step, with the time since the run began."""

    def __init__(self) -> None:
        self.started = time.monotonic()

    def __call__(self, message: str) -> None:
        print(f"[{self.elapsed:5.0f} s] {message}", file=sys.stderr, flush=True)

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started


def main(arguments: Sequence[str] | None = None) -> int:
    options = _parse(arguments)
    progress = Progress()
    configure_process()
    machine = describe_machine()
    sizes = QUICK_TABLE_SIZES if options.quick else TABLE_SIZES
    progress("cold starts: fresh interpreters, round-robin")
    sections = [cold_start.run()]
    with _dynamodb_local(progress) as local:
        sections += _table_benchmarks(local, sizes, progress)
        progress("zae-limiter layouts")
        sections.append(layouts.run(local, options.quick, progress))
    # The sections that time writes to tables with a stream each get a DynamoDB Local of their
    # own: its stream bookkeeping grows with the records of every table it holds (after section
    # 8's 100,000-item table, section 9 had not ended in 12 minutes, DynamoDB Local's one busy
    # thread describing streams).
    with _dynamodb_local(progress) as local:
        progress("set latency with round trips delayed, vs zae-limiter 0.17.0")
        sections.append(added_latency.run(local, options.quick, progress))
    with _dynamodb_local(progress) as local:
        progress("the registry healer over the stream")
        sections.append(healer.run(local, options.quick))
    with _dynamodb_local(progress) as local:
        sections.append(effective.run(local, options.quick, progress))
    sections.sort(key=lambda section: section.number)
    print(text_table(sections))
    _print_verdict(sections)
    if not options.quick:
        REPORT_PATH.write_text(_markdown_report(machine, sections, progress.elapsed))
        print(f"written to {REPORT_PATH.relative_to(ROOT)} ({progress.elapsed:.0f} s in all)")
    return 0


def _table_benchmarks(
    local: DynamoDBLocal, sizes: Sequence[int], progress: Progress
) -> list[Section]:
    tables: list[LoadedTable] = []
    for size in sizes:
        progress(f"loading a table of {size:,} items")
        legacy = size == max(sizes)
        tables.append(build_table(local.client, f"bench-{size}", size, legacy=legacy))
    largest = tables[-1]
    progress(f"backfill of the {largest.items:,}-item legacy table vs bare Scan")
    sections = [backfill_speed.run(local.client, largest)]
    register_resources(local.client(), largest.name)
    progress("list cost vs table size")
    list_section = list_cost.run(local.client, tables)
    loads = ", ".join(f"{table.items:,} in {table.load_seconds:.1f} s" for table in tables)
    list_section.notes.append(
        f"Loading the tables (BatchWriteItem, {BATCH_SIZE} items a call, {LOADER_THREADS} "
        f"threads) took: {loads}."
    )
    sections.append(list_section)
    progress("list handler overhead")
    sections.append(handler_overhead.run(local.endpoint, largest.name))
    progress("round trips and write cost per operation")
    sections.append(round_trips.run(local.client, local.endpoint, largest.name))
    progress("write contention on the registry item")
    sections.append(contention.run(local.client))
    progress(f"concurrency harness ({concurrency.HARNESS_SECONDS} s)")
    sections.append(concurrency.run(local.endpoint))
    return sections


@contextmanager
def _dynamodb_local(progress: Progress) -> Iterator[DynamoDBLocal]:
    """DynamoDB Local in memory on a free port, for the duration of the with-block."""
    local = DynamoDBLocal()
    progress(f"starting DynamoDB Local (in memory) on port {local.port}")
    local.start()
    try:
        yield local
    finally:
        local.stop()


def _parse(arguments: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="small tables, print only (for trying the benchmarks out; goals at scale will fail)",
    )
    return parser.parse_args(arguments)


def _print_verdict(sections: Sequence[Section]) -> None:
    missed = [
        f"{section.number}. {figure.what}"
        for section in sections
        for figure in section.figures
        if figure.met is False
    ]
    goals = sum(figure.goal is not None for section in sections for figure in section.figures)
    print(f"\n{goals - len(missed)} of {goals} goals met.")
    for what in missed:
        print(f"  missed: {what}")


def _markdown_report(machine: Machine, sections: Sequence[Section], seconds: float) -> str:
    notes = [f"- **{section.number}.** {note}" for section in sections for note in section.notes]
    lines = [
        "# Benchmarks",
        "",
        "Generated by `make bench` (the `benchmarks` package) against an in-memory DynamoDB Local "
        "that the run starts on a free port and stops; do not edit by hand. Each figure sits next "
        "to its baseline from the same run.",
        "",
        "## Machine",
        "",
        *[f"- {line}" for line in machine.lines()],
        f"- Whole run: {seconds / 60:.1f} min",
        "",
        "## Results",
        "",
        markdown_table(sections),
        "",
        "## How to read it",
        "",
        "- ratio: measured ÷ baseline, or for savings and speedups how many times less or faster.",
        "- DynamoDB Local is a JVM on this machine, not DynamoDB: latencies show relative cost, "
        "not what AWS answers in. The read units it reports follow DynamoDB's rules; its "
        "transactional write units do not, so those are recomputed from item sizes.",
        *notes,
        "",
    ]
    return "\n".join(lines)
