"""zae-limiter's own writers and the healer, in the race: the registry must end exact however
zae-limiter's non-atomic writes interleave with the API's.

A foreign writer writes as zae-limiter 0.8 and later do, on the same resources as the API's
writers: a whole config item in one PutItem (its limits tagged like the writers', so a mix of two
writes still shows), or a DeleteItem, and never the registry update that follows, as a write
interrupted between its calls leaves it. Only the healer, reading the table's stream, can make
the registry right again; a checkpoint lets it read the stream to its end first.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Sequence
from typing import Any

import boto3

from devtools.concurrency_harness.config import HarnessConfig, resource_pool
from devtools.concurrency_harness.fresh_table import new_client
from devtools.concurrency_harness.gate import Gate
from devtools.concurrency_harness.invariants import WriteLog
from devtools.concurrency_harness.tags import limits_for
from devtools.stream_poller import StreamPoller
from resource_registry import schema
from resource_registry.change_events import ChangeEvent
from resource_registry.healer import RegistryHealer
from resource_registry.model import Namespace
from resource_registry.table import Table

# Foreign writers' names, after every API writer's (tags_of parses "w<digits>").
FIRST_FOREIGN_WRITER = 90


class ForeignWriter:
    """One zae-limiter-like writer: interrupted sets and deletes, straight to the table."""

    def __init__(
        self, index: int, config: HarnessConfig, table: Table, namespace: Namespace, log: WriteLog
    ) -> None:
        self.name = f"w{FIRST_FOREIGN_WRITER + index}"
        self._rng = random.Random(config.seed * 7_919 + index)
        self._pool = resource_pool(config)
        self._max_limits = config.max_limits
        self._table, self._namespace, self._log = table, namespace, log
        self._nonce = 0
        self.writes = 0

    def run(self, gate: Gate, stop: threading.Event) -> None:
        while not stop.is_set():
            resource = self._rng.choice(self._pool)
            with gate.operation():
                if self._rng.random() < 0.7:
                    self._set(resource)
                else:
                    self._delete(resource)
            self.writes += 1

    def _set(self, resource: str) -> None:
        self._nonce += 1
        tag = f"{self.name}-n{self._nonce}"
        item: dict[str, Any] = {
            **schema.config_key(resource, self._namespace.prefix),
            schema.ATTR_RESOURCE: {"S": resource},
            schema.ATTR_CONFIG_VERSION: {"N": "1"},  # zae-limiter's every write
        }
        if self._namespace.namespace_id is not None:
            item[schema.GSI4_PARTITION_KEY] = {"S": self._namespace.namespace_id}
            item[schema.GSI4_SORT_KEY] = {"S": schema.resource_pk(resource, self._namespace.prefix)}
        for limit in limits_for(tag, self._rng.randint(1, self._max_limits)):
            name = str(limit["name"])
            item[schema.limit_attribute(name, schema.FIELD_CAPACITY)] = {
                "N": str(limit["capacity"])
            }
            item[schema.limit_attribute(name, schema.FIELD_REFILL_AMOUNT)] = {
                "N": str(limit["capacity"])
            }
            item[schema.limit_attribute(name, schema.FIELD_REFILL_PERIOD)] = {
                "N": str(limit["refill_period_seconds"])
            }
        # Unanswered by the API, like a 503'd set: a state the table may rightly hold.
        self._log.record_uncertain(resource, tag)
        self._table.client.put_item(TableName=self._table.name, Item=item)

    def _delete(self, resource: str) -> None:
        self._table.client.delete_item(
            TableName=self._table.name, Key=schema.config_key(resource, self._namespace.prefix)
        )


class HealerLoop:
    """The healer over the table's stream, polling until stopped; ``drain`` reads to the end."""

    def __init__(self, table: Table) -> None:
        client = new_client()
        description = client.describe_table(TableName=table.name)["Table"]
        if not description.get("StreamSpecification", {}).get("StreamEnabled"):
            client.update_table(
                TableName=table.name,
                StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
            )
        streams = boto3.client(
            "dynamodbstreams",
            endpoint_url=client.meta.endpoint_url,
            region_name=client.meta.region_name,
        )
        self.events = 0
        self.failures = 0
        healer = RegistryHealer(Table(client, table.name, table.layout), self)
        self._handle = healer.handle
        self._poller = StreamPoller(client, streams, table.name, self._counted, from_start=True)

    def publish(self, events: Sequence[ChangeEvent]) -> None:
        self.events += len(events)

    def run(self, gate: Gate, stop: threading.Event) -> None:
        pacing = threading.Event()  # never set: its wait() paces the polls
        while not stop.is_set():
            with gate.operation():
                handed = self._poller.poll_once()
            if not handed:
                pacing.wait(0.05)

    def drain(self) -> None:
        """Read the stream until a poll of every shard finds nothing more."""
        while self._poller.poll_once():
            pass

    def _counted(self, batch: list[dict[str, Any]]) -> list[str]:
        failed = self._handle(batch)
        self.failures += bool(failed)
        return failed
