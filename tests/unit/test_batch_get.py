"""A BatchGetItem answered in part is asked again for the rest, never answered as whole."""

from __future__ import annotations

from typing import Any

import pytest

from resource_registry import dynamodb
from resource_registry.dynamodb import batch_get
from resource_registry.errors import ServiceUnavailableError

TABLE = "registry"
KEYS = [{"PK": {"S": f"p{index}"}, "SK": {"S": "#CONFIG"}} for index in range(4)]


class PartialClient:
    """Answers each BatchGetItem with its scripted items, leaving the rest unprocessed."""

    def __init__(self, answered: list[int]) -> None:
        self.answered = answered  # how many of the asked keys each call answers
        self.requests: list[dict[str, Any]] = []

    def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:  # noqa: N803
        request = RequestItems[TABLE]
        self.requests.append(request)
        count = self.answered[len(self.requests) - 1]
        keys = request["Keys"]
        answer: dict[str, Any] = {"Responses": {TABLE: [dict(key) for key in keys[:count]]}}
        if keys[count:]:
            rest = {"Keys": keys[count:], "ConsistentRead": request["ConsistentRead"]}
            answer["UnprocessedKeys"] = {TABLE: rest}
        return answer


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("resource_registry.dynamodb.time.sleep", lambda seconds: None)


def test_the_unprocessed_keys_are_asked_for_again_and_the_items_joined() -> None:
    client = PartialClient([1, 2, 1])
    items = batch_get(client, TABLE, KEYS, consistent=True)
    assert items == KEYS
    assert [len(request["Keys"]) for request in client.requests] == [4, 3, 1]
    assert all(request["ConsistentRead"] is True for request in client.requests)


def test_a_read_that_stays_partial_is_unavailable_not_answered() -> None:
    client = PartialClient([1, 0, 0, 0, 0])
    with pytest.raises(ServiceUnavailableError):
        batch_get(client, TABLE, KEYS, consistent=True)
    assert len(client.requests) == dynamodb.BATCH_GET_ATTEMPTS
