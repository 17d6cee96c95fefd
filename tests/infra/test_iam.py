"""Each function's role: exactly the DynamoDB actions it needs, on this table, and nothing more.

The expected actions are written here, not imported from infra, so that a change to a grant in the
stack fails this test until someone has looked at it.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from handlers import routes
from resource_registry import schema
from tests.infra.conftest import (
    HANDLERS,
    Synthesized,
    as_list,
    role_statements,
    synthesize,
    table_arn,
)

EXPECTED_TABLE_ACTIONS = {
    routes.LIST_RESOURCES.function_id: {"dynamodb:GetItem", "dynamodb:DescribeTable"},
    routes.LIST_NAMESPACES.function_id: {
        "dynamodb:Query",
        "dynamodb:GetItem",
        "dynamodb:DescribeTable",
    },
    routes.GET_DEFAULTS.function_id: {
        "dynamodb:Query",
        "dynamodb:GetItem",
        "dynamodb:DescribeTable",
    },
    routes.SET_DEFAULTS.function_id: {
        "dynamodb:Query",
        "dynamodb:GetItem",
        "dynamodb:DescribeTable",
        "dynamodb:ConditionCheckItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
    },
    routes.GET_HISTORY.function_id: {
        "dynamodb:Query",
        "dynamodb:GetItem",
        "dynamodb:DescribeTable",
    },
    routes.DELETE_DEFAULTS.function_id: {
        "dynamodb:Query",
        "dynamodb:GetItem",
        "dynamodb:DescribeTable",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:ConditionCheckItem",
    },
    routes.BACKFILL_FUNCTION_ID: {
        "dynamodb:Scan",
        "dynamodb:Query",
        "dynamodb:GetItem",
        "dynamodb:DescribeTable",
        "dynamodb:ConditionCheckItem",
        "dynamodb:UpdateItem",
    },
}
# A namespace's registry partition is "{namespace id}/SYSTEM#"; names never contain '#'.
REGISTRY_ONLY = {
    "ForAllValues:StringLike": {
        "dynamodb:LeadingKeys": [schema.SYSTEM_PARTITION, f"*/{schema.SYSTEM_PARTITION}"]
    }
}
GSI4_ONLY = ["dynamodb:Query"]
TRACING_ACTIONS = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
LOG_ACTIONS = {"logs:CreateLogStream", "logs:PutLogEvents"}


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(tmp_path_factory.mktemp("cdk.out"))


def table_actions(statements: list[dict[str, Any]]) -> set[str]:
    """The DynamoDB actions (and any bare wildcard) the statements allow."""
    return {
        action
        for statement in statements
        if statement["Effect"] == "Allow"
        for action in as_list(statement["Action"])
        if action.lower().startswith("dynamodb:") or action == "*"
    }


def test_every_function_is_checked() -> None:
    assert set(EXPECTED_TABLE_ACTIONS) == set(HANDLERS)


@pytest.mark.parametrize("function_id", sorted(EXPECTED_TABLE_ACTIONS))
def test_role_allows_exactly_the_expected_table_actions(
    synthesized: Synthesized, function_id: str
) -> None:
    actions = table_actions(role_statements(synthesized, function_id))
    assert actions == EXPECTED_TABLE_ACTIONS[function_id], (
        f"{function_id} has extra {sorted(actions - EXPECTED_TABLE_ACTIONS[function_id])}, "
        f"lacks {sorted(EXPECTED_TABLE_ACTIONS[function_id] - actions)}"
    )


@pytest.mark.parametrize("function_id", sorted(EXPECTED_TABLE_ACTIONS))
def test_table_actions_apply_to_this_table_only(synthesized: Synthesized, function_id: str) -> None:
    for statement in role_statements(synthesized, function_id):
        if not table_actions([statement]):
            continue
        resources = as_list(statement["Resource"])
        if resources != [table_arn(synthesized)]:
            # The only other resource: the backfill may Query zae-limiter's GSI4, and nothing else.
            assert function_id == routes.BACKFILL_FUNCTION_ID
            assert as_list(statement["Action"]) == GSI4_ONLY
            assert json.dumps(resources).endswith(f'/index/{schema.GSI4_INDEX}"]]}}]')
            assert "NotAction" not in statement
            assert "NotResource" not in statement


def test_backfill_updates_only_the_registry_partition(synthesized: Synthesized) -> None:
    # Given the backfill role's statements that allow UpdateItem
    updating = [
        statement
        for statement in role_statements(synthesized, routes.BACKFILL_FUNCTION_ID)
        if "dynamodb:UpdateItem" in as_list(statement["Action"])
    ]
    # Then each is limited to the SYSTEM# partition, and allows nothing else
    assert updating
    for statement in updating:
        assert statement.get("Condition") == REGISTRY_ONLY
        assert as_list(statement["Action"]) == ["dynamodb:UpdateItem"]


@pytest.mark.parametrize("function_id", sorted(EXPECTED_TABLE_ACTIONS))
def test_role_holds_only_logs_and_tracing_besides_the_table(
    synthesized: Synthesized, function_id: str
) -> None:
    function = synthesized.function(function_id)
    log_group_arn = {"Fn::GetAtt": [function["LoggingConfig"]["LogGroup"]["Ref"], "Arn"]}
    other = {
        (action, str(statement["Resource"]))
        for statement in role_statements(synthesized, function_id)
        if not table_actions([statement])
        for action in as_list(statement["Action"])
    }
    assert other == {(action, str(log_group_arn)) for action in LOG_ACTIONS} | {
        (action, "*") for action in TRACING_ACTIONS
    }


@pytest.mark.parametrize("function_id", sorted(EXPECTED_TABLE_ACTIONS))
def test_role_has_no_managed_policies_and_is_its_own(
    synthesized: Synthesized, function_id: str
) -> None:
    role_id = synthesized.function(function_id)["Role"]["Fn::GetAtt"][0]
    assert "ManagedPolicyArns" not in synthesized.resources[role_id]["Properties"]
    other_roles = {
        synthesized.function(other)["Role"]["Fn::GetAtt"][0]
        for other in EXPECTED_TABLE_ACTIONS
        if other != function_id
    }
    assert role_id not in other_roles


@pytest.mark.parametrize(
    "function_id", [routes.DELETE_DEFAULTS.function_id, routes.GET_HISTORY.function_id]
)
def test_audit_access_is_limited_to_audit_partitions(
    synthesized: Synthesized, function_id: str
) -> None:
    # The history's Query reaches audit partitions only; the delete's PutItem those, its
    # idempotency record's and the resource's own (a config item put back with its flags alone).
    delete = function_id == routes.DELETE_DEFAULTS.function_id
    action = "dynamodb:PutItem" if delete else "dynamodb:Query"
    partitions = ["AUDIT#*", "*/AUDIT#*"]
    if delete:
        partitions += ["IDEMPOTENCY#*", "*/IDEMPOTENCY#*", "RESOURCE#*", "*/RESOURCE#*"]
    granting = [
        statement
        for statement in role_statements(synthesized, function_id)
        if action in as_list(statement["Action"])
    ]
    assert granting
    for statement in granting:
        assert as_list(statement["Action"]) == [action]
        assert statement["Condition"] == {
            "ForAllValues:StringLike": {"dynamodb:LeadingKeys": partitions}
        }
