"""The registry healer, invoked by the table's stream (filtered: stream_filter.FILTER_PATTERN).

It reports the first record it could not handle (ReportBatchItemFailures): the stream gives that
record and those after it again, in order; records that keep failing go to the dead-letter queue.
"""

from __future__ import annotations

import os
from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools.utilities.typing import LambdaContext

from resource_registry import service
from resource_registry.change_events import EVENT_BUS_VARIABLE, EventBridgePublisher
from resource_registry.clients import MissingSettingError
from resource_registry.healer import RegistryHealer
from resource_registry.observability import logger, metrics, tracer


@cache
def healer() -> RegistryHealer:
    """The process's healer, publishing on the configured bus."""
    bus = os.environ.get(EVENT_BUS_VARIABLE)
    if not bus:
        raise MissingSettingError(f"{EVENT_BUS_VARIABLE} is not set: set it to the event bus")
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    events = boto3.client("events", region_name=region)
    return RegistryHealer(service.table(), EventBridgePublisher(events, bus))


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    failures = healer().handle(event.get("Records", []))
    return {"batchItemFailures": [{"itemIdentifier": sequence} for sequence in failures]}
