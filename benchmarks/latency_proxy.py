"""A loopback TCP proxy that adds a fixed delay to every round trip, as a network to AWS would.

DynamoDB Local answers over loopback, where a round trip costs nothing; in AWS each call crosses
a network. Put this proxy in front of DynamoDB Local and point a client at ``proxy.endpoint``:

    with LatencyProxy("http://localhost:8000", delay_ms=1) as proxy:
        client = boto3.client("dynamodb", endpoint_url=proxy.endpoint, ...)

Where the delay goes: a client that does not pipeline (botocore and aiohttp do not) sends a
request, waits for the whole answer, then sends the next one. So the first bytes a client sends
after the server last answered start a new round trip, however the request is split into
segments (a header block and a body in two sends, a body over several segments). The proxy holds
those first bytes for the delay before forwarding them, and forwards the rest of the request
behind them, in order, without another delay. Waiting on the request side only is the same, to a
client that waits for each answer, as half the delay each way. Keep-alive connections carry many
round trips, each delayed; the TCP handshake of a new connection is not (both clients keep theirs
open, and in AWS a new connection's TLS handshake would cost more). Counting turns rather than
parsing HTTP keeps the proxy to bytes, and it counts what costs time: a request the client sends
and then waits on. It would count an ``Expect: 100-continue`` request as two round trips, as the
network would; DynamoDB clients do not send one.

The proxy runs an asyncio loop in a thread of its own, stdlib only.
"""

from __future__ import annotations

import asyncio
import threading
import time
from types import TracebackType
from typing import Self
from urllib.parse import urlsplit

LOOPBACK = "127.0.0.1"
READ_SIZE = 64 * 1024
START_TIMEOUT_SECONDS = 5


class LatencyProxy:
    """Forwards a loopback port to ``upstream`` (``http://host:port``), delaying each round trip."""

    def __init__(self, upstream: str, delay_ms: float) -> None:
        parts = urlsplit(upstream)
        if parts.hostname is None or parts.port is None:
            raise ValueError(f"upstream must be http://host:port, not {upstream!r}")
        self.upstream = (parts.hostname, parts.port)
        self.delay_ms = delay_ms
        # Written by the proxy's thread only; read whenever (an int is read whole).
        self.round_trips = 0
        self.delayed_seconds = 0.0
        self._port: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="latency-proxy", daemon=True)

    @property
    def endpoint(self) -> str:
        if self._port is None:
            raise RuntimeError("the proxy is not started")
        return f"http://{LOOPBACK}:{self._port}"

    @property
    def mean_delay_ms(self) -> float:
        """What the proxy actually waited per round trip (a sleep overshoots by a little)."""
        return self.delayed_seconds * 1000 / self.round_trips if self.round_trips else 0.0

    def start(self) -> None:
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT_SECONDS) or self._port is None:
            raise RuntimeError(f"the latency proxy did not start: {self._failure}")

    def stop(self) -> None:
        if self._loop is not None and self._stopping is not None:
            self._loop.call_soon_threadsafe(self._stopping.set)
        self._thread.join(START_TIMEOUT_SECONDS)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _run(self) -> None:
        try:
            asyncio.run(self._serve_until_stopped())
        except BaseException as error:  # reported by start(), which is waiting for the port
            self._failure = error
            self._ready.set()

    async def _serve_until_stopped(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        server = await asyncio.start_server(self._connection, LOOPBACK, 0)
        self._port = server.sockets[0].getsockname()[1]
        self._ready.set()
        await self._stopping.wait()
        server.close()
        # Clients keep their connections open; close them rather than wait for them.
        for writer in list(self._writers):
            writer.close()

    async def _connection(
        self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter
    ) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            client_writer.close()
            return
        self._writers |= {client_writer, upstream_writer}
        answered = asyncio.Event()
        answered.set()  # the connection's first bytes start its first round trip
        try:
            await asyncio.gather(
                self._requests(client_reader, upstream_writer, answered),
                self._answers(upstream_reader, client_writer, answered),
            )
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            for writer in (client_writer, upstream_writer):
                self._writers.discard(writer)
                writer.close()

    async def _requests(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, answered: asyncio.Event
    ) -> None:
        """Client to server: the first bytes after an answer wait for the delay."""
        while data := await reader.read(READ_SIZE):
            if answered.is_set():
                answered.clear()
                self.round_trips += 1
                if self.delay_ms > 0:
                    started = time.perf_counter()
                    await asyncio.sleep(self.delay_ms / 1000)
                    self.delayed_seconds += time.perf_counter() - started
            writer.write(data)
            await writer.drain()
        _end_of_stream(writer)

    async def _answers(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, answered: asyncio.Event
    ) -> None:
        """Server to client, undelayed; marks that the client's next bytes are a new request."""
        while data := await reader.read(READ_SIZE):
            # Before the client can see the answer, so its next request finds the mark set.
            answered.set()
            writer.write(data)
            await writer.drain()
        _end_of_stream(writer)


def _end_of_stream(writer: asyncio.StreamWriter) -> None:
    """Pass a half-close on: the other direction may still be carrying an answer."""
    if writer.can_write_eof() and not writer.is_closing():
        writer.write_eof()
