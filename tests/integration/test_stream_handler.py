"""handle_stream.handler as Lambda's event source mapping invokes it: DynamoDB Local's stream read
through the one filter, a batch at a time, each batch as a Lambda event, resumed at the record the
handler reports; EventBridge is a local endpoint that records each PutEvents.

Every DynamoDB request the handler makes is judged against the healer's role in the synthesized
stack (tests/iam_fidelity.py), on every layout.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest

from devtools.dynamodb_local import DynamoDBLocal
from devtools.layout_tables import DEFAULT_NAMESPACE_ID, create_layout_table
from devtools.local_server import LocalContext
from devtools.stream_poller import StreamPoller
from handlers import handle_stream, routes
from resource_registry import schema
from resource_registry.change_events import DETAIL_TYPE, EVENT_BUS_VARIABLE, SOURCE
from tests.conftest import api_call

pytestmark = pytest.mark.integration

BUS = "registry-changes"
RPM = {"name": "rpm", "capacity": 100, "refill_period_seconds": 60}


class FakeEventBridge(ThreadingHTTPServer):
    """An EventBridge endpoint on localhost: keeps the entries of each PutEvents it accepts, and
    refuses (FailedEntryCount) as many calls as ``refusals`` says first."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _PutEventsHandler)
        self.accepted: list[dict[str, Any]] = []
        self.targets: list[str] = []
        self.refusals = 0

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _PutEventsHandler(BaseHTTPRequestHandler):
    server: FakeEventBridge

    def do_POST(self) -> None:
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.targets.append(self.headers["X-Amz-Target"])
        entries = request["Entries"]
        if self.server.refusals:
            self.server.refusals -= 1
            answer = {
                "FailedEntryCount": len(entries),
                "Entries": [{"ErrorCode": "InternalFailure", "ErrorMessage": "try again"}]
                * len(entries),
            }
        else:
            self.server.accepted += entries
            answer = {
                "FailedEntryCount": 0,
                "Entries": [{"EventId": str(uuid.uuid4())} for _ in entries],
            }
        body = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: Any) -> None:
        return  # quiet: the test reads what it recorded


@pytest.fixture
def eventbridge(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeEventBridge]:
    server = FakeEventBridge()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    # botocore's per-service endpoint setting, as AWS_ENDPOINT_URL_DYNAMODB is for DynamoDB.
    monkeypatch.setenv("AWS_ENDPOINT_URL_EVENTBRIDGE", server.endpoint)
    monkeypatch.setenv(EVENT_BUS_VARIABLE, BUS)
    handle_stream.healer.cache_clear()
    yield server
    handle_stream.healer.cache_clear()
    server.shutdown()
    server.server_close()
    thread.join()


class StreamedTable:
    """A zae-limiter table of one layout with its stream on, its stream polled into the handler
    as Lambda's mapping would invoke it."""

    def __init__(self, local: DynamoDBLocal, layout: str) -> None:
        self.client = local.client()
        self.name = f"stream-{layout}-{uuid.uuid4().hex[:12]}"
        self.layout = layout
        create_layout_table(self.client, self.name, layout)  # with its stream, as zae-limiter's
        self.prefix = f"{DEFAULT_NAMESPACE_ID}/" if layout == "namespaced" else ""
        self.reported: list[list[str]] = []
        streams = boto3.client(
            "dynamodbstreams",
            endpoint_url=local.endpoint,
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )
        self.poller = StreamPoller(self.client, streams, self.name, self.invoke, from_start=True)

    def invoke(self, batch: list[dict[str, Any]]) -> list[str]:
        """One invocation of the healer function with a batch, as Lambda makes it."""
        context = LocalContext(routes.HEALER_FUNCTION_ID, f"stream-{uuid.uuid4().hex[:8]}")
        response = handle_stream.handler({"Records": batch}, context)
        failed = [failure["itemIdentifier"] for failure in response["batchItemFailures"]]
        self.reported.append(failed)
        return failed

    def drain(self) -> None:
        """Poll until the stream has nothing more for the healer."""
        while self.poller.poll_once():
            pass

    def foreign_set(self, resource: str) -> None:
        """zae-limiter's set of defaults, stopped before its registry update."""
        if self.layout == "flat":
            item = {
                **schema.limit_key(resource, "rpm", self.prefix),
                "resource": {"S": resource},
                "limit_name": {"S": "rpm"},
                "capacity": {"N": "10"},
                "burst": {"N": "10"},
                "refill_amount": {"N": "10"},
                "refill_period_seconds": {"N": "60"},
                "config_version": {"N": "1"},
            }
        else:
            item = {
                **schema.config_key(resource, self.prefix),
                "resource": {"S": resource},
                "config_version": {"N": "1"},
                "l_rpm_cp": {"N": "10"},
                "l_rpm_ra": {"N": "10"},
                "l_rpm_rp": {"N": "60"},
            }
            if self.layout == "namespaced":
                item["GSI4PK"] = {"S": DEFAULT_NAMESPACE_ID}
                item["GSI4SK"] = {"S": schema.resource_pk(resource, self.prefix)}
        self.client.put_item(TableName=self.name, Item=item)

    def registry(self) -> set[str]:
        item = self.client.get_item(
            TableName=self.name, Key=schema.registry_key(self.prefix), ConsistentRead=True
        ).get("Item", {})
        return set(item.get(schema.ATTR_RESOURCES, {}).get("SS", []))


@pytest.fixture(params=["flat", "composite", "namespaced"])
def streamed(
    request: pytest.FixtureRequest,
    dynamodb_local: DynamoDBLocal,
    monkeypatch: pytest.MonkeyPatch,
    eventbridge: FakeEventBridge,
) -> Iterator[StreamedTable]:
    table = StreamedTable(dynamodb_local, request.param)
    monkeypatch.setenv("TABLE_NAME", table.name)
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", dynamodb_local.endpoint)
    yield table
    table.client.delete_table(TableName=table.name)


def details(eventbridge: FakeEventBridge) -> list[dict[str, Any]]:
    """The detail of each event EventBridge took, after checking its envelope."""
    for entry in eventbridge.accepted:
        assert (entry["Source"], entry["DetailType"], entry["EventBusName"]) == (
            SOURCE,
            DETAIL_TYPE,
            BUS,
        )
    assert set(eventbridge.targets) <= {"AWSEvents.PutEvents"}
    return [json.loads(entry["Detail"]) for entry in eventbridge.accepted]


def test_a_foreign_write_is_healed_and_published_on_the_bus(
    streamed: StreamedTable, eventbridge: FakeEventBridge
) -> None:
    # Given zae-limiter's set that wrote the limits and stopped before the registry update
    streamed.foreign_set("openai/gpt-4")
    assert streamed.registry() == set()
    # When the stream invokes the healer function
    streamed.drain()
    # Then every batch succeeded, the name is registered
    assert streamed.reported and not any(streamed.reported)
    assert streamed.registry() == {"openai/gpt-4"}
    if streamed.layout == "flat":
        # one record shows one limit item of several: no change event on this layout
        assert eventbridge.accepted == []
        return
    # and one event on the configured bus says another writer set the defaults
    (detail,) = details(eventbridge)
    assert (detail["namespace"], detail["resource"], detail["writer"]) == (
        "default",
        "openai/gpt-4",
        "other",
    )
    assert (detail["before"], detail["principal"], detail["audit_event_id"]) == (None, None, None)
    assert [limit["capacity"] for limit in detail["after"]] == [10]


def test_the_services_own_write_is_published_with_its_audit_event(
    streamed: StreamedTable, eventbridge: FakeEventBridge
) -> None:
    # Given a set made through the API, which registers the name in the same transaction
    put = api_call("PUT", "/resources/claude/defaults", body={"limits": [RPM]})
    assert put["statusCode"] == 200
    # When the stream invokes the healer function
    streamed.drain()
    # Then nothing needed healing, and the event names the service, its principal and audit event
    assert not any(streamed.reported)
    assert streamed.registry() == {"claude"}
    if streamed.layout == "flat":
        assert eventbridge.accepted == []
        return
    (detail,) = details(eventbridge)
    history = api_call("GET", "/resources/claude/history")["json"]["events"]
    assert detail["writer"] == "resource-registry"
    assert detail["audit_event_id"] == history[0]["event_id"]
    assert detail["principal"] == history[0]["principal"]


def test_a_foreign_delete_is_healed_and_published_on_the_bus(
    streamed: StreamedTable, eventbridge: FakeEventBridge
) -> None:
    # Given defaults set through the API, then deleted by another writer, its registry untouched
    api_call("PUT", "/resources/claude/defaults", body={"limits": [RPM]})
    for item in streamed.client.scan(TableName=streamed.name, ConsistentRead=True)["Items"]:
        if item[schema.PARTITION_KEY]["S"] == schema.resource_pk("claude", streamed.prefix):
            key = {name: item[name] for name in (schema.PARTITION_KEY, schema.SORT_KEY)}
            if streamed.layout == "flat" and key[schema.SORT_KEY]["S"] == schema.VERSION_SORT_KEY:
                continue  # zae-limiter 0.6 deletes its limit items; the version item is ours
            streamed.client.delete_item(TableName=streamed.name, Key=key)
    assert streamed.registry() == {"claude"}
    # When the stream invokes the healer function
    streamed.drain()
    # Then the name is removed, and the last event says another writer removed the defaults
    assert not any(streamed.reported)
    assert streamed.registry() == set()
    if streamed.layout == "flat":
        assert eventbridge.accepted == []
        return
    *_, removed = details(eventbridge)
    assert (removed["resource"], removed["after"], removed["writer"]) == ("claude", None, "other")


# The flat layout publishes no change events.
@pytest.mark.parametrize("streamed", ["composite", "namespaced"], indirect=True)
def test_an_event_eventbridge_refuses_is_reported_and_published_when_given_again(
    streamed: StreamedTable, eventbridge: FakeEventBridge
) -> None:
    # Given EventBridge refuses the first PutEvents
    eventbridge.refusals = 1
    streamed.foreign_set("llama3:8b")
    # When the stream invokes the healer, and gives the reported record again
    streamed.drain()
    # Then the first invocation reported the record, the second published its one event
    first, *later = streamed.reported
    assert len(first) == 1 and not any(later)
    assert eventbridge.targets == ["AWSEvents.PutEvents"] * 2
    assert [detail["resource"] for detail in details(eventbridge)] == ["llama3:8b"]
    assert streamed.registry() == {"llama3:8b"}
