"""Where the local commands find DynamoDB, and which region they sign for."""

from __future__ import annotations

import os

import pytest

from devtools.environment import DEFAULT_REGION, dynamodb_endpoint, use_default_table_name


def test_a_configured_endpoint_is_used_and_the_users_region_kept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", "https://dynamodb.eu-west-1.amazonaws.com")
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    with dynamodb_endpoint() as endpoint:
        assert endpoint == "https://dynamodb.eu-west-1.amazonaws.com"
        assert "AWS_REGION" not in os.environ  # botocore signs for AWS_DEFAULT_REGION


def test_a_region_is_supplied_only_when_none_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:1")
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    with dynamodb_endpoint():
        assert os.environ["AWS_REGION"] == DEFAULT_REGION


@pytest.mark.parametrize("unset", [None, ""])
def test_local_commands_default_to_the_laptops_table(
    monkeypatch: pytest.MonkeyPatch, unset: str | None
) -> None:
    if unset is not None:
        monkeypatch.setenv("TABLE_NAME", unset)
    assert use_default_table_name() == "resource-registry"
    assert os.environ["TABLE_NAME"] == "resource-registry"


def test_local_commands_keep_a_configured_table(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TABLE_NAME", "team-limits")
    assert use_default_table_name() == "team-limits"
