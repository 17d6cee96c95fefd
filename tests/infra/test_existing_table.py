"""Deploying onto an existing table: `cdk deploy -c existingTableName=...`."""

from __future__ import annotations

import json

import pytest
from aws_cdk import App

from handlers import routes
from infra.context import ContextError
from infra.stack import EXISTING_TABLE_CONTEXT, TABLE_LAYOUT_CONTEXT, create_stack
from infra.table import EXISTING_TABLE_STREAM_CONTEXT
from resource_registry.clients import TABLE_NAME_VARIABLE
from resource_registry.detection import LAYOUT_VARIABLE
from tests.infra.conftest import HANDLERS, Synthesized, as_list, synthesize

EXISTING_TABLE = "zae-limiter-production"
# As `aws dynamodb describe-table --query Table.LatestStreamArn` prints it.
EXISTING_STREAM = (
    f"arn:aws:dynamodb:eu-west-1:123456789012:table/{EXISTING_TABLE}/stream/2026-01-31T09:15:02.123"
)
EXISTING = {EXISTING_TABLE_CONTEXT: EXISTING_TABLE, EXISTING_TABLE_STREAM_CONTEXT: EXISTING_STREAM}


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(tmp_path_factory.mktemp("cdk.out"), **EXISTING)


def test_no_table_is_created(synthesized: Synthesized) -> None:
    assert synthesized.of_type("AWS::DynamoDB::Table") == {}


@pytest.mark.parametrize("function_id", sorted(HANDLERS))
def test_functions_serve_the_existing_table(synthesized: Synthesized, function_id: str) -> None:
    variables = synthesized.function(function_id)["Environment"]["Variables"]
    assert variables[TABLE_NAME_VARIABLE] == EXISTING_TABLE


@pytest.mark.parametrize("function_id", sorted(HANDLERS))
def test_table_policies_name_the_existing_table(synthesized: Synthesized, function_id: str) -> None:
    role_id = synthesized.function(function_id)["Role"]["Fn::GetAtt"][0]
    policies = synthesized.resources[role_id]["Properties"]["Policies"]
    table_statements = [
        statement
        for policy in policies
        for statement in policy["PolicyDocument"]["Statement"]
        if any(action.startswith("dynamodb:") for action in as_list(statement["Action"]))
    ]
    assert table_statements
    for statement in table_statements:
        (resource,) = as_list(statement["Resource"])
        assert f":table/{EXISTING_TABLE}" in json.dumps(resource)


def test_table_name_output_is_the_existing_table(synthesized: Synthesized) -> None:
    synthesized.template.has_output("TableName", {"Value": EXISTING_TABLE})


@pytest.mark.parametrize("bad_name", ["ab", "has space", "a/b", "x" * 256])
def test_an_invalid_table_name_is_refused_before_synth(bad_name: str) -> None:
    app = App(context={EXISTING_TABLE_CONTEXT: bad_name})
    with pytest.raises(ValueError, match=EXISTING_TABLE_CONTEXT):
        create_stack(app)


def test_an_empty_table_name_means_a_new_table() -> None:
    stack = create_stack(App(context={EXISTING_TABLE_CONTEXT: ""}))
    assert stack.node.find_child("Registry").node.try_find_child("Table") is not None


def test_a_table_layout_named_in_context_reaches_every_function(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    synthesized = synthesize(
        tmp_path_factory.mktemp("cdk.out"), **EXISTING, **{TABLE_LAYOUT_CONTEXT: "namespaced"}
    )
    for function_id in HANDLERS:
        variables = synthesized.function(function_id)["Environment"]["Variables"]
        assert variables[LAYOUT_VARIABLE] == "namespaced"


def test_without_a_layout_in_context_the_functions_detect_it(synthesized: Synthesized) -> None:
    for function_id in HANDLERS:
        assert LAYOUT_VARIABLE not in synthesized.function(function_id)["Environment"]["Variables"]


def test_an_unknown_layout_in_context_fails_the_synth() -> None:
    app = App(context={TABLE_LAYOUT_CONTEXT: "sideways"})
    with pytest.raises(ValueError, match="tableLayout='sideways' is not a layout"):
        create_stack(app)


def test_the_healer_reads_the_existing_tables_stream(synthesized: Synthesized) -> None:
    (mapping,) = synthesized.of_type("AWS::Lambda::EventSourceMapping").values()
    assert mapping["Properties"]["EventSourceArn"] == EXISTING_STREAM
    role_id = synthesized.function(routes.HEALER_FUNCTION_ID)["Role"]["Fn::GetAtt"][0]
    policies = synthesized.resources[role_id]["Properties"]["Policies"]
    (stream,) = [
        statement
        for policy in policies
        for statement in policy["PolicyDocument"]["Statement"]
        if "dynamodb:GetRecords" in as_list(statement["Action"])
    ]
    assert stream["Resource"] == EXISTING_STREAM


# "None": what the describe-table command deploy.md gives prints for a table without a stream.
@pytest.mark.parametrize("stream", [None, "", "None"])
def test_an_existing_table_without_its_stream_fails_the_synth_saying_how_to_enable_it(
    stream: str | None,
) -> None:
    context = {EXISTING_TABLE_CONTEXT: EXISTING_TABLE}
    if stream is not None:
        context[EXISTING_TABLE_STREAM_CONTEXT] = stream
    app = App(context=context)
    with pytest.raises(ContextError) as refused:
        create_stack(app)
    message = str(refused.value)
    assert "\n" not in message
    assert (
        f"aws dynamodb update-table --table-name {EXISTING_TABLE} --stream-specification "
        "StreamEnabled=true,StreamViewType=NEW_AND_OLD_IMAGES"
    ) in message
    assert (
        f"-c {EXISTING_TABLE_STREAM_CONTEXT}=ARN with the ARN that `aws dynamodb describe-table "
        f"--table-name {EXISTING_TABLE} --query Table.LatestStreamArn --output text` prints"
    ) in message


@pytest.mark.parametrize(
    "bad_arn",
    [
        "not-an-arn",
        EXISTING_STREAM.replace(EXISTING_TABLE, "another-table"),
        f"arn:aws:dynamodb:eu-west-1:123456789012:table/{EXISTING_TABLE}",
    ],
)
def test_a_stream_arn_that_is_not_the_existing_tables_fails_the_synth(bad_arn: str) -> None:
    app = App(context={**EXISTING, EXISTING_TABLE_STREAM_CONTEXT: bad_arn})
    with pytest.raises(ContextError, match=f"is not a stream of table '{EXISTING_TABLE}'"):
        create_stack(app)


def test_a_stream_arn_without_an_existing_table_fails_the_synth() -> None:
    app = App(context={EXISTING_TABLE_STREAM_CONTEXT: EXISTING_STREAM})
    with pytest.raises(ContextError, match="pass it with existingTableName"):
        create_stack(app)
