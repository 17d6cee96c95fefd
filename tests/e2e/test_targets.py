"""How `make e2e STACK=name` finds a deployed stack's API and table, and what it says when it
cannot (CloudFormation's answers stubbed: nothing here reaches AWS); what a journey leaves
behind on the local target."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from devtools.dynamodb_local import ROOT
from resource_registry import schema
from resource_registry.dynamodb import all_items
from resource_registry_client import parse_named
from tests.e2e.targets import Target, TargetError, stack_outputs, stack_target
from tests.e2e.workspace import Workspace

STACK = "ResourceRegistry"


@pytest.fixture
def cloudformation() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client("cloudformation", region_name="eu-west-1")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def described(outputs: dict[str, str]) -> dict[str, Any]:
    """DescribeStacks' answer for a stack with ``outputs``."""
    stack = {
        "StackName": STACK,
        "CreationTime": datetime(2026, 1, 1, tzinfo=UTC),
        "StackStatus": "CREATE_COMPLETE",
        "Outputs": [{"OutputKey": key, "OutputValue": value} for key, value in outputs.items()],
    }
    return {"Stacks": [stack]}


def test_the_api_url_and_table_come_from_the_stacks_outputs(
    cloudformation: tuple[Any, Stubber],
) -> None:
    client, stubber = cloudformation
    outputs = {
        "ApiUrl": "https://abc123.execute-api.eu-west-1.amazonaws.com/v1/",
        "TableName": "ResourceRegistry-RegistryTable1A2B3C",
        "AlarmTopicArn": "arn:aws:sns:eu-west-1:123456789012:alarms",
    }
    stubber.add_response("describe_stacks", described(outputs), {"StackName": STACK})
    assert stack_outputs(client, STACK) == (
        "https://abc123.execute-api.eu-west-1.amazonaws.com/v1",
        "ResourceRegistry-RegistryTable1A2B3C",
    )


def test_a_missing_stack_or_output_is_one_line_that_says_what_to_check(
    cloudformation: tuple[Any, Stubber],
) -> None:
    client, stubber = cloudformation
    stubber.add_client_error(
        "describe_stacks",
        "ValidationError",
        "Stack with id Nope does not exist",
        expected_params={"StackName": "Nope"},
    )
    with pytest.raises(
        TargetError, match=r"^stack Nope: Stack with id Nope does not exist \(check STACK"
    ):
        stack_outputs(client, "Nope")
    outputs = {"ApiUrl": "https://abc123.execute-api.eu-west-1.amazonaws.com/v1/"}
    stubber.add_response("describe_stacks", described(outputs), {"StackName": STACK})
    with pytest.raises(TargetError, match=f"^stack {STACK} has no output TableName: "):
        stack_outputs(client, STACK)


def test_without_a_region_the_target_says_to_set_one(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for variable in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(variable)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    with pytest.raises(TargetError, match=r"^no AWS region: set AWS_REGION"):
        stack_target("ResourceRegistry")


def test_the_region_is_aws_regions_and_credentials_are_asked_for_before_any_call(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(variable)
    for variable in ("AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.setenv(variable, str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(TargetError, match=r"^no AWS credentials found: set AWS_PROFILE"):
        stack_target("ResourceRegistry")


def test_make_e2e_without_a_stack_says_what_to_set_in_one_line() -> None:
    done = subprocess.run(
        ["make", "--no-print-directory", "e2e", "STACK="],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    # make's own form of a one-line error ("Makefile:N: *** ...  Stop."), before anything installs
    assert done.returncode != 0
    (line,) = done.stderr.strip().splitlines()
    assert (
        "*** set STACK to the deployed stack's name, e.g. make e2e STACK=ResourceRegistry "
        "(make test runs the same suite against make run's server)" in line
    )


def test_a_journeys_namespace_is_removed_with_everything_in_it(
    target: Target, tmp_path: Path
) -> None:
    # Given a journey's workspace where a resource was set, changed with a key, and read
    workspace = Workspace(target, tmp_path)
    namespace = workspace.namespace
    namespace_id = target.dynamodb.get_item(
        TableName=target.table, Key=schema.namespace_key(namespace), ConsistentRead=True
    )["Item"][schema.ATTR_NAMESPACE_ID]["S"]
    workspace.client.set_defaults("gpt-4", [parse_named("rpm=5/1s")], namespace)
    workspace.client.set_defaults(
        "gpt-4", [parse_named("rpm=6/1s")], namespace, idempotency_key="e2e-cleanup"
    )
    assert namespace in workspace.client.list_namespaces()
    # When the journey ends
    workspace.clean_up()
    # Then the namespace is gone with its defaults, registry and audit events. Left: the
    # idempotency record (24-hour TTL) and the healer's mark of the last change event it
    # published per resource, which has neither GSI4 keys nor a TTL (zae-limiter's own
    # purge_namespace leaves it too)
    assert namespace not in workspace.client.list_namespaces()
    items = all_items(target.dynamodb.scan, TableName=target.table, ConsistentRead=True)
    left = {
        (item["PK"]["S"], item["SK"]["S"])
        for item in items
        if namespace_id in item["PK"]["S"] + item["SK"]["S"] or namespace in item["SK"]["S"]
    }
    assert {sort_key for _, sort_key in left} <= {
        schema.IDEMPOTENCY_SORT_KEY,
        schema.PUBLISHED_SORT_KEY,
    }
    assert any(sort_key == schema.IDEMPOTENCY_SORT_KEY for _, sort_key in left)
