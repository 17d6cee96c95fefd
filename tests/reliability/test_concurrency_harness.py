"""Writers, backfill and prune at once, through the handlers, against DynamoDB Local.

Each writer is a process running the handlers in-process, one invocation at a time, as a Lambda
execution environment does.

The long run is devtools.concurrency_harness (make bench); this is its bounded run in make test,
plus proof that its checks catch the faults they exist for.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest

from devtools.concurrency_harness.config import HarnessConfig
from devtools.concurrency_harness.invariants import WriteLog, check_table
from devtools.concurrency_harness.run import run_harness
from devtools.concurrency_harness.tags import limits_for, tag_of
from resource_registry import layouts, schema
from tests.conftest import Table

pytestmark = pytest.mark.integration


def test_given_writers_backfill_and_prune_at_once_then_every_checkpoint_finds_no_violation(
    local_table: Table,
) -> None:
    report = run_harness(
        HarnessConfig(seconds=20, writers=8, resources=6, checkpoint_every_seconds=2, seed=5)
    )
    print(report.render())
    assert report.violations == []
    kinds = {outcome.split()[0] for outcome in report.operations}
    assert kinds == {"set", "delete", "get", "list"}
    # How many operations a run gets through depends on the machine: make bench measures that.
    assert report.checkpoints >= 8
    # The run was contended: writes lost races and were retried, If-Match was refused.
    assert report.conflicts_retried > 0
    assert report.operations["set 412"] + report.operations["delete 412"] > 0
    assert report.reconciler_runs["backfill"] > 0 and report.reconciler_runs["prune"] > 0
    assert local_table.registry() == local_table.resources_with_limits()


def test_on_every_layout_the_checkpoints_find_no_violation(layout_table: str) -> None:
    # Given writers, backfill and prune at once on a table of each zae-limiter layout
    report = run_harness(
        HarnessConfig(seconds=8, writers=4, resources=4, checkpoint_every_seconds=1, seed=7)
    )
    print(layout_table, report.render())

    # Then every checkpoint found the registry exact and each resource one write's limits
    assert report.violations == []
    assert report.checkpoints >= 4
    assert report.operations["set 200"] > 0
    assert report.reconciler_runs["backfill"] > 0 and report.reconciler_runs["prune"] > 0


@pytest.mark.parametrize("layout_table", ["composite", "namespaced"], indirect=True)
def test_with_zae_limiters_interrupted_writes_and_the_healer_no_checkpoint_finds_drift(
    layout_table: str,
) -> None:
    # Given the API's writers, backfill and prune, and zae-limiter's own writers on the same
    # resources, each write of theirs stopped before its registry update, and the healer
    report = run_harness(
        HarnessConfig(
            seconds=8,
            writers=3,
            resources=4,
            checkpoint_every_seconds=1,
            seed=11,
            foreign_writers=2,
        )
    )
    print(layout_table, report.render())

    # Then once the healer has read the stream, every checkpoint finds the registry exact, each
    # resource one write's limits and no lost update, and a verify at the end finds no drift
    assert report.violations == []
    assert report.foreign_writes > 0
    assert report.healer_events > 0
    assert report.operations["set 200"] > 0


def test_given_a_writer_behind_the_apis_back_then_the_checkpoints_report_the_damage(
    local_table: Table,
) -> None:
    stop = threading.Event()
    foreign = limits_for("w99-n1", 1)[0]

    def write_behind_the_apis_back() -> None:
        while not stop.wait(0.02):  # paces the damage; nothing waits on it
            for resource in ("res-0", "res-1"):
                local_table.put_raw(limit_item(resource, foreign, 1))

    saboteur = threading.Thread(target=write_behind_the_apis_back)
    saboteur.start()
    try:
        report = run_harness(
            HarnessConfig(seconds=3, writers=2, resources=2, checkpoint_every_seconds=0.5, seed=1)
        )
    finally:
        stop.set()
        saboteur.join()
    damaged = [violation for violation in report.violations if "checkpoint" in violation]
    assert damaged and all("res-0" in text or "res-1" in text for text in damaged)


def limit_item(resource: str, limit: dict[str, Any], version: int) -> dict[str, Any]:
    return {
        **schema.limit_key(resource, str(limit["name"])),
        schema.ATTR_CAPACITY: {"N": str(limit["capacity"])},
        schema.ATTR_REFILL_PERIOD_SECONDS: {"N": str(limit["refill_period_seconds"])},
        schema.ATTR_CONFIG_VERSION: {"N": str(version)},
    }


def dump(
    registry: list[str], writes: dict[str, tuple[str, int, int]], stale: int | None = None
) -> list[dict[str, Any]]:
    """A table: the registry, and per resource a write's limits (tag, count) at a version."""
    items: list[dict[str, Any]] = [{**schema.registry_key(), "resources": {"SS": registry}}]
    for resource, (tag, count, version) in writes.items():
        items += [
            limit_item(resource, limit, stale if stale and index == 0 else version)
            for index, limit in enumerate(limits_for(tag, count))
        ]
        items.append({**schema.version_key(resource), "version": {"N": str(version)}})
    return items


def answered(*claims: tuple[str, int, str]) -> WriteLog:
    log = WriteLog()
    for resource, version, tag in claims:
        log.record(resource, f"{version}-000000000000", tag)
    return log


def test_a_consistent_table_passes_the_checkpoint() -> None:
    items = dump(["a", "b"], {"a": ("w01-n3", 2, 4), "b": ("w02-n9", 1, 1)})
    assert check_table(items, answered(("a", 4, "w01-n3"), ("b", 1, "w02-n9")), layouts.FLAT) == []


@pytest.mark.parametrize(
    ("registry", "writes", "stale", "words"),
    [
        (["a", "ghost"], {"a": ("w01-n3", 2, 4)}, None, "ghost is registered but has no defaults"),
        ([], {"a": ("w01-n3", 2, 4)}, None, "a has defaults but is not registered"),
        (["a"], {"a": ("w01-n3", 2, 4)}, 3, "config_version"),
        (["a"], {"a": ("w01-n4", 2, 4)}, None, "the API answered w01-n3"),
    ],
)
def test_the_checkpoint_finds_each_kind_of_damage(
    registry: list[str], writes: dict[str, tuple[str, int, int]], stale: int | None, words: str
) -> None:
    violations = check_table(
        dump(registry, writes, stale), answered(("a", 4, "w01-n3")), layouts.FLAT
    )
    assert len(violations) == 1 and words in violations[0]


def test_limits_from_two_writes_or_with_another_writes_numbers_are_not_one_set() -> None:
    one = limits_for("w01-n3", 2)
    assert tag_of(one) == ("w01-n3", "")
    assert tag_of([one[0], limits_for("w02-n5", 2)[1]])[0] is None
    assert tag_of(one[:1])[0] is None  # a write of two limits that lost one
    assert tag_of([{**one[0], "capacity": 1}, one[1]])[0] is None


def test_two_writes_answered_with_one_version_are_a_lost_update() -> None:
    log = WriteLog()
    assert log.record("a", "2-0123456789ab", "w01-n3") is None
    assert "both answered as version 2" in str(log.record("a", "2-ba9876543210", "w02-n7"))


def test_where_versions_start_again_after_a_delete_the_etag_tells_writes_apart() -> None:
    log = WriteLog(by_version=False)
    assert log.record("a", "1-0123456789ab", "w01-n3") is None
    assert log.record("a", "1-ba9876543210", "w02-n7") is None
    assert "both answered" in str(log.record("a", "1-0123456789ab", "w03-n1"))
