"""The table the stack creates when no existing table is named."""

from __future__ import annotations

import pytest
from aws_cdk import Token

from resource_registry import schema
from tests.infra.conftest import Synthesized, synthesize


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(tmp_path_factory.mktemp("cdk.out"))


def test_one_table_with_the_schema_keys(synthesized: Synthesized) -> None:
    (table,) = synthesized.of_type("AWS::DynamoDB::Table").values()
    key_definition = schema.table_key_definition()
    assert table["Properties"]["KeySchema"] == key_definition["KeySchema"]
    assert table["Properties"]["AttributeDefinitions"] == key_definition["AttributeDefinitions"]
    assert [key["AttributeName"] for key in table["Properties"]["KeySchema"]] == [
        schema.PARTITION_KEY,
        schema.SORT_KEY,
    ]


def test_table_is_on_demand_recoverable_and_protected(synthesized: Synthesized) -> None:
    (table,) = synthesized.of_type("AWS::DynamoDB::Table").values()
    properties = table["Properties"]
    assert properties["BillingMode"] == "PAY_PER_REQUEST"
    assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert properties["DeletionProtectionEnabled"] is True
    assert "ProvisionedThroughput" not in properties


def test_table_outlives_the_stack(synthesized: Synthesized) -> None:
    (table,) = synthesized.of_type("AWS::DynamoDB::Table").values()
    assert table["DeletionPolicy"] == "Retain"
    assert table["UpdateReplacePolicy"] == "Retain"


def test_table_name_is_left_to_cloudformation(synthesized: Synthesized) -> None:
    # A fixed name would stop a retained table's stack from ever being deployed again.
    (table,) = synthesized.of_type("AWS::DynamoDB::Table").values()
    assert "TableName" not in table["Properties"]


def test_stack_is_environment_agnostic(synthesized: Synthesized) -> None:
    assert Token.is_unresolved(synthesized.stack.account)
    assert Token.is_unresolved(synthesized.stack.region)


def test_audit_events_expire_on_their_ttl(synthesized: Synthesized) -> None:
    (table,) = synthesized.of_type("AWS::DynamoDB::Table").values()
    assert table["Properties"]["TimeToLiveSpecification"] == {
        "AttributeName": schema.ATTR_TTL,
        "Enabled": True,
    }


def test_table_streams_new_and_old_images_for_the_healer(synthesized: Synthesized) -> None:
    (table,) = synthesized.of_type("AWS::DynamoDB::Table").values()
    assert table["Properties"]["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
