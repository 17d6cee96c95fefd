"""Security of the HTTP edge: loopback only, no leaks in error answers, every change attributed."""

from __future__ import annotations

import contextlib
import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from devtools.local_server import LOCAL_CALLER_ARN, LOOPBACK, LocalApiServer
from resource_registry import service
from resource_registry.store import RegistryStore
from tests.conftest import Table
from tests.reliability.conftest import send

pytestmark = pytest.mark.integration

JSON_TYPE = {"Content-Type": "application/json"}
BODY = json.dumps({"limits": [{"name": "rpm", "capacity": 100, "refill_period_seconds": 60}]})
ACCOUNT = "123456789012"
SECRET = f"secret table xyz in arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/prod-registry"


def non_loopback_addresses() -> set[str]:
    """This machine's IPv4 addresses other than loopback (none on an isolated machine)."""
    addresses: set[str] = set()
    with contextlib.suppress(OSError):
        for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET):
            addresses.add(str(info[4][0]))
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("192.0.2.1", 9))  # a documentation address: UDP connect sends nothing
        addresses.add(probe.getsockname()[0])
    return {address for address in addresses if not address.startswith("127.")}


def reachable(address: str, port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(2)
        return probe.connect_ex((address, port)) == 0


def test_the_local_server_binds_loopback_only(api_server: LocalApiServer) -> None:
    address, port = api_server.server_address[:2]
    assert (address, LOOPBACK) == ("127.0.0.1", "127.0.0.1")
    assert reachable("127.0.0.1", port)
    # All of 127/8 is loopback on Linux: a wildcard bind would answer on 127.0.0.2 too.
    assert not reachable("127.0.0.2", port)


def test_the_local_server_cannot_be_reached_on_the_machines_other_addresses(
    api_server: LocalApiServer,
) -> None:
    others = non_loopback_addresses()
    if not others:
        pytest.skip("this machine has no address besides loopback")
    port = api_server.server_address[1]
    assert {address for address in others if reachable(address, port)} == set()


@pytest.fixture
def failing_store(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every store operation fails unexpectedly with a message full of secrets."""

    def explode(*_: Any, **__: Any) -> Any:
        raise RuntimeError(SECRET)

    for name in ("list_resources", "get_defaults", "set_defaults", "delete_defaults"):
        monkeypatch.setattr(RegistryStore, name, explode)


REQUESTS = [
    ("GET", "/resources", None),
    ("GET", "/resources/gpt-4/defaults", None),
    ("PUT", "/resources/gpt-4/defaults", BODY),
    ("DELETE", "/resources/gpt-4/defaults", None),
]


def assert_no_leak(raw: bytes, headers: dict[str, str], *secrets: str) -> None:
    text = raw.decode() + json.dumps(headers)
    for secret in ("Traceback", "RuntimeError", 'File "', "arn:aws", ACCOUNT, *secrets):
        assert secret not in text, f"{secret!r} leaked: {text[:300]}"


@pytest.mark.usefixtures("failing_store")
@pytest.mark.parametrize(("method", "path", "body"), REQUESTS)
def test_an_unexpected_error_is_a_500_that_leaks_nothing(
    api_server: LocalApiServer,
    local_table: Table,
    method: str,
    path: str,
    body: str | None,
) -> None:
    answer = send(api_server, method, path, body, JSON_TYPE if body else {})
    assert answer.status == 500
    assert answer.json["code"] == "InternalError"
    assert "request id" in answer.json["message"]
    assert_no_leak(answer.raw, answer.headers, "secret", "xyz", "prod-registry", local_table.name)


@pytest.fixture
def missing_table(local_table: Table, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The handlers pointed at a table that does not exist: DynamoDB's own error names it."""
    name = "secret-missing-table-xyz"
    monkeypatch.setenv("TABLE_NAME", name)
    service.reset()
    yield name
    service.reset()


@pytest.mark.parametrize(("method", "path", "body"), REQUESTS)
def test_a_dynamodb_error_naming_the_table_does_not_reach_the_client(
    api_server: LocalApiServer, missing_table: str, method: str, path: str, body: str | None
) -> None:
    answer = send(api_server, method, path, body, JSON_TYPE if body else {})
    assert answer.status == 500
    assert_no_leak(answer.raw, answer.headers, missing_table, "non-existent", "ResourceNotFound")


def test_every_change_logs_who_asked_for_it_and_reads_do_not(
    api_server: LocalApiServer, local_table: Table, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO")
    changes = [
        ("PUT", "/resources/gpt-4/defaults", BODY, 200),
        ("PUT", "/resources/claude-3/defaults", BODY, 200),
        ("DELETE", "/resources/gpt-4/defaults", None, 204),
        ("DELETE", "/resources/gpt-4/defaults", None, 404),  # asked for, found nothing to delete
    ]
    for method, path, body, status in changes:
        assert send(api_server, method, path, body, JSON_TYPE if body else {}).status == status
        send(api_server, "GET", path)
        send(api_server, "GET", "/resources")

    records = [record for record in caplog.records if hasattr(record, "caller")]
    attributed = [
        (record.getMessage(), record.resource, record.caller, record.source_ip)  # type: ignore[attr-defined]
        for record in records
    ]
    assert attributed == [
        ("set defaults", "gpt-4", LOCAL_CALLER_ARN, "127.0.0.1"),
        ("set defaults", "claude-3", LOCAL_CALLER_ARN, "127.0.0.1"),
        ("delete defaults", "gpt-4", LOCAL_CALLER_ARN, "127.0.0.1"),
        ("delete defaults", "gpt-4", LOCAL_CALLER_ARN, "127.0.0.1"),
    ]
    request_ids = {record.request_id for record in records}  # type: ignore[attr-defined]
    assert len(request_ids) == len(changes) and "unknown" not in request_ids
