"""The key builders produce exactly docs/contract.md section 1's layout."""

from resource_registry import schema


def test_limit_item_key_is_resource_partition_and_limit_sort_key() -> None:
    assert schema.limit_key("gpt-4", "rpm") == {
        "PK": {"S": "RESOURCE#gpt-4"},
        "SK": {"S": "#LIMIT#rpm"},
    }


def test_registry_key_is_the_system_partition_and_resources_sort_key() -> None:
    assert schema.registry_key() == {"PK": {"S": "SYSTEM#"}, "SK": {"S": "#RESOURCES"}}


def test_version_item_lives_under_the_resource_and_outside_the_limit_prefix() -> None:
    key = schema.version_key("gpt-4")
    assert key["PK"]["S"] == "RESOURCE#gpt-4"
    assert not schema.is_limit_sk(key["SK"]["S"])


def test_resource_from_pk_reads_resource_partitions_only() -> None:
    assert schema.resource_from_pk("RESOURCE#claude-3") == "claude-3"
    assert schema.resource_from_pk("ENTITY#user-1") is None
    assert schema.resource_from_pk(schema.SYSTEM_PARTITION) is None


def test_limit_name_round_trips_through_its_sort_key() -> None:
    assert schema.limit_name_from_sk(schema.limit_sk("tokens.per-minute")) == "tokens.per-minute"
