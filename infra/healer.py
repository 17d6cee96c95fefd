"""The registry healer in AWS: the table's stream into the healer function through the one filter
(resource_registry.stream_filter), the bus its change events go to, and a dead-letter queue for
the records it gives up on (docs/contract.md section 5).

`cdk deploy -c eventBus=default` publishes on the account's default bus instead of the stack's own.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.context import ContextError
from infra.functions import RegistryFunctions
from infra.nag import acknowledge
from resource_registry.stream_filter import FILTER_PATTERN

EVENT_BUS_CONTEXT = "eventBus"
DEFAULT_BUS = "default"  # the account's default event bus, by its name
# LATEST: the stack's own table has no record older than its mapping; on an existing table the
# stream's older records (up to 24 hours) predate the service, and the backfill run after the
# first deploy (docs/deploy.md) repairs what they left. TRIM_HORIZON would publish change events
# for them hours late, and send those older than MAX_RECORD_AGE straight to the dead letters.
STARTING_POSITION = lambda_.StartingPosition.LATEST
# Changes of defaults are rare next to bucket traffic (which the filter keeps out): a batch is
# whatever has arrived, with no wait, so a change heals within seconds.
BATCH_SIZE = 100
MAX_BATCHING_WINDOW = Duration.seconds(0)
# A record that keeps failing is retried this often (halving its batch each time, so that the
# records before it are handled), then its position goes to the dead letters and the shard moves
# on; the registry it left wrong is verify's to find.
RETRY_ATTEMPTS = 10
# However the healer fails or lags, no record holds its shard back longer than this.
MAX_RECORD_AGE = Duration.hours(1)
# SQS's longest: time to read what was given up on and repair it by hand.
DEAD_LETTER_RETENTION = Duration.days(14)


def use_default_bus(scope: Construct) -> bool:
    """The ``eventBus`` context value, checked: True for the account's default bus, False (no
    value) for the stack's own bus."""
    value = scope.node.try_get_context(EVENT_BUS_CONTEXT)
    if value is None or value == "":
        return False
    if value != DEFAULT_BUS:
        raise ContextError(
            f"context {EVENT_BUS_CONTEXT}={value!r} is not a bus the stack can publish on: "
            f"use {DEFAULT_BUS!r} for the account's default bus, or leave it out for the "
            "stack's own"
        )
    return True


class StreamHealer(Construct):
    """The healer function fed by ``stream_arn`` through the stream filter, its bus (its own, or
    the account's default), and its dead-letter queue."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        functions: RegistryFunctions,
        stream_arn: str,
        default_bus: bool = False,
    ) -> None:
        super().__init__(scope, construct_id)
        self.bus: events.IEventBus = (
            events.EventBus.from_event_bus_name(self, "DefaultBus", DEFAULT_BUS)
            if default_bus
            else events.EventBus(
                self, "Bus", description="Resource registry: a change of a resource's defaults"
            )
        )
        self.dead_letters = sqs.Queue(
            self,
            "DeadLetters",
            # SQS-managed keys: Lambda's mapping needs no KMS permission to send.
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=DEAD_LETTER_RETENTION,
        )
        acknowledge(
            self.dead_letters,
            "AwsSolutions-SQS3",
            "This queue is itself a dead-letter destination: the healer's stream mapping sends "
            "the positions of records it gave up on here (cdk-nag recognises only queues' and "
            "functions' dead-letter settings), and a dead-letter queue needs none of its own",
        )
        self.function = functions.add_healer(
            stream_arn=stream_arn, bus=self.bus, dead_letters=self.dead_letters
        )
        self.mapping = lambda_.EventSourceMapping(
            self,
            "Stream",
            target=self.function,
            event_source_arn=stream_arn,
            starting_position=STARTING_POSITION,
            batch_size=BATCH_SIZE,
            max_batching_window=MAX_BATCHING_WINDOW,
            filters=[lambda_.FilterCriteria.filter(FILTER_PATTERN)],
            # The handler reports the first record it could not handle; the mapping gives that
            # record and those after it again, in order.
            report_batch_item_failures=True,
            bisect_batch_on_error=True,
            retry_attempts=RETRY_ATTEMPTS,
            max_record_age=MAX_RECORD_AGE,
            on_failure=event_sources.SqsDlq(self.dead_letters),
        )
