"""Test support for the client and the command: a scripted HTTP stub, and the real local server
(fixtures, made available to tests/client by its conftest)."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from devtools.dynamodb_local import DynamoDBLocal
from devtools.layout_tables import add_namespace, create_layout_table
from devtools.local_server import LocalApiServer
from resource_registry import service
from tests.conftest import Table

EMPTY = json.dumps({"namespaces": [], "resources": []}).encode()
HANG_UP = 0  # a scripted "status": no answer at all


@dataclass
class Received:
    """A request as it arrived on the wire: the path still percent-encoded."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class StubApi:
    """Answers each request with the next scripted answer (when none is left, 200 with empty
    lists of namespaces and resources) and records what it received."""

    url: str = ""
    answers: list[tuple[int, dict[str, str], bytes]] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)

    def answer(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode() if body else b""
        self.answers.append((status, headers or {}, raw))

    def hang_up(self) -> None:
        """Take the next request and close the connection without an answer (a lost answer)."""
        self.answers.append((HANG_UP, {}, b""))


@pytest.fixture
def stub_api() -> Iterator[StubApi]:
    stub = StubApi()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            stub.received.append(Received(self.command, self.path, dict(self.headers), body))
            status, headers, raw = stub.answers.pop(0) if stub.answers else (200, {}, EMPTY)
            if status == HANG_UP:
                self.close_connection = True
                return
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def do_GET(self) -> None:
            self._serve()

        def do_PUT(self) -> None:
            self._serve()

        def do_DELETE(self) -> None:
            self._serve()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    stub.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield stub
    server.shutdown()
    server.server_close()


@pytest.fixture
def api_url(local_table: Table) -> Iterator[str]:
    """The local server (the API's own handlers) over a fresh DynamoDB Local table."""
    yield from _serving()


@pytest.fixture
def namespaced_api_url(
    dynamodb_local: DynamoDBLocal, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """The local server over a table laid out as zae-limiter 0.17 lays it out, with the
    namespaces ``default`` and ``prod``."""
    client = dynamodb_local.client()
    name = f"namespaced-{uuid.uuid4().hex[:12]}"
    create_layout_table(client, name, "namespaced")
    add_namespace(client, name, "prod", "pRoD0000001")
    monkeypatch.setenv("TABLE_NAME", name)
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", dynamodb_local.endpoint)
    service.reset()
    yield from _serving()


def _serving() -> Iterator[str]:
    api = LocalApiServer(0, quiet=True)
    thread = threading.Thread(target=api.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield api.url
    api.shutdown()
    api.server_close()
