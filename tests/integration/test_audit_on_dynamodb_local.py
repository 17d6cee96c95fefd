"""History paging on DynamoDB Local, where it differs from moto (tests/unit/test_audit.py)."""

from __future__ import annotations

import pytest

from tests.conftest import Table, api_call

pytestmark = pytest.mark.integration
DEFAULTS = "/resources/{}/defaults"
HISTORY = "/resources/{}/history"
RPM = {"name": "rpm", "capacity": 100, "refill_period_seconds": 60}


def test_a_page_the_events_fill_exactly_is_the_last(local_table: Table) -> None:
    # DynamoDB (not moto) returns a LastEvaluatedKey when a Query stops at its Limit.
    for capacity in range(1, 5):
        api_call("PUT", DEFAULTS.format("gpt-4"), body={"limits": [{**RPM, "capacity": capacity}]})

    first = api_call("GET", HISTORY.format("gpt-4"), query="limit=2")["json"]
    second = api_call(
        "GET", HISTORY.format("gpt-4"), query=f"limit=2&cursor={first['next_cursor']}"
    )["json"]

    assert [event["limits"][0]["capacity"] for event in first["events"]] == [4, 3]
    assert [event["limits"][0]["capacity"] for event in second["events"]] == [2, 1]
    assert second["next_cursor"] is None
