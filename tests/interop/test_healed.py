"""The healer heals what the released zae-limiter leaves behind when its non-atomic writes stop
half way: its config write done, its registry update never made.

zae-limiter itself writes, through its probe, and is stopped before its registry update (as a
crash, a throttle or a timeout between its calls would stop it); the healer reads the table's
stream on DynamoDB Local, as the stack's event source mapping does in AWS.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import boto3
import pytest

from devtools.dynamodb_local import DynamoDBLocal
from devtools.stream_poller import StreamPoller
from resource_registry import service
from resource_registry.change_events import ChangeEvent
from resource_registry.healer import RegistryHealer
from tests.conftest import api_call
from tests.interop.serving import served
from tests.support.zae_limiter import ZaeLimiter, ZaeLimiterError

pytestmark = pytest.mark.integration

RPM = {"name": "rpm", "capacity": 100, "refill_amount": 100, "refill_period_seconds": 60}
# The composite layouts: where a change of defaults is one item, and so one event.
HEALED_VERSIONS = ("0.9.1", "0.17.0")


class Healing:
    """A healer over a zae-limiter table's stream, and what it published."""

    def __init__(self, limiter: ZaeLimiter, local: DynamoDBLocal) -> None:
        client = local.client()
        description = client.describe_table(TableName=limiter.table_name)["Table"]
        if not description.get("StreamSpecification", {}).get("StreamEnabled"):
            # zae-limiter's stack gives its table a stream; create_table alone may not.
            client.update_table(
                TableName=limiter.table_name,
                StreamSpecification={
                    "StreamEnabled": True,
                    "StreamViewType": "NEW_AND_OLD_IMAGES",
                },
            )
        self.events: list[ChangeEvent] = []
        streams = boto3.client(
            "dynamodbstreams",
            endpoint_url=local.endpoint,
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )
        healer = RegistryHealer(service.table_over(client, limiter.table_name), self)
        self.poller = StreamPoller(
            client, streams, limiter.table_name, healer.handle, from_start=True
        )

    def publish(self, events: Sequence[ChangeEvent]) -> None:
        self.events += events

    def heal(self) -> None:
        while self.poller.poll_once():
            pass


@pytest.fixture(params=HEALED_VERSIONS)
def zae(
    request: pytest.FixtureRequest,
    zae_limiter_factory: Callable[[str], ZaeLimiter],
    dynamodb_local: DynamoDBLocal,
    monkeypatch: pytest.MonkeyPatch,
) -> ZaeLimiter:
    return served(zae_limiter_factory(request.param), dynamodb_local, monkeypatch)


def interrupted(zae: ZaeLimiter, op: str, **arguments: Any) -> None:
    """zae-limiter's write, stopped before its registry update."""
    with pytest.raises(ZaeLimiterError) as stopped:
        zae.call(op, interrupted=True, **arguments)
    assert stopped.value.error == "InterruptedWriteError"


def test_an_interrupted_set_and_an_interrupted_delete_are_healed(
    zae: ZaeLimiter, dynamodb_local: DynamoDBLocal
) -> None:
    healing = Healing(zae, dynamodb_local)

    # Given zae-limiter's set, stopped after its config write
    interrupted(zae, "set_resource_defaults", resource="gpt-4", limits=[RPM])
    assert zae.list_resources_with_defaults() == []
    # When the healer reads the stream
    healing.heal()
    # Then the registry lists it, for zae-limiter and for the API, and one event says so
    assert zae.list_resources_with_defaults() == ["gpt-4"]
    assert api_call("GET", "/resources", query="consistent=true")["json"] == {
        "resources": ["gpt-4"]
    }
    (created,) = healing.events
    assert (created.resource, created.writer, created.before) == ("gpt-4", "other", None)
    assert created.after is not None and created.after[0]["capacity"] == 100

    # Given zae-limiter's delete, stopped after it deleted the config item
    interrupted(zae, "delete_resource_defaults", resource="gpt-4")
    assert zae.list_resources_with_defaults() == ["gpt-4"]
    # When the healer reads the stream
    healing.heal()
    # Then the name is gone, and the event says the defaults went
    assert zae.list_resources_with_defaults() == []
    deleted = healing.events[-1]
    assert (deleted.writer, deleted.after) == ("other", None)
    assert len(healing.events) == 2


def test_the_services_change_reaches_zae_limiter_and_its_event_names_the_principal(
    zae: ZaeLimiter, dynamodb_local: DynamoDBLocal
) -> None:
    healing = Healing(zae, dynamodb_local)
    assert (
        api_call("PUT", "/resources/claude-3/defaults", body={"limits": [RPM]})["statusCode"] == 200
    )

    healing.heal()

    assert zae.get_resource_defaults("claude-3")[0]["capacity"] == 100
    (event,) = healing.events
    assert event.writer == "resource-registry"
    assert event.principal is not None
    assert event.audit_event_id is not None
