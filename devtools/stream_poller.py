"""The table's stream, read here as Lambda's event source mapping reads it in AWS: shard by shard,
in order, through the same filter (resource_registry.stream_filter), a batch at a time, resuming
at the first record a batch reports as failed. DynamoDB Local implements the Streams API.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from resource_registry.stream_filter import matches

# A batch's handler: the records, and back the sequence numbers it could not handle.
BatchHandler = Callable[[list[dict[str, Any]]], list[str]]
BATCH_SIZE = 100


class StreamNotEnabledError(RuntimeError):
    """The table has no stream: there is nothing to heal from."""


class StreamPoller:
    """Polls every shard of one table's stream and hands filtered records to ``handle``."""

    def __init__(
        self,
        dynamodb: Any,
        streams: Any,
        table_name: str,
        handle: BatchHandler,
        *,
        from_start: bool = False,
    ) -> None:
        stream_arn = dynamodb.describe_table(TableName=table_name)["Table"].get("LatestStreamArn")
        if not stream_arn:
            raise StreamNotEnabledError(f"table {table_name!r} has no stream")
        self._streams = streams
        self._stream_arn = stream_arn
        self._handle = handle
        # Where a new shard is first read from: its start, or only what comes next.
        self._first = "TRIM_HORIZON" if from_start else "LATEST"
        self._iterators: dict[str, str | None] = {}
        self.records_seen = 0
        self.records_handled = 0

    def poll_once(self) -> int:
        """Read each shard once; the number of records handed over."""
        self._discover_shards()
        handed = 0
        for shard, iterator in list(self._iterators.items()):
            if iterator is None:
                continue  # a closed shard, read to its end
            page = self._streams.get_records(ShardIterator=iterator, Limit=BATCH_SIZE)
            records = page.get("Records", [])
            self.records_seen += len(records)
            batch = [_as_lambda_gives_it(record) for record in records if matches(record)]
            failed = self._handle(batch) if batch else []
            handed += len(batch)
            self.records_handled += len(batch)
            if failed:
                # Read again from the first failure, as Lambda retries a partial batch.
                self._iterators[shard] = self._streams.get_shard_iterator(
                    StreamArn=self._stream_arn,
                    ShardId=shard,
                    ShardIteratorType="AT_SEQUENCE_NUMBER",
                    SequenceNumber=failed[0],
                )["ShardIterator"]
            else:
                self._iterators[shard] = page.get("NextShardIterator")
        return handed

    def run(self, stop: threading.Event, interval_seconds: float = 0.2) -> None:
        """Poll until ``stop`` is set."""
        while not stop.is_set():
            if not self.poll_once():
                stop.wait(interval_seconds)

    def _discover_shards(self) -> None:
        description = self._streams.describe_stream(StreamArn=self._stream_arn)
        for shard in description["StreamDescription"].get("Shards", []):
            shard_id = shard["ShardId"]
            if shard_id in self._iterators:
                continue
            # A child shard's records follow its parent's: a parent read already, or unknown
            # here (trimmed), is read from its start.
            kind = "TRIM_HORIZON" if shard.get("ParentShardId") in self._iterators else self._first
            self._iterators[shard_id] = self._streams.get_shard_iterator(
                StreamArn=self._stream_arn, ShardId=shard_id, ShardIteratorType=kind
            )["ShardIterator"]


def _as_lambda_gives_it(record: dict[str, Any]) -> dict[str, Any]:
    """A record as Lambda hands it: the creation time in epoch seconds, not a datetime."""
    change = dict(record["dynamodb"])
    created = change.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        change["ApproximateCreationDateTime"] = created.timestamp()
    return {**record, "dynamodb": change}
