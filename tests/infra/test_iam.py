"""Each function's role: exactly the DynamoDB actions it needs, on this table, each on the
partitions it needs, and nothing more.

The expected grants are written here, not imported from infra, so that a change to a grant in the
stack fails this test until someone has looked at it. Key strings come from the schema's builders.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from handlers import routes
from infra.table_access import TableAccess
from resource_registry import schema
from tests.infra.conftest import (
    HANDLERS,
    Synthesized,
    as_list,
    role_statements,
    synthesize,
    table_arn,
)

ANY_NAMESPACE = schema.namespace_prefix("*")
RESOURCES = (schema.resource_pk("*"), schema.resource_pk("*", ANY_NAMESPACE))
SYSTEM = (schema.system_pk(), schema.system_pk(ANY_NAMESPACE))
AUDIT = (schema.audit_pk("*"), schema.audit_pk("*", ANY_NAMESPACE))
ANSWERS = tuple(
    schema.idempotency_key("*", prefix)[schema.PARTITION_KEY]["S"] for prefix in ("", ANY_NAMESPACE)
)
NAMESPACES = (schema.namespace_pk(),)
CHANGE_MARKS = tuple(
    schema.published_key("*", prefix)[schema.PARTITION_KEY]["S"] for prefix in ("", ANY_NAMESPACE)
)
ENTITIES = (schema.entity_pk("*"), schema.entity_pk("*", ANY_NAMESPACE))
# What every function reads at a cold start to tell the layout, and to resolve a namespace.
DETECTION = (schema.namespace_pk(), schema.system_pk(), schema.resource_pk("*"))
# Conditions also refuse partitions where a '/' is followed by two '#' (zae-limiter's buckets).
BUCKETS = "*/*#*#*"
# A grant: (action, the partitions it reaches, those it never reaches). None: no condition.
Grant = tuple[str, frozenset[str] | None, frozenset[str]]


def on(
    partitions: tuple[str, ...],
    *actions: str,
    excluding: tuple[str, ...] = (),
    bucket_guard: bool = True,
) -> set[Grant]:
    never = frozenset({*excluding, *([BUCKETS] if bucket_guard else [])})
    return {(f"dynamodb:{action}", frozenset(partitions), never) for action in actions}


def anywhere(*actions: str) -> set[Grant]:
    return {(f"dynamodb:{action}", None, frozenset()) for action in actions}


EVERY_FUNCTION = on(DETECTION, "GetItem") | anywhere("DescribeTable")
EXPECTED_GRANTS: dict[str, set[Grant]] = {
    routes.LIST_RESOURCES.function_id: EVERY_FUNCTION | on(SYSTEM, "GetItem"),
    routes.LIST_NAMESPACES.function_id: EVERY_FUNCTION | on(NAMESPACES, "Query"),
    routes.GET_DEFAULTS.function_id: EVERY_FUNCTION | on(RESOURCES, "Query", "GetItem"),
    routes.GET_HISTORY.function_id: EVERY_FUNCTION
    | on(AUDIT, "Query")
    | on(RESOURCES, "Query", "GetItem"),
    routes.SET_DEFAULTS.function_id: EVERY_FUNCTION
    | on(RESOURCES, "Query", "GetItem", "PutItem", "UpdateItem", "DeleteItem")
    | on(AUDIT, "PutItem")
    | on(ANSWERS, "GetItem", "PutItem")
    | on(SYSTEM, "GetItem", "UpdateItem", excluding=NAMESPACES)
    | on(NAMESPACES, "ConditionCheckItem"),
    routes.DELETE_DEFAULTS.function_id: EVERY_FUNCTION
    | on(RESOURCES, "Query", "GetItem", "PutItem", "UpdateItem", "DeleteItem", "ConditionCheckItem")
    | on(AUDIT, "PutItem")
    | on(ANSWERS, "GetItem", "PutItem")
    | on(SYSTEM, "GetItem", "UpdateItem", excluding=NAMESPACES)
    | on(NAMESPACES, "ConditionCheckItem"),
    # Read-only: the four config levels of the effective view, in one BatchGetItem.
    routes.GET_EFFECTIVE_LIMITS.function_id: EVERY_FUNCTION
    | on((*ENTITIES, *RESOURCES, *SYSTEM), "BatchGetItem", excluding=NAMESPACES),
    # The Query with no condition is the one of GSI4 (test_table_actions_apply_to_this_table_only).
    routes.BACKFILL_FUNCTION_ID: EVERY_FUNCTION
    | anywhere("Scan", "Query")
    # Its reads also reach names the naming rule refuses ("a#b"), which it counts.
    | on(RESOURCES, "Query", "GetItem", "ConditionCheckItem", bucket_guard=False)
    | on(SYSTEM, "GetItem", "UpdateItem", excluding=NAMESPACES)
    | on(NAMESPACES, "Query", "ConditionCheckItem"),
    # Reads and checks a resource's limits, never writes them; repairs the registry; reads who
    # made a change and moves its own marks of published change events.
    routes.HEALER_FUNCTION_ID: EVERY_FUNCTION
    | on(RESOURCES, "Query", "BatchGetItem", "ConditionCheckItem")
    | on(SYSTEM, "BatchGetItem", "UpdateItem", excluding=NAMESPACES)
    | on(NAMESPACES, "ConditionCheckItem")
    | on(AUDIT, "BatchGetItem")
    | on(CHANGE_MARKS, "BatchGetItem", "UpdateItem"),
}
GSI4_ONLY = ["dynamodb:Query"]
TRACING_ACTIONS = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
LOG_ACTIONS = {"logs:CreateLogStream", "logs:PutLogEvents"}
STREAM_ACTIONS = {
    "dynamodb:DescribeStream",
    "dynamodb:GetRecords",
    "dynamodb:GetShardIterator",
    "dynamodb:ListStreams",
}


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


def on_the_stream(statement: dict[str, Any]) -> bool:
    """Whether the statement's one resource is the table's stream (what the healer reads)."""
    resources = as_list(statement["Resource"])
    return len(resources) == 1 and str(resources[0]).endswith("'StreamArn']}")


def grants(statements: list[dict[str, Any]]) -> set[Grant]:
    """Each DynamoDB action the statements allow on the table, with the partitions its condition
    names."""
    found: set[Grant] = set()
    for statement in statements:
        if on_the_stream(statement):
            continue
        condition = statement.get("Condition")
        reached: frozenset[str] | None = None
        excluded: frozenset[str] = frozenset()
        if condition is not None:
            assert set(condition) <= {"ForAllValues:StringLike", "ForAllValues:StringNotLike"}
            reached, excluded = (
                frozenset(as_list(condition.get(operator, {}).get("dynamodb:LeadingKeys", [])))
                for operator in ("ForAllValues:StringLike", "ForAllValues:StringNotLike")
            )
        found |= {(action, reached, excluded) for action in table_actions([statement])}
    return found


def test_every_function_is_checked() -> None:
    assert set(EXPECTED_GRANTS) == set(HANDLERS)


@pytest.mark.parametrize("function_id", sorted(EXPECTED_GRANTS))
def test_role_allows_exactly_the_expected_actions_on_the_expected_partitions(
    synthesized: Synthesized, function_id: str
) -> None:
    granted = grants(role_statements(synthesized, function_id))
    assert granted == EXPECTED_GRANTS[function_id], (
        f"{function_id} has extra {sorted(granted - EXPECTED_GRANTS[function_id], key=str)}, "
        f"lacks {sorted(EXPECTED_GRANTS[function_id] - granted, key=str)}"
    )


@pytest.mark.parametrize("function_id", sorted(EXPECTED_GRANTS))
def test_only_calls_that_name_no_partition_go_unconditioned(
    synthesized: Synthesized, function_id: str
) -> None:
    # A Scan, DescribeTable and the Query of an index: LeadingKeys cannot narrow them.
    unconditioned = {
        action
        for action, reached, _ in grants(role_statements(synthesized, function_id))
        if reached is None
    }
    assert unconditioned <= {"dynamodb:Scan", "dynamodb:DescribeTable", "dynamodb:Query"}
    for statement in role_statements(synthesized, function_id):
        if "dynamodb:Query" in as_list(statement["Action"]) and "Condition" not in statement:
            assert as_list(statement["Resource"]) != [table_arn(synthesized)]


@pytest.mark.parametrize("function_id", sorted(EXPECTED_GRANTS))
def test_table_actions_apply_to_this_table_only(synthesized: Synthesized, function_id: str) -> None:
    for statement in role_statements(synthesized, function_id):
        if not table_actions([statement]):
            continue
        if on_the_stream(statement):
            # The healer's stream mapping reads the stream with its role, and nothing else may.
            assert function_id == routes.HEALER_FUNCTION_ID
            assert set(as_list(statement["Action"])) == STREAM_ACTIONS
            assert "Condition" not in statement
            continue
        resources = as_list(statement["Resource"])
        if resources != [table_arn(synthesized)]:
            # The only other resource: the backfill may Query zae-limiter's GSI4, and nothing else.
            assert function_id == routes.BACKFILL_FUNCTION_ID
            assert as_list(statement["Action"]) == GSI4_ONLY
            assert json.dumps(resources).endswith(f'/index/{schema.GSI4_INDEX}"]]}}]')
            assert "NotAction" not in statement
            assert "NotResource" not in statement


def healer_extras(synthesized: Synthesized) -> set[tuple[str, str]]:
    """What the healer's role allows besides the table, its logs and X-Ray: reading the table's
    stream, putting events on its bus, sending its dead letters."""
    (table_id,) = synthesized.of_type("AWS::DynamoDB::Table")
    (bus_id,) = synthesized.of_type("AWS::Events::EventBus")
    (queue_id,) = synthesized.of_type("AWS::SQS::Queue")
    stream = {"Fn::GetAtt": [table_id, "StreamArn"]}
    return {(action, str(stream)) for action in STREAM_ACTIONS} | {
        ("events:PutEvents", str({"Fn::GetAtt": [bus_id, "Arn"]})),
        ("sqs:SendMessage", str({"Fn::GetAtt": [queue_id, "Arn"]})),
    }


@pytest.mark.parametrize("function_id", sorted(EXPECTED_GRANTS))
def test_role_holds_only_logs_and_tracing_and_the_healers_needs_besides_the_table(
    synthesized: Synthesized, function_id: str
) -> None:
    function = synthesized.function(function_id)
    log_group_arn = {"Fn::GetAtt": [function["LoggingConfig"]["LogGroup"]["Ref"], "Arn"]}
    other = {
        (action, str(statement["Resource"]))
        for statement in role_statements(synthesized, function_id)
        if not table_actions([statement]) or on_the_stream(statement)
        for action in as_list(statement["Action"])
    }
    expected = {(action, str(log_group_arn)) for action in LOG_ACTIONS} | {
        (action, "*") for action in TRACING_ACTIONS
    }
    if function_id == routes.HEALER_FUNCTION_ID:
        expected |= healer_extras(synthesized)
    assert other == expected


@pytest.mark.parametrize("function_id", sorted(EXPECTED_GRANTS))
def test_role_has_no_managed_policies_and_is_its_own(
    synthesized: Synthesized, function_id: str
) -> None:
    role_id = synthesized.function(function_id)["Role"]["Fn::GetAtt"][0]
    assert "ManagedPolicyArns" not in synthesized.resources[role_id]["Properties"]
    other_roles = {
        synthesized.function(other)["Role"]["Fn::GetAtt"][0]
        for other in EXPECTED_GRANTS
        if other != function_id
    }
    assert role_id not in other_roles


@pytest.mark.parametrize(
    "actions", [("dynamodb:PutItem",), ("dynamodb:Scan", "dynamodb:GetItem"), ("dynamodb:Query",)]
)
def test_an_item_action_must_name_its_partitions(actions: tuple[str, ...]) -> None:
    with pytest.raises(ValueError, match="must name the partitions"):
        TableAccess(actions)
