"""The registry healer on a laptop: `make run` runs it over DynamoDB Local's stream, through the
same filter and code as the stack's function, and writes each change event it would publish on
EventBridge, as one JSON line, to .local/events.jsonl (and one line to the console)."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from devtools.stream_poller import StreamNotEnabledError, StreamPoller
from resource_registry import json_text, service
from resource_registry.change_events import DETAIL_TYPE, SOURCE, ChangeEvent
from resource_registry.dynamodb import describe_botocore_error
from resource_registry.healer import RegistryHealer

EVENTS_VARIABLE = "EVENTS_FILE"
DEFAULT_EVENTS_FILE = Path(".local") / "events.jsonl"


def events_file() -> Path:
    """Where the change events go: EVENTS_FILE, else .local/events.jsonl."""
    return Path(os.environ.get(EVENTS_VARIABLE) or DEFAULT_EVENTS_FILE)


class JsonLinesPublisher:
    """Appends each event to a file as EventBridge would deliver it, and says so on a console."""

    def __init__(self, path: Path, console: TextIO) -> None:
        self._path = path
        self._console = console
        path.parent.mkdir(parents=True, exist_ok=True)

    def publish(self, events: Sequence[ChangeEvent]) -> None:
        with self._path.open("a", encoding="utf-8") as lines:
            for event in events:
                envelope = {"source": SOURCE, "detail-type": DETAIL_TYPE, "detail": event.detail()}
                lines.write(json_text.dumps(envelope) + "\n")
        for event in events:
            before = "none" if event.before is None else f"{len(event.before)} limit(s)"
            after = "none" if event.after is None else f"{len(event.after)} limit(s)"
            print(
                f"change event: {event.namespace}/{event.resource} {before} -> {after}, "
                f"by {event.principal or event.writer} ({self._path})",
                file=self._console,
                flush=True,
            )


class LocalHealer:
    """The healer over one table's stream, in a thread until stopped."""

    def __init__(self, client: Any, name: str, console: TextIO, events: Path) -> None:
        streams = boto3.client(
            "dynamodbstreams",
            endpoint_url=client.meta.endpoint_url,
            region_name=client.meta.region_name,
        )
        healer = RegistryHealer(
            service.table_over(client, name), JsonLinesPublisher(events, console)
        )
        # Changes from now on: records older than this run's start are healed by make backfill.
        self._poller = StreamPoller(client, streams, name, healer.handle)
        self._stop = threading.Event()
        self._console = console
        self._thread = threading.Thread(target=self._run, daemon=True)

    @classmethod
    def start(cls, client: Any, name: str, console: TextIO) -> tuple[LocalHealer | None, str]:
        """The running healer and a line for the console; no healer, and why, for a table
        without a stream."""
        events = events_file()
        try:
            healer = cls(client, name, console, events)
        except StreamNotEnabledError:
            return None, (
                f"healer: off, table {name} has no stream (enable it with aws dynamodb "
                f"update-table --table-name {name} --stream-specification "
                "StreamEnabled=true,StreamViewType=NEW_AND_OLD_IMAGES)"
            )
        healer._thread.start()
        return healer, f"healer: on, change events to {events}"

    def _run(self) -> None:
        try:
            self._poller.run(self._stop)
        except (BotoCoreError, ClientError) as error:
            # One line, not a thread's traceback: when DynamoDB Local dies, make run says so.
            reason = describe_botocore_error(error) if isinstance(error, BotoCoreError) else error
            print(f"healer: stopped, {reason}", file=self._console, flush=True)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
