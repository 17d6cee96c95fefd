"""Audit events: in the change's own transaction, in zae-limiter's layout, read back by history."""

from __future__ import annotations

import base64
import json
from collections import Counter
from typing import Any

import pytest

from devtools.call_counter import CallCounter
from resource_registry import clients, schema, service
from resource_registry.ulid import is_ulid
from tests.conftest import Table, api_call

DEFAULTS = "/resources/{}/defaults"
HISTORY = "/resources/{}/history"
RPM = {"name": "rpm", "capacity": 100, "refill_period_seconds": 60}
TPM = {"name": "tpm", "capacity": 5000, "burst": 6000, "refill_period_seconds": 60}
CALLER = "arn:aws:iam::000000000000:user/local-developer"  # what the local server passes


def audit_items(table: Table, resource: str) -> list[dict[str, Any]]:
    return [item for item in table.items() if item["PK"]["S"] == schema.audit_pk(resource)]


def test_a_set_and_a_delete_each_write_one_event_as_zae_limiter_lays_it_out(
    moto_table: Table,
) -> None:
    api_call("PUT", DEFAULTS.format("gpt-4"), body={"limits": [RPM, TPM]})
    api_call("DELETE", DEFAULTS.format("gpt-4"))

    set_event, delete_event = audit_items(moto_table, "gpt-4")  # ULIDs sort by time
    assert set_event["SK"]["S"] == f"#AUDIT#{set_event['event_id']['S']}"
    assert is_ulid(set_event["event_id"]["S"])
    assert set_event["entity_id"] == {"S": "$RESOURCE:gpt-4"}
    assert set_event["action"] == {"S": "limits_set"}
    assert set_event["principal"] == {"S": CALLER}
    assert set_event["resource"] == {"S": "gpt-4"}
    limits = set_event["details"]["M"]["limits"]["L"]
    assert limits[1]["M"] == {
        "name": {"S": "tpm"},
        "capacity": {"N": "5000"},
        "burst": {"N": "6000"},  # the flat layout keeps a burst
        "refill_amount": {"N": "5000"},
        "refill_period_seconds": {"N": "60"},
    }
    # 90 days on the flat layout, which keeps no retention setting
    assert int(set_event["ttl"]["N"]) - 90 * 86_400 == pytest.approx(
        _epoch(set_event["timestamp"]["S"]), abs=2
    )
    assert delete_event["action"] == {"S": "limits_deleted"}
    assert delete_event["details"] == {"M": {}}


def test_a_refused_write_leaves_no_event(moto_table: Table) -> None:
    etag = api_call("PUT", DEFAULTS.format("gpt-4"), body={"limits": [RPM]})["headers"]["ETag"]
    api_call("PUT", DEFAULTS.format("gpt-4"), body={"limits": [TPM]})
    refused = api_call(
        "PUT", DEFAULTS.format("gpt-4"), body={"limits": [RPM]}, headers={"If-Match": etag}
    )
    assert refused["statusCode"] == 412
    assert len(audit_items(moto_table, "gpt-4")) == 2


def test_a_transaction_that_fails_writes_no_event(moto_table: Table) -> None:
    # Given every transaction cancelled (as a racing writer or a full registry would)
    def cancel(**_: Any) -> None:
        raise RuntimeError("cancelled before DynamoDB saw it")

    service.table()
    clients.dynamodb_client().meta.events.register(
        "before-call.dynamodb.TransactWriteItems", cancel
    )
    answer = api_call("PUT", DEFAULTS.format("gpt-4"), body={"limits": [RPM]})
    assert answer["statusCode"] == 500
    assert audit_items(moto_table, "gpt-4") == []


def test_history_pages_newest_first_with_an_opaque_cursor(moto_table: Table) -> None:
    for capacity in range(1, 6):
        body = {"limits": [{**RPM, "capacity": capacity}]}
        api_call("PUT", DEFAULTS.format("gpt-4"), body=body)
    api_call("DELETE", DEFAULTS.format("gpt-4"))

    counter = CallCounter(clients.dynamodb_client())
    first = api_call("GET", HISTORY.format("gpt-4"), query="limit=4")["json"]
    assert counter.calls == Counter({"Query": 1})
    second = api_call(
        "GET", HISTORY.format("gpt-4"), query=f"limit=4&cursor={first['next_cursor']}"
    )["json"]

    events = first["events"] + second["events"]
    assert [event["action"] for event in events] == ["limits_deleted"] + ["limits_set"] * 5
    assert [event["limits"][0]["capacity"] for event in events[1:]] == [5, 4, 3, 2, 1]
    assert events[0]["limits"] == []
    assert all(event["principal"] == CALLER for event in events)
    assert second["next_cursor"] is None
    assert [event["event_id"] for event in events] == sorted(
        (event["event_id"] for event in events), reverse=True
    )


def test_history_of_a_resource_that_never_existed_is_404_as_its_defaults_are(
    moto_table: Table,
) -> None:
    answer = api_call("GET", HISTORY.format("never-set"))
    assert (answer["statusCode"], answer["json"]["code"]) == (404, "ResourceNotFound")
    assert api_call("GET", DEFAULTS.format("never-set"))["statusCode"] == 404


def test_history_of_defaults_another_program_wrote_without_events_is_empty(
    moto_table: Table,
) -> None:
    moto_table.put_raw(
        {
            **schema.limit_key("legacy", "rpm"),
            "capacity": {"N": "5"},
            "refill_period_seconds": {"N": "60"},
        }
    )
    answer = api_call("GET", HISTORY.format("legacy"))
    assert answer["json"] == {"resource": "legacy", "events": [], "next_cursor": None}


@pytest.mark.parametrize(
    "query",
    [
        "limit=0",
        "limit=101",
        "limit=-1",
        "limit=abc",
        "limit=" + "9" * 5000,
        "limit=\uff11",  # a full-width digit one
        "cursor=not-base64!",
        "cursor=" + base64.urlsafe_b64encode(b'{"after": "x"}').decode(),
        "cursor=" + base64.urlsafe_b64encode(json.dumps({"after": 1}).encode()).decode(),
        "cursor=" + base64.urlsafe_b64encode(b"[]").decode(),
        "limit=5&limit=6",
        "page=2",
    ],
)
def test_hostile_cursors_and_limits_are_400(moto_table: Table, query: str) -> None:
    answer = api_call("GET", HISTORY.format("gpt-4"), query=query)
    assert (answer["statusCode"], answer["json"]["code"]) == (400, "InvalidInput")


def _epoch(timestamp: str) -> float:
    import calendar
    import time

    return calendar.timegm(time.strptime(timestamp, "%Y-%m-%dT%H:%M:%SZ"))


def test_the_largest_replacement_still_fits_one_transaction_with_its_event(
    moto_table: Table,
) -> None:
    # 40 limits replaced by 40 others: 40 puts, 40 deletes, the version, the event, the registry
    def limits(prefix: str) -> list[dict[str, Any]]:
        return [{**RPM, "name": f"{prefix}-{index:02}"} for index in range(40)]

    api_call("PUT", DEFAULTS.format("gpt-4"), body={"limits": limits("a")})
    counter = CallCounter(clients.dynamodb_client())
    answer = api_call("PUT", DEFAULTS.format("gpt-4"), body={"limits": limits("b")})
    assert answer["statusCode"] == 200
    assert counter.calls == Counter({"Query": 1, "TransactWriteItems": 1})
    assert len(audit_items(moto_table, "gpt-4")) == 2
