"""DynamoDB calls per API operation, pinned, so the registry's round trips cannot creep up.

The counts come from botocore's before-call hook on the handlers' own client. Capacity units are
not pinned (moto does not bill like DynamoDB); `make bench` measures them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest

from devtools.call_counter import CallCounter
from resource_registry import clients, service
from tests.conftest import Table, api_call

DEFAULTS = "/resources/{}/defaults"
ONE_READ_ONE_TRANSACTION = Counter({"Query": 1, "TransactWriteItems": 1})


def limits(count: int, prefix: str = "limit") -> list[dict[str, Any]]:
    return [
        {"name": f"{prefix}-{index:02}", "capacity": 10 + index, "refill_period_seconds": 60}
        for index in range(count)
    ]


def put(resource: str, count: int, **kwargs: Any) -> dict[str, Any]:
    return api_call("PUT", DEFAULTS.format(resource), body={"limits": limits(count)}, **kwargs)


@pytest.fixture
def calls(moto_table: Table) -> CallCounter:
    """Counts the calls the handlers send (the fixture table's own client is not counted).

    The table's layout is found first, as a cold start does once per process.
    """
    service.table()
    return CallCounter(clients.dynamodb_client())


def calls_of(
    counter: CallCounter, request: Callable[[], dict[str, Any]], status: int
) -> Counter[str]:
    """The calls one request made, after checking it answered ``status``."""
    counter.calls.clear()
    response = request()
    assert response["statusCode"] == status, response
    return Counter(counter.calls)


def test_list_is_exactly_one_get_item(calls: CallCounter) -> None:
    # Given three registered resources
    for name in ("a-model", "b-model", "c-model"):
        put(name, 2)

    # When the registry is listed, eventually and strongly consistent
    eventual = calls_of(calls, lambda: api_call("GET", "/resources"), 200)
    strong = calls_of(calls, lambda: api_call("GET", "/resources", query="consistent=true"), 200)

    # Then each list is one GetItem of the registry and nothing else
    assert eventual == strong == Counter({"GetItem": 1})


@pytest.mark.parametrize("status", [200, 404])
def test_get_is_one_query_and_one_read_of_the_version(calls: CallCounter, status: int) -> None:
    if status == 200:
        put("gpt-4", 5)

    # The GetItem of the version item proves no write landed while the Query read.
    assert calls_of(calls, lambda: api_call("GET", DEFAULTS.format("gpt-4")), status) == Counter(
        {"Query": 1, "GetItem": 1}
    )


@pytest.mark.parametrize("count", [1, 5, 40])
def test_set_is_one_query_and_one_transaction(calls: CallCounter, count: int) -> None:
    assert calls_of(calls, lambda: put("gpt-4", count), 200) == ONE_READ_ONE_TRANSACTION


def test_replacing_every_limit_is_still_one_query_and_one_transaction(calls: CallCounter) -> None:
    # Given 40 limits, when they are replaced by 5 others (35 stale deletes in the same commit)
    put("gpt-4", 40)
    body = {"limits": limits(5, prefix="other")}
    replace = partial(api_call, "PUT", DEFAULTS.format("gpt-4"), body=body)

    assert calls_of(calls, replace, 200) == ONE_READ_ONE_TRANSACTION


def test_a_conditional_set_costs_no_extra_call(calls: CallCounter) -> None:
    etag = put("gpt-4", 5)["headers"]["ETag"]

    conditional = partial(put, "gpt-4", 3, headers={"If-Match": etag})

    assert calls_of(calls, conditional, 200) == ONE_READ_ONE_TRANSACTION


def test_delete_is_one_query_and_one_transaction(calls: CallCounter) -> None:
    put("gpt-4", 5)
    delete = partial(api_call, "DELETE", DEFAULTS.format("gpt-4"))

    assert calls_of(calls, delete, 204) == ONE_READ_ONE_TRANSACTION
    # Nothing left to delete: the read finds that, and no transaction is sent
    assert calls_of(calls, delete, 404) == Counter({"Query": 1})


def test_bad_input_costs_no_call(calls: CallCounter) -> None:
    bad_limit = {"limits": [{"name": "rpm", "capacity": "10", "refill_period_seconds": 60}]}

    assert not calls_of(
        calls, lambda: api_call("PUT", DEFAULTS.format("gpt-4"), body=bad_limit), 400
    )
    assert not calls_of(calls, lambda: api_call("GET", DEFAULTS.format("9-lives")), 400)
    assert not calls_of(calls, lambda: api_call("GET", "/resources", query="sort=name"), 400)


def test_no_api_operation_scans(calls: CallCounter) -> None:
    # When every API operation runs, successes and failures alike
    calls.calls.clear()
    put("gpt-4", 40)
    etag = put("claude", 1)["headers"]["ETag"]
    put("claude", 2, headers={"If-Match": etag})
    put("claude", 2, headers={"If-Match": etag})  # 412: the ETag is stale now
    put("claude", 2, headers={"If-Match": "*"})
    api_call("GET", DEFAULTS.format("gpt-4"))
    api_call("GET", DEFAULTS.format("missing"))
    api_call("GET", "/resources")
    api_call("GET", "/resources", query="consistent=true")
    api_call("DELETE", DEFAULTS.format("gpt-4"), headers={"If-Match": "*"})
    api_call("DELETE", DEFAULTS.format("gpt-4"))

    # Then none of them scanned the table: reads and writes went to known keys only
    assert calls.calls["Scan"] == 0
    assert set(calls.calls) == {"GetItem", "Query", "TransactWriteItems"}
