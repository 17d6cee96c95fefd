"""The benchmarks' latency proxy: bytes pass intact, and each round trip waits its delay once.

A small HTTP/1.1 echo server stands in for DynamoDB Local; clients keep their connection alive,
as botocore and aiohttp do.
"""

from __future__ import annotations

import http.client
import os
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from benchmarks.latency_proxy import LatencyProxy

DELAY_MS = 40


class _Echo(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: many requests on one connection
    disable_nagle_algorithm = True  # its answer's head and body go out at once, as a server's do
    connections: ClassVar[set[tuple[str, int]]] = set()

    def do_POST(self) -> None:
        self.connections.add(self.client_address)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def echo_server() -> Iterator[str]:
    _Echo.connections = set()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _port(endpoint: str) -> int:
    return int(endpoint.rsplit(":", 1)[1])


def _post(connection: http.client.HTTPConnection, body: bytes) -> tuple[bytes, float]:
    started = time.perf_counter()
    connection.request("POST", "/", body=body, headers={"Content-Length": str(len(body))})
    answer = connection.getresponse().read()
    return answer, (time.perf_counter() - started) * 1000


def test_bytes_pass_intact_and_each_request_is_one_round_trip(echo_server: str) -> None:
    # Given a proxy with a delay, and one keep-alive connection through it
    bodies = [b"", os.urandom(100), os.urandom(3 * 1024 * 1024)]  # the last spans many reads
    with LatencyProxy(echo_server, delay_ms=DELAY_MS) as proxy:
        connection = http.client.HTTPConnection("127.0.0.1", _port(proxy.endpoint), timeout=10)
        # When three requests go over it
        answers = [_post(connection, body) for body in bodies]
        connection.close()
        # Then each came back as sent, each waited at least the delay, and each counts once
        assert [answer for answer, _ in answers] == bodies
        assert all(elapsed >= DELAY_MS for _, elapsed in answers)
        assert proxy.round_trips == len(bodies)
        assert proxy.mean_delay_ms >= DELAY_MS
    assert len(_Echo.connections) == 1  # one upstream connection carried all three


def test_a_request_sent_in_pieces_is_delayed_once(echo_server: str) -> None:
    # Given a request whose head and body leave the client 30 ms apart
    body = b'{"TableName": "t"}'
    head = f"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n\r\n".encode()
    with LatencyProxy(echo_server, delay_ms=DELAY_MS) as proxy:
        with socket.create_connection(("127.0.0.1", _port(proxy.endpoint)), timeout=10) as sock:
            for _ in range(2):
                # When it is sent in two pieces, then read back
                started = time.perf_counter()
                sock.sendall(head)
                time.sleep(0.03)
                sock.sendall(body)
                answer = b""
                while not answer.endswith(body):
                    answer += sock.recv(4096)
                elapsed = (time.perf_counter() - started) * 1000
                assert answer.startswith(b"HTTP/1.1 200")
                assert elapsed >= DELAY_MS
        # Then each request counts as one round trip, and waited one delay, not two
        assert proxy.round_trips == 2
        assert DELAY_MS <= proxy.mean_delay_ms < 2 * DELAY_MS


def test_without_a_delay_round_trips_are_counted_and_nothing_waits(echo_server: str) -> None:
    with LatencyProxy(echo_server, delay_ms=0) as proxy:
        connection = http.client.HTTPConnection("127.0.0.1", _port(proxy.endpoint), timeout=10)
        assert [_post(connection, b"x")[0] for _ in range(5)] == [b"x"] * 5
        connection.close()
        assert proxy.round_trips == 5
        assert proxy.delayed_seconds == 0


def test_an_upstream_that_is_not_a_url_is_refused() -> None:
    with pytest.raises(ValueError, match="http://host:port"):
        LatencyProxy("localhost", delay_ms=1)
