"""Deploying onto an existing table: `cdk deploy -c existingTableName=...`."""

from __future__ import annotations

import json

import pytest
from aws_cdk import App

from infra.stack import EXISTING_TABLE_CONTEXT, TABLE_LAYOUT_CONTEXT, create_stack
from resource_registry.clients import TABLE_NAME_VARIABLE
from resource_registry.detection import LAYOUT_VARIABLE
from tests.infra.conftest import HANDLERS, Synthesized, as_list, synthesize

EXISTING_TABLE = "zae-limiter-production"


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(
        tmp_path_factory.mktemp("cdk.out"), **{EXISTING_TABLE_CONTEXT: EXISTING_TABLE}
    )


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
        tmp_path_factory.mktemp("cdk.out"),
        **{EXISTING_TABLE_CONTEXT: EXISTING_TABLE, TABLE_LAYOUT_CONTEXT: "namespaced"},
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
