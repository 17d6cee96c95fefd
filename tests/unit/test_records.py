"""Records behave as the frozen dataclasses they replaced: values, read-only, shown by field."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from typing import Final

import pytest

import resource_registry
from handlers.request_parsing import EntityTags
from handlers.routes import Route
from resource_registry.audit import AuditEvent, HistoryPage
from resource_registry.backfill.request import BackfillRequest, Mode
from resource_registry.backfill.summary import BackfillSummary, Drift, NamespaceTally, Tally
from resource_registry.change_events import ChangeEvent
from resource_registry.effective import EffectiveLimits, Reach
from resource_registry.healer import Snapshot, _PendingEvent
from resource_registry.idempotency import IdempotentRequest, RecordedAnswer
from resource_registry.layouts.stored import (
    ConfigKeys,
    ConfigLevel,
    ConfiguredLimit,
    StoredResource,
    StreamTarget,
)
from resource_registry.model import Limit, Namespace, NoneMatch, Precondition, ResourceDefaults
from resource_registry.records import FrozenRecordError, MutableRecord, Record
from resource_registry.retry import RetryPolicy
from resource_registry.table import Table

RECORDS: tuple[type[Record], ...] = (
    Limit,
    Precondition,
    NoneMatch,
    ResourceDefaults,
    Namespace,
    StoredResource,
    AuditEvent,
    HistoryPage,
    RetryPolicy,
    Route,
    BackfillRequest,
    Tally,
    NamespaceTally,
    Drift,
    BackfillSummary,
    Table,
    EntityTags,
    IdempotentRequest,
    RecordedAnswer,
    StreamTarget,
    ChangeEvent,
    Snapshot,
    _PendingEvent,
    ConfiguredLimit,
    ConfigLevel,
    ConfigKeys,
    EffectiveLimits,
    Reach,
)


class Point(Record):
    __slots__ = ("x", "y")
    x: Final[int]
    y: Final[int]

    def __init__(self, x: int, y: int) -> None:
        self.x = x
        self.y = y


class Size(Record):
    """The same fields as Point, another meaning."""

    __slots__ = ("x", "y")
    x: Final[int]
    y: Final[int]

    def __init__(self, x: int, y: int) -> None:
        self.x = x
        self.y = y


class Clicks(MutableRecord):
    __slots__ = ("count",)
    count: int

    def __init__(self, count: int = 0) -> None:
        self.count = count


def test_records_with_equal_fields_are_equal_and_hash_alike() -> None:
    assert Point(1, 2) == Point(x=1, y=2)
    assert hash(Point(1, 2)) == hash(Point(1, 2))
    assert {Point(1, 2), Point(1, 2), Point(2, 1)} == {Point(1, 2), Point(2, 1)}


def test_records_differ_by_any_field_and_by_class() -> None:
    assert Point(1, 2) != Point(1, 3)
    assert Point(1, 2) != Point(2, 2)
    assert Point(1, 2) != Size(1, 2)
    assert Point(1, 2) != (1, 2)


def test_a_record_is_shown_field_by_field() -> None:
    assert repr(Point(1, "a")) == "Point(x=1, y='a')"  # type: ignore[arg-type]
    limit = Limit("rpm", 100, 150, 100, 60)
    assert repr(limit) == (
        "Limit(name='rpm', capacity=100, burst=150, refill_amount=100, refill_period_seconds=60)"
    )


def test_a_record_is_read_only() -> None:
    point = Point(1, 2)
    with pytest.raises(FrozenRecordError, match="cannot assign to field 'x'"):
        point.x = 5  # type: ignore[misc]
    with pytest.raises(FrozenRecordError, match="cannot delete field 'y'"):
        del point.y
    with pytest.raises(AttributeError):  # no other attribute either
        point.z = 3
    assert (point.x, point.y) == (1, 2)


def test_a_mutable_record_changes_and_is_not_hashable() -> None:
    clicks = Clicks()
    clicks.count += 1
    assert clicks == Clicks(1)
    assert clicks != Clicks(2)
    with pytest.raises(TypeError):
        hash(clicks)


def test_a_retry_policy_compares_its_bounds_not_its_clock() -> None:
    def sleep(_: float) -> None:
        pass

    assert RetryPolicy(sleep=sleep, clock=lambda: 0.0) == RetryPolicy()
    assert hash(RetryPolicy(sleep=sleep)) == hash(RetryPolicy())
    assert RetryPolicy(max_attempts=3, sleep=sleep) != RetryPolicy(sleep=sleep)
    assert "sleep=" in repr(RetryPolicy(sleep=sleep))


def test_mutable_defaults_are_new_for_each_record() -> None:
    first, second = StoredResource((), 0), StoredResource((), 0)
    first.items["a"] = {}
    assert second.items == {}
    tallies = NamespaceTally(), NamespaceTally()
    tallies[0].added.add(["a"])
    assert tallies[1].added.names == []
    summaries = BackfillSummary("verify", 0, 1), BackfillSummary("verify", 0, 1)
    summaries[0].of("default")
    assert summaries[1].namespaces == {}


@pytest.mark.parametrize("record", RECORDS, ids=lambda record: record.__name__)
def test_a_record_takes_its_fields_in_order_and_sets_them_all(record: type[Record]) -> None:
    parameters = list(inspect.signature(record).parameters.values())
    assert [parameter.name for parameter in parameters] == list(record.__slots__)
    # Every field given, by position: each is set, and shown in that order.
    made = record(*(f"value-{index}" for index in range(len(parameters))))
    assert [getattr(made, name) for name in record.__slots__] == [
        f"value-{index}" for index in range(len(parameters))
    ]
    shown = ", ".join(f"{name}='value-{index}'" for index, name in enumerate(record.__slots__))
    assert repr(made) == f"{record.__qualname__}({shown})"


def test_backfill_requests_and_drift_are_values() -> None:
    assert BackfillRequest(Mode.VERIFY, 1, 2) == BackfillRequest(
        Mode.VERIFY, segment=1, total_segments=2
    )
    assert Drift(["a"], []) == Drift(unregistered=["a"], registered_without_defaults=[])
    assert not Drift([], [])


def test_every_record_of_the_functions_is_checked_above() -> None:
    for module in pkgutil.walk_packages(resource_registry.__path__, "resource_registry."):
        importlib.import_module(module.name)

    def subclasses(base: type[Record]) -> set[type[Record]]:
        found = set(base.__subclasses__())
        return found.union(*(subclasses(child) for child in found))

    defined = {
        record
        for record in subclasses(Record)
        if record.__module__.startswith(("resource_registry.", "handlers."))
    }
    assert defined - {MutableRecord} <= set(RECORDS)
