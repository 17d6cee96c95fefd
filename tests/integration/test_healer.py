"""The healer over DynamoDB Local's real stream: whoever writes, the registry ends exact, and each
change of defaults is published once.

zae-limiter's own writes are made here as it makes them (the config PutItem, then the registry
update, which an interrupted write never makes); tests/interop/ has the released packages write.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

import boto3
import jsonschema_rs
import pytest

from devtools.dynamodb_local import ROOT, DynamoDBLocal
from devtools.layout_tables import DEFAULT_NAMESPACE_ID, create_layout_table
from devtools.stream_poller import StreamPoller
from resource_registry import json_text, schema, service
from resource_registry.change_events import (
    DETAIL_TYPE,
    MARK_RETENTION_SECONDS,
    SOURCE,
    ChangeEvent,
)
from resource_registry.healer import RegistryHealer
from tests.conftest import api_call

pytestmark = pytest.mark.integration

DEFAULTS = "/resources/{}/defaults"
RPM = {"name": "rpm", "capacity": 100, "refill_period_seconds": 60}


class Collected:
    """A publisher that keeps what it was given."""

    def __init__(self) -> None:
        self.events: list[ChangeEvent] = []

    def publish(self, events: Sequence[ChangeEvent]) -> None:
        self.events += events


class StreamedTable:
    """A zae-limiter table with its stream on, served by the handlers and healed by a poller."""

    def __init__(self, local: DynamoDBLocal, layout: str) -> None:
        self.client = local.client()
        self.name = f"{layout}-{uuid.uuid4().hex[:12]}"
        self.layout = layout
        create_layout_table(self.client, self.name, layout)  # with its stream, as zae-limiter's
        self.prefix = f"{DEFAULT_NAMESPACE_ID}/" if layout == "namespaced" else ""
        self.published = Collected()
        self.batches: list[list[dict[str, Any]]] = []
        self.streams = boto3.client(
            "dynamodbstreams",
            endpoint_url=local.endpoint,
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )
        self.healer = RegistryHealer(service.table_over(self.client, self.name), self.published)

        def handle(batch: list[dict[str, Any]]) -> list[str]:
            self.batches.append(batch)
            return self.healer.handle(batch)

        self.poller = StreamPoller(self.client, self.streams, self.name, handle, from_start=True)

    def heal(self) -> None:
        """Read the stream until it has nothing more."""
        while self.poller.poll_once():
            pass

    def zae_limiter_set(self, resource: str, capacity: int = 10, register: bool = False) -> None:
        item: dict[str, Any] = {
            **schema.config_key(resource, self.prefix),
            "resource": {"S": resource},
            "config_version": {"N": "1"},
            "l_rpm_cp": {"N": str(capacity)},
            "l_rpm_ra": {"N": str(capacity)},
            "l_rpm_rp": {"N": "60"},
        }
        if self.layout == "namespaced":
            item["GSI4PK"] = {"S": DEFAULT_NAMESPACE_ID}
            item["GSI4SK"] = {"S": schema.resource_pk(resource, self.prefix)}
        self.client.put_item(TableName=self.name, Item=item)
        if register:
            self.edit_registry("ADD", resource)

    def edit_registry(self, verb: str, resource: str) -> None:
        self.client.update_item(
            TableName=self.name,
            Key=schema.registry_key(self.prefix),
            UpdateExpression=f"{verb} resources :r",
            ExpressionAttributeValues={":r": {"SS": [resource]}},
        )

    def registry(self) -> set[str]:
        item = self.client.get_item(
            TableName=self.name, Key=schema.registry_key(self.prefix), ConsistentRead=True
        ).get("Item", {})
        return set(item.get("resources", {}).get("SS", []))

    def items(self) -> list[dict[str, Any]]:
        return self.client.scan(TableName=self.name, ConsistentRead=True)["Items"]  # type: ignore[no-any-return]


@pytest.fixture(params=["composite", "namespaced"])
def streamed(
    request: pytest.FixtureRequest, dynamodb_local: DynamoDBLocal, monkeypatch: pytest.MonkeyPatch
) -> Iterator[StreamedTable]:
    table = StreamedTable(dynamodb_local, request.param)
    monkeypatch.setenv("TABLE_NAME", table.name)
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", dynamodb_local.endpoint)
    service.reset()
    yield table
    table.client.delete_table(TableName=table.name)


def test_a_set_interrupted_before_its_registry_update_is_healed(streamed: StreamedTable) -> None:
    # Given zae-limiter's set that wrote the config item and stopped before the registry update
    streamed.zae_limiter_set("gpt-4")
    assert streamed.registry() == set()
    # When the healer reads the stream
    streamed.heal()
    # Then the name is registered, and one event says another writer set its defaults
    assert streamed.registry() == {"gpt-4"}
    (event,) = streamed.published.events
    assert (event.namespace, event.resource, event.writer) == ("default", "gpt-4", "other")
    assert event.before is None
    assert event.after is not None and event.after[0]["capacity"] == 10


def test_a_direct_delete_of_a_config_item_is_healed(streamed: StreamedTable) -> None:
    streamed.zae_limiter_set("gpt-4", register=True)
    streamed.heal()
    streamed.client.delete_item(
        TableName=streamed.name, Key=schema.config_key("gpt-4", streamed.prefix)
    )

    streamed.heal()

    assert streamed.registry() == set()
    last = streamed.published.events[-1]
    assert (last.before is not None, last.after) == (True, None)


def test_a_registry_edited_by_hand_is_healed_both_ways(streamed: StreamedTable) -> None:
    streamed.zae_limiter_set("real", register=True)
    streamed.heal()
    streamed.edit_registry("ADD", "ghost")
    streamed.edit_registry("DELETE", "real")

    streamed.heal()

    assert streamed.registry() == {"real"}


def test_the_services_own_change_is_published_with_its_principal_and_audit_event(
    streamed: StreamedTable,
) -> None:
    put = api_call("PUT", DEFAULTS.format("claude"), body={"limits": [RPM]})
    deleted = api_call("DELETE", DEFAULTS.format("claude"))
    assert (put["statusCode"], deleted["statusCode"]) == (200, 204)

    streamed.heal()

    created, removed = streamed.published.events
    assert created.writer == removed.writer == "resource-registry"
    assert created.principal == "arn:aws:iam::000000000000:user/local-developer"
    history = api_call("GET", "/resources/claude/history")["json"]["events"]
    assert [removed.audit_event_id, created.audit_event_id] == [e["event_id"] for e in history]
    assert (created.before, removed.after) == (None, None)
    assert streamed.registry() == set()


def test_a_redelivered_or_late_batch_changes_nothing_and_publishes_nothing_twice(
    streamed: StreamedTable,
) -> None:
    # Given two changes of one resource, healed and published
    streamed.zae_limiter_set("gpt-4", capacity=1)
    streamed.heal()
    streamed.zae_limiter_set("gpt-4", capacity=2)
    streamed.heal()
    published = list(streamed.published.events)
    items = streamed.items()
    # When every batch comes again, and again in reverse order (a late shard)
    for batch in [*streamed.batches, *reversed(streamed.batches)]:
        assert streamed.healer.handle(batch) == []
    # Then nothing changed and nothing more was published
    assert streamed.published.events == published
    assert len(published) == 2
    assert streamed.items() == items
    assert streamed.registry() == {"gpt-4"}


def test_the_mark_of_a_published_change_expires_once_no_record_of_it_can_come_again(
    streamed: StreamedTable,
) -> None:
    # Given a published change
    before = time.time()
    streamed.zae_limiter_set("gpt-4")
    streamed.heal()
    # Then its mark carries a TTL past the stream's 24 hours (a mark nothing else removes)
    mark = streamed.client.get_item(
        TableName=streamed.name, Key=schema.published_key("gpt-4", streamed.prefix)
    )["Item"]
    expires = int(mark[schema.ATTR_TTL]["N"])
    assert before + 24 * 3600 < expires <= time.time() + MARK_RETENTION_SECONDS


def test_a_late_record_of_a_set_never_undoes_a_newer_delete(streamed: StreamedTable) -> None:
    # Given a set and a delete, the set's record held back until after the delete is healed
    streamed.zae_limiter_set("gpt-4")
    streamed.heal()
    set_batches = list(streamed.batches)
    streamed.client.delete_item(
        TableName=streamed.name, Key=schema.config_key("gpt-4", streamed.prefix)
    )
    streamed.heal()
    # When the set's record comes again, late
    for batch in set_batches:
        streamed.healer.handle(batch)
    # Then the registry still says what the items say: no defaults
    assert streamed.registry() == set()


def test_bucket_traffic_never_reaches_the_healer(streamed: StreamedTable) -> None:
    for index in range(50):
        streamed.client.put_item(
            TableName=streamed.name,
            Item={
                "PK": {"S": f"{streamed.prefix}BUCKET#entity-{index}#gpt-4"},
                "SK": {"S": "#BUCKET#rpm"},
                "tokens_milli": {"N": str(index)},
            },
        )
    streamed.heal()
    assert streamed.poller.records_seen >= 50
    handed = [
        record["dynamodb"]["Keys"]["PK"]["S"] for batch in streamed.batches for record in batch
    ]
    # Only the table's own records (its version record, its namespaces) passed the filter
    assert not [partition for partition in handed if "BUCKET#" in partition]
    assert len(handed) < 5


def test_every_published_event_follows_the_documented_schema_and_the_example_rule(
    streamed: StreamedTable,
) -> None:
    schema_document = json.loads(
        (ROOT / "docs/events/resource-defaults-changed.schema.json").read_text()
    )
    rule = json.loads((ROOT / "docs/events/example-rule.json").read_text())
    validator = jsonschema_rs.Draft202012Validator(schema_document)
    streamed.zae_limiter_set("openai/gpt-4")
    api_call("PUT", DEFAULTS.format("claude"), body={"limits": [RPM]})
    api_call("DELETE", DEFAULTS.format("openai%2Fgpt-4"))

    streamed.heal()

    envelopes = [
        {
            "source": SOURCE,
            "detail-type": DETAIL_TYPE,
            "detail": json.loads(json_text.dumps(e.detail())),
        }
        for e in streamed.published.events
    ]
    assert len(envelopes) == 3
    for envelope in envelopes:
        validator.validate(envelope)
    # The example rule (namespace prod, other writers) matches none of these: the namespace
    # differs; with it changed to the table's namespace, it matches the other writer's event.
    matching = {**rule, "detail": {**rule["detail"], "namespace": ["default"]}}
    matched = [e for e in envelopes if matches_rule(matching, e)]
    assert [e["detail"]["writer"] for e in matched] == ["other"]
    assert not [e for e in envelopes if matches_rule(rule, e)]


def matches_rule(rule: dict[str, Any], event: dict[str, Any]) -> bool:
    """EventBridge's matching for the exact-value patterns of the example rule."""
    for field, wanted in rule.items():
        if isinstance(wanted, dict):
            if not matches_rule(wanted, event.get(field, {})):
                return False
        elif event.get(field) not in wanted:
            return False
    return True
