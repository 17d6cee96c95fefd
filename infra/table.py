"""The registry's DynamoDB table (docs/contract.md section 1), created here or imported by name,
and its stream, which feeds the healer (infra/healer.py)."""

from __future__ import annotations

import re

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from infra.context import ContextError
from resource_registry import schema

# `cdk deploy -c existingTableName=... -c existingTableStreamArn=...`: the stream of a table the
# stack does not own, which it cannot enable nor look up (synth is offline).
EXISTING_TABLE_STREAM_CONTEXT = "existingTableStreamArn"
# A table's stream: arn:{partition}:dynamodb:{region}:{account}:table/{table}/stream/{label}.
STREAM_ARN_PATTERN = re.compile(
    r"arn:aws[a-z-]*:dynamodb:[a-z0-9-]+:\d{12}:table/(?P<table>[A-Za-z0-9_.-]{3,255})"
    r"/stream/[A-Za-z0-9:._-]+"
)

_ATTRIBUTE_TYPES = {
    "S": dynamodb.AttributeType.STRING,
    "N": dynamodb.AttributeType.NUMBER,
    "B": dynamodb.AttributeType.BINARY,
}


class RegistryTable(Construct):
    """The table the functions serve and its stream: a new one, or an existing zae-limiter table
    by name with the ARN of its stream."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        existing_table_name: str | None = None,
        existing_stream_arn: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.table: dynamodb.ITable
        self.stream_arn: str
        if existing_table_name:
            if not existing_stream_arn:
                raise ValueError(stream_needed(existing_table_name))
            # The table and its data belong to whoever made it: no stack of ours may replace it.
            self.table = dynamodb.Table.from_table_attributes(
                self,
                "Imported",
                table_name=existing_table_name,
                table_stream_arn=existing_stream_arn,
            )
            self.stream_arn = existing_stream_arn
            return
        keys = key_attributes()
        table = dynamodb.Table(
            self,
            "Table",
            partition_key=keys["HASH"],
            sort_key=keys["RANGE"],
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            deletion_protection=True,
            # Audit events carry their expiry (the retention days), as zae-limiter writes them.
            time_to_live_attribute=schema.ATTR_TTL,
            # zae-limiter shares the table: deleting the stack must never delete its data.
            removal_policy=RemovalPolicy.RETAIN,
            # The healer's input, as zae-limiter's create_table makes it (its aggregator reads it).
            stream=dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
        )
        assert table.table_stream_arn is not None  # a table made with a stream has its ARN
        self.table, self.stream_arn = table, table.table_stream_arn


def key_attributes() -> dict[str, dynamodb.Attribute]:
    """The table's key attributes by key type (HASH, RANGE), from the schema's key definition."""
    definition = schema.table_key_definition()
    types = {
        attribute["AttributeName"]: attribute["AttributeType"]
        for attribute in definition["AttributeDefinitions"]
    }
    return {
        key["KeyType"]: dynamodb.Attribute(
            name=key["AttributeName"], type=_ATTRIBUTE_TYPES[types[key["AttributeName"]]]
        )
        for key in definition["KeySchema"]
    }


def existing_table_stream_arn(scope: Construct, existing_table_name: str | None) -> str | None:
    """The ``existingTableStreamArn`` context value, checked against the existing table's name
    (required with it); None for the stack's own table."""
    value = scope.node.try_get_context(EXISTING_TABLE_STREAM_CONTEXT)
    # "None" is what `aws dynamodb describe-table ... --output text` prints for a table without one.
    if value is None or value in {"", "None"}:
        if existing_table_name:
            raise ContextError(stream_needed(existing_table_name))
        return None
    if not existing_table_name:
        raise ContextError(
            f"context {EXISTING_TABLE_STREAM_CONTEXT} names the stream of an existing table: "
            "pass it with existingTableName, or leave it out (the stack's own table has a stream)"
        )
    match = STREAM_ARN_PATTERN.fullmatch(value) if isinstance(value, str) else None
    if match is None or match["table"] != existing_table_name:
        raise ContextError(
            f"context {EXISTING_TABLE_STREAM_CONTEXT}={value!r} is not a stream of table "
            f"{existing_table_name!r}: pass what `{_latest_stream_arn(existing_table_name)}` "
            "prints"
        )
    return match.string


def stream_needed(table_name: str) -> str:
    """Why an existing table needs its stream's ARN, and how to give it, in one line."""
    return (
        f"context {EXISTING_TABLE_STREAM_CONTEXT} is needed for existing table {table_name!r}: "
        "the healer reads its stream, which the stack cannot enable on a table it does not own; "
        f"if it has none, run `aws dynamodb update-table --table-name {table_name} "
        "--stream-specification StreamEnabled=true,StreamViewType=NEW_AND_OLD_IMAGES`, then pass "
        f"-c {EXISTING_TABLE_STREAM_CONTEXT}=ARN with the ARN that "
        f"`{_latest_stream_arn(table_name)}` prints"
    )


def _latest_stream_arn(table_name: str) -> str:
    return (
        f"aws dynamodb describe-table --table-name {table_name} "
        "--query Table.LatestStreamArn --output text"
    )
