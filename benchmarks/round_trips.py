"""Issue 6.3: DynamoDB calls and write units per API operation, through the handlers.

The baseline writes the same limit items the plainest way: no registry, no version item, no
transaction (a Query for the stale limits, then BatchWriteItem), into a table of its own; its
list is the old full-table Scan. DynamoDB Local under-reports transactional writes, so write
units are shown as AWS bills them, computed from item sizes, next to what Local reports.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from benchmarks.dataset import BATCH_SIZE
from benchmarks.environment import call_api, point_handlers_at
from benchmarks.item_size import item_size, write_units
from benchmarks.list_cost import scan_for_resources
from benchmarks.metering import DynamoDBMeter, TransactionBiller, Usage
from benchmarks.report import Figure, Goal, Section
from devtools.dynamodb_local import create_table
from handlers import routes
from handlers.routes import Route
from resource_registry import clients, schema, service

LIMIT_COUNTS = (1, 5, 40)
ONE_WRITE = Counter({"Query": 1, "TransactWriteItems": 1})


@dataclass(frozen=True)
class Cost:
    """What one operation cost: its calls as DynamoDB Local saw them, and AWS's bill for it."""

    usage: Usage
    billed_write_units: int
    # Of those, the audit event's (written in the same transaction as the change).
    audit_write_units: int = 0


def run(client_factory: Callable[[], Any], endpoint: str, table: str) -> Section:
    section = Section(3, "Round trips and write cost per operation (handlers vs plain writes)")
    point_handlers_at(endpoint, table)
    client = clients.dynamodb_client()
    # The table's layout is read once per process, at a cold start; these are warm requests.
    service.table()
    ours = _OperationCosts(DynamoDBMeter(client), TransactionBiller(client, client_factory()))
    plain = PlainWrites(client_factory(), "bench-plain-writes", scanned_table=table)
    scans_by_api = 0
    for count in LIMIT_COUNTS:
        resource = f"bench-round-trip-{count}"
        cost = ours.of(partial(_call, 200, routes.SET_DEFAULTS, resource, _limits_body(count)))
        baseline = plain.cost_of(partial(plain.set_limits, resource, count))
        label = f"set, {count} limit{'s' if count > 1 else ''}"
        section.figures += _write_figures(label, cost, baseline)
        scans_by_api += cost.usage.calls["Scan"]

    resource = f"bench-round-trip-{LIMIT_COUNTS[1]}"
    get = ours.of(partial(_call, 200, routes.GET_DEFAULTS, resource))
    plain_get = plain.cost_of(partial(plain.read, resource))
    listed = ours.of(partial(_call, 200, routes.LIST_RESOURCES))
    plain_list = plain.cost_of(plain.scan_for_resources)
    deleted = ours.of(partial(_call, 204, routes.DELETE_DEFAULTS, resource))
    plain_delete = plain.cost_of(partial(plain.delete_limits, resource))
    section.figures += [
        _calls_figure("get", get, plain_get, Counter({"Query": 1, "GetItem": 1})),
        _calls_figure("list", listed, plain_list, Counter({"GetItem": 1})),
        *_write_figures("delete", deleted, plain_delete),
    ]
    scans_by_api += sum(cost.usage.calls["Scan"] for cost in (get, listed, deleted))
    section.figures.append(
        Figure(
            "Scan calls across all API operations above (baseline: the old list)",
            scans_by_api,
            plain_list.usage.calls["Scan"],
            "",
            goal=Goal("= 0", lambda f: f.measured == 0),
        )
    )
    section.notes += [
        "Call counts are pinned per handler by tests/unit/test_call_counts.py (make test).",
        "AWS bills a transaction 2 write units per KB of every item it writes or checks; "
        "DynamoDB Local reports a whole transaction as if it wrote a single item, whatever its "
        "size, hence the two figures. The set's items: its limits, the version item, the registry.",
    ]
    return section


class PlainWrites:
    """The baseline: limit items written with no registry, no version item, no transaction."""

    def __init__(self, client: Any, table: str, scanned_table: str) -> None:
        self._client = client
        self._table = table
        self._scanned_table = scanned_table
        self._meter = DynamoDBMeter(client)
        self._billed = 0
        create_table(client, table)

    def cost_of(self, operation: Callable[[], Any]) -> Cost:
        self._meter.take()
        self._billed = 0
        operation()
        return Cost(self._meter.take(), self._billed)

    def read(self, resource: str) -> list[dict[str, Any]]:
        response = self._client.query(
            TableName=self._table,
            KeyConditionExpression="#pk = :pk",
            ExpressionAttributeNames={"#pk": schema.PARTITION_KEY},
            ExpressionAttributeValues={":pk": {"S": schema.resource_pk(resource)}},
            ConsistentRead=True,
        )
        items: list[dict[str, Any]] = response["Items"]
        return items

    def set_limits(self, resource: str, count: int) -> None:
        new_items = [_limit_item(resource, limit) for limit in _limits_body(count)]
        names = {item[schema.SORT_KEY]["S"] for item in new_items}
        stale = [item for item in self.read(resource) if item[schema.SORT_KEY]["S"] not in names]
        requests = [{"PutRequest": {"Item": item}} for item in new_items]
        requests += [{"DeleteRequest": {"Key": _key_of(item)}} for item in stale]
        self._batch_write(requests, [*new_items, *stale])

    def delete_limits(self, resource: str) -> None:
        items = self.read(resource)
        self._batch_write([{"DeleteRequest": {"Key": _key_of(item)}} for item in items], items)

    def scan_for_resources(self) -> set[str]:
        return scan_for_resources(self._client, self._scanned_table)

    def _batch_write(self, requests: list[dict[str, Any]], items: Sequence[dict[str, Any]]) -> None:
        for start in range(0, len(requests), BATCH_SIZE):
            chunk = requests[start : start + BATCH_SIZE]
            while chunk:
                response = self._client.batch_write_item(RequestItems={self._table: chunk})
                chunk = response.get("UnprocessedItems", {}).get(self._table, [])
        self._billed += sum(write_units(item_size(item)) for item in items)


class _OperationCosts:
    def __init__(self, meter: DynamoDBMeter, biller: TransactionBiller) -> None:
        self._meter = meter
        self._biller = biller

    def of(self, operation: Callable[[], Any]) -> Cost:
        self._meter.take()
        self._biller.take()
        operation()
        billed, audit = self._biller.take()
        return Cost(self._meter.take(), billed, audit)


def _write_figures(operation: str, cost: Cost, baseline: Cost) -> list[Figure]:
    return [
        _calls_figure(operation, cost, baseline, ONE_WRITE),
        Figure(
            f"{operation}: write units with the audit event vs without",
            cost.billed_write_units,
            cost.billed_write_units - cost.audit_write_units,
            "WCU",
            measured_note=f"{cost.audit_write_units} for the event",
            baseline_note="the same transaction less its event",
        ),
        Figure(
            f"{operation}: write units as AWS bills them",
            cost.billed_write_units,
            baseline.billed_write_units,
            "WCU",
            measured_note=f"Local reports {cost.usage.write_units:g}",
            baseline_note=f"Local reports {baseline.usage.write_units:g}",
        ),
    ]


def _calls_figure(operation: str, cost: Cost, baseline: Cost, expected: Counter[str]) -> Figure:
    expectation = " + ".join(f"{count} {name}" for name, count in sorted(expected.items()))
    met = cost.usage.calls == expected
    return Figure(
        f"{operation}: DynamoDB calls",
        cost.usage.total_calls,
        baseline.usage.total_calls,
        "",
        measured_note=cost.usage.describe_calls(),
        baseline_note=baseline.usage.describe_calls(),
        goal=Goal(f"= {expectation}", lambda _: met),
    )


def _limits_body(count: int) -> list[dict[str, Any]]:
    return [
        {"name": f"limit-{index:02}", "capacity": 1_000 * (index + 1), "refill_period_seconds": 60}
        for index in range(count)
    ]


def _limit_item(resource: str, limit: dict[str, Any]) -> dict[str, Any]:
    capacity = {"N": str(limit["capacity"])}
    return {
        **schema.limit_key(resource, limit["name"]),
        schema.ATTR_RESOURCE: {"S": resource},
        schema.ATTR_LIMIT_NAME: {"S": limit["name"]},
        schema.ATTR_CAPACITY: capacity,
        schema.ATTR_BURST: capacity,
        schema.ATTR_REFILL_AMOUNT: capacity,
        schema.ATTR_REFILL_PERIOD_SECONDS: {"N": str(limit["refill_period_seconds"])},
        schema.ATTR_CONFIG_VERSION: {"N": "1"},
    }


def _key_of(item: dict[str, Any]) -> dict[str, Any]:
    return {name: item[name] for name in (schema.PARTITION_KEY, schema.SORT_KEY)}


def _call(status: int, route: Route, resource: str | None = None, limits: Any = None) -> None:
    """One request through the route's handler, which must answer ``status``."""
    response = call_api(route, resource, None if limits is None else {"limits": limits})
    if response["statusCode"] != status:
        raise AssertionError(f"{route.method} {route.path} answered {response}, not {status}")
