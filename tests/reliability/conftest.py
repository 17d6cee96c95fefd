"""Fixtures of the reliability checks: the local HTTP server over DynamoDB Local, raw HTTP."""

from __future__ import annotations

import http.client
import json
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from devtools.dynamodb_local import DynamoDBLocal
from devtools.layout_tables import LAYOUTS, create_layout_table
from devtools.local_server import LocalApiServer
from resource_registry import service


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    headers: dict[str, str]
    raw: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.raw)


@pytest.fixture(scope="session")
def api_server() -> Iterator[LocalApiServer]:
    """The local API server on a free loopback port, serving from a thread.

    It serves whatever table the test's local_table (or moto_table) fixture configured: the
    handlers read TABLE_NAME and the endpoint when the test's first request makes their store.
    """
    server = LocalApiServer(0, quiet=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


def send(
    server: LocalApiServer,
    method: str,
    path: str,
    body: bytes | str | None = None,
    headers: dict[str, str] | None = None,
) -> HttpAnswer:
    """One raw HTTP request: the path goes on the wire exactly as given, unnormalised."""
    host, port = server.server_address[:2]
    connection = http.client.HTTPConnection(str(host), int(port), timeout=30)
    try:
        connection.putrequest(method, path, skip_accept_encoding=True)
        payload = body.encode() if isinstance(body, str) else body
        all_headers = dict(headers or {})
        if payload is not None:
            all_headers.setdefault("Content-Length", str(len(payload)))
        for name, value in all_headers.items():
            connection.putheader(name, value)
        connection.endheaders()
        if payload:
            connection.send(payload)
        response = connection.getresponse()
        return HttpAnswer(response.status, dict(response.getheaders()), response.read())
    finally:
        connection.close()


@pytest.fixture(params=LAYOUTS)
def layout_table(
    request: pytest.FixtureRequest, dynamodb_local: DynamoDBLocal, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """A fresh table of each zae-limiter layout in DynamoDB Local, as the handlers' table."""
    name = f"{request.param}-{uuid.uuid4().hex[:12]}"
    client = dynamodb_local.client()
    create_layout_table(client, name, request.param)
    monkeypatch.setenv("TABLE_NAME", name)
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", dynamodb_local.endpoint)
    service.reset()
    yield request.param
    client.delete_table(TableName=name)
