"""Idempotency-Key: a retry answers what the first attempt did and writes nothing."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from botocore.exceptions import ReadTimeoutError

from devtools.call_counter import CallCounter
from resource_registry import clients, schema, service
from tests.conftest import Table, api_call

DEFAULTS = "/resources/{}/defaults"
RPM = {"name": "rpm", "capacity": 100, "refill_period_seconds": 60}
TPM = {"name": "tpm", "capacity": 5000, "refill_period_seconds": 60}


def put(body: Any, key: str | None = "order-7", **headers: str) -> dict[str, Any]:
    sent = {**headers, **({"Idempotency-Key": key} if key is not None else {})}
    return api_call("PUT", DEFAULTS.format("gpt-4"), body=body, headers=sent)


def delete(key: str | None = "delete-7") -> dict[str, Any]:
    headers = {"Idempotency-Key": key} if key is not None else {}
    return api_call("DELETE", DEFAULTS.format("gpt-4"), headers=headers)


def without_records(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [item for item in items if schema.IDEMPOTENCY_PREFIX not in item["PK"]["S"]]


def test_a_retried_put_answers_the_first_answer_and_writes_nothing(moto_table: Table) -> None:
    # Given a PUT with a key
    first = put({"limits": [RPM]})
    after_first = moto_table.items()
    # When the same request is retried with the same key, after the resource moved on
    retried = put({"limits": [RPM]})
    # Then the retry answers exactly what the first did (status, body, ETag) and writes nothing
    assert first["statusCode"] == 200
    assert (retried["statusCode"], retried["body"]) == (first["statusCode"], first["body"])
    assert retried["headers"]["ETag"] == first["headers"]["ETag"]
    assert moto_table.items() == after_first


def test_a_put_applied_whose_answer_was_lost_is_answered_on_retry(moto_table: Table) -> None:
    # Given a PUT whose transaction commits but whose answer never reaches the handler
    service.table()
    client = clients.dynamodb_client()
    lost = {"once": True}

    def lose_the_answer(**_: Any) -> None:
        if lost.pop("once", False):
            raise ReadTimeoutError(endpoint_url="http://dynamodb")

    client.meta.events.register("after-call.dynamodb.TransactWriteItems", lose_the_answer)
    first = put({"limits": [RPM]})
    # When the client retries with the same key
    retried = put({"limits": [RPM]})
    # Then the first answered 503, yet it was applied; the retry answers 200, writing nothing more
    assert first["statusCode"] == 503
    assert retried["statusCode"] == 200
    events = [item for item in moto_table.items() if item["PK"]["S"] == schema.audit_pk("gpt-4")]
    assert len(events) == 1
    assert retried["json"]["limits"][0]["name"] == "rpm"


def test_the_same_key_with_another_body_is_422_and_changes_nothing(moto_table: Table) -> None:
    put({"limits": [RPM]})
    before = moto_table.items()

    answer = put({"limits": [TPM]})

    assert (answer["statusCode"], answer["json"]["code"]) == (422, "IdempotencyKeyReused")
    assert moto_table.items() == before


def test_the_same_key_on_another_resource_or_condition_is_another_request(
    moto_table: Table,
) -> None:
    etag = put({"limits": [RPM]})["headers"]["ETag"]
    other_resource = api_call(
        "PUT",
        DEFAULTS.format("claude"),
        body={"limits": [RPM]},
        headers={"Idempotency-Key": "order-7"},
    )
    other_condition = put({"limits": [RPM]}, **{"If-Match": etag})
    assert other_resource["statusCode"] == 422
    assert other_condition["statusCode"] == 422


def test_a_retried_delete_answers_204_and_writes_nothing(moto_table: Table) -> None:
    put({"limits": [RPM]}, key=None)
    first = delete()
    after_first = moto_table.items()

    retried = delete()

    assert (first["statusCode"], retried["statusCode"]) == (204, 204)
    assert moto_table.items() == after_first
    # A delete's key is not a set's
    assert put({"limits": [RPM]}, key="delete-7")["statusCode"] == 422


def test_without_a_key_a_write_costs_what_it_did_and_keeps_no_record(moto_table: Table) -> None:
    service.table()
    service.audit_trail().retention_days(service.namespaces().resolve("default"))
    counter = CallCounter(clients.dynamodb_client())
    put({"limits": [RPM]}, key=None)
    delete(key=None)
    assert counter.calls == Counter({"Query": 2, "TransactWriteItems": 2})
    assert without_records(moto_table.items()) == moto_table.items()


@pytest.mark.parametrize("key", ["", " ", "x" * 256, "é", "tab\there"])
def test_a_bad_key_is_refused_and_changes_nothing(moto_table: Table, key: str) -> None:
    answer = put({"limits": [RPM]}, key=key)
    assert answer["statusCode"] == 400
    assert "Idempotency-Key" in answer["json"]["message"]
    assert moto_table.items() == []
