"""The registry's DynamoDB table (docs/contract.md section 1), created here or imported by name."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from resource_registry import schema

_ATTRIBUTE_TYPES = {
    "S": dynamodb.AttributeType.STRING,
    "N": dynamodb.AttributeType.NUMBER,
    "B": dynamodb.AttributeType.BINARY,
}


class RegistryTable(Construct):
    """The table the functions serve: a new one, or an existing zae-limiter table by name."""

    def __init__(
        self, scope: Construct, construct_id: str, *, existing_table_name: str | None = None
    ) -> None:
        super().__init__(scope, construct_id)
        self.table: dynamodb.ITable
        if existing_table_name:
            # The table and its data belong to whoever made it: no stack of ours may replace it.
            self.table = dynamodb.Table.from_table_name(self, "Imported", existing_table_name)
            return
        keys = key_attributes()
        self.table = dynamodb.Table(
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
        )


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
