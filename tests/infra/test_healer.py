"""The healer in the stack: the table's stream into the healer function through the one filter,
its dead-letter queue and the bus its change events go to."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import App

from handlers import routes
from infra.context import ContextError
from infra.healer import EVENT_BUS_CONTEXT
from infra.stack import create_stack
from resource_registry.change_events import EVENT_BUS_VARIABLE
from resource_registry.stream_filter import FILTER_PATTERN
from tests.infra.conftest import Synthesized, as_list, role_statements, synthesize

FOURTEEN_DAYS = 14 * 24 * 60 * 60


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(tmp_path_factory.mktemp("cdk.out"))


def mapping(synthesized: Synthesized) -> dict[str, Any]:
    (found,) = synthesized.of_type("AWS::Lambda::EventSourceMapping").values()
    properties: dict[str, Any] = found["Properties"]
    return properties


def queue_id(synthesized: Synthesized) -> str:
    (logical_id,) = synthesized.of_type("AWS::SQS::Queue")
    return logical_id


def put_events_resources(synthesized: Synthesized) -> list[Any]:
    return [
        resource
        for statement in role_statements(synthesized, routes.HEALER_FUNCTION_ID)
        if "events:PutEvents" in as_list(statement["Action"])
        for resource in as_list(statement["Resource"])
    ]


def test_the_tables_stream_invokes_the_healer(synthesized: Synthesized) -> None:
    (table_id,) = synthesized.of_type("AWS::DynamoDB::Table")
    properties = mapping(synthesized)
    assert properties["EventSourceArn"] == {"Fn::GetAtt": [table_id, "StreamArn"]}
    assert properties["FunctionName"] == {
        "Ref": synthesized.function_logical_id(routes.HEALER_FUNCTION_ID)
    }


def test_only_records_that_pass_the_one_stream_filter_invoke_it(synthesized: Synthesized) -> None:
    (only,) = mapping(synthesized)["FilterCriteria"]["Filters"]
    assert json.loads(only["Pattern"]) == FILTER_PATTERN


def test_a_record_it_cannot_handle_is_retried_alone_then_sent_to_the_dead_letters(
    synthesized: Synthesized,
) -> None:
    properties = mapping(synthesized)
    # The handler reports the first record it could not handle (handle_stream.py).
    assert properties["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert properties["BisectBatchOnFunctionError"] is True
    # Bounded: no record holds its shard back for ever.
    assert 0 < properties["MaximumRetryAttempts"] <= 10
    assert 60 <= properties["MaximumRecordAgeInSeconds"] <= 3600
    assert properties["DestinationConfig"] == {
        "OnFailure": {"Destination": {"Fn::GetAtt": [queue_id(synthesized), "Arn"]}}
    }


def test_it_starts_at_the_streams_tip_and_heals_within_seconds(synthesized: Synthesized) -> None:
    properties = mapping(synthesized)
    assert properties["StartingPosition"] == "LATEST"
    assert properties["MaximumBatchingWindowInSeconds"] == 0
    assert properties["BatchSize"] == 100


def test_the_dead_letters_are_encrypted_kept_14_days_and_tls_only(
    synthesized: Synthesized,
) -> None:
    queue = synthesized.resources[queue_id(synthesized)]["Properties"]
    assert queue["SqsManagedSseEnabled"] is True
    assert queue["MessageRetentionPeriod"] == FOURTEEN_DAYS
    (policy,) = synthesized.of_type("AWS::SQS::QueuePolicy").values()
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Deny"
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    outputs = synthesized.outputs
    assert outputs["HealerDeadLetterQueueUrl"]["Value"] == {"Ref": queue_id(synthesized)}


def test_change_events_go_to_the_stacks_own_bus_whose_arn_is_an_output(
    synthesized: Synthesized,
) -> None:
    (bus_id,) = synthesized.of_type("AWS::Events::EventBus")
    arn = {"Fn::GetAtt": [bus_id, "Arn"]}
    assert synthesized.outputs["EventBusArn"]["Value"] == arn
    assert put_events_resources(synthesized) == [arn]
    variables = synthesized.function(routes.HEALER_FUNCTION_ID)["Environment"]["Variables"]
    assert variables[EVENT_BUS_VARIABLE] == {"Ref": bus_id}


def test_the_default_bus_is_chosen_by_context(tmp_path_factory: pytest.TempPathFactory) -> None:
    synthesized = synthesize(tmp_path_factory.mktemp("cdk.out"), **{EVENT_BUS_CONTEXT: "default"})
    assert synthesized.of_type("AWS::Events::EventBus") == {}
    default_bus = {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                ":events:",
                {"Ref": "AWS::Region"},
                ":",
                {"Ref": "AWS::AccountId"},
                ":event-bus/default",
            ],
        ]
    }
    assert put_events_resources(synthesized) == [default_bus]
    assert synthesized.outputs["EventBusArn"]["Value"] == default_bus
    variables = synthesized.function(routes.HEALER_FUNCTION_ID)["Environment"]["Variables"]
    assert variables[EVENT_BUS_VARIABLE] == "default"


@pytest.mark.parametrize("bad_bus", ["Default", "my-bus", "own"])
def test_an_unknown_bus_in_context_fails_the_synth(bad_bus: str) -> None:
    with pytest.raises(ContextError) as refused:
        create_stack(App(context={EVENT_BUS_CONTEXT: bad_bus}))
    message = str(refused.value)
    assert message.startswith(f"context {EVENT_BUS_CONTEXT}={bad_bus!r} is not a bus")
    assert "'default'" in message
    assert "\n" not in message
