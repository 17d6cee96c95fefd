"""The Step Functions fan-out of the backfill, read off the synthesized template."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.infra.conftest import Synthesized, synthesize

FUNCTION_ARN = "<backfill function arn>"


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(tmp_path_factory.mktemp("cdk.out"))


def state_machine(synthesized: Synthesized) -> dict[str, Any]:
    (resource,) = synthesized.of_type("AWS::StepFunctions::StateMachine").values()
    properties: dict[str, Any] = resource["Properties"]
    return properties


def definition(synthesized: Synthesized) -> dict[str, Any]:
    """The state machine's definition, with the function's ARN token as a placeholder."""
    parts = state_machine(synthesized)["DefinitionString"]["Fn::Join"][1]
    text = "".join(part if isinstance(part, str) else FUNCTION_ARN for part in parts)
    parsed: dict[str, Any] = json.loads(text)
    return parsed


def test_segments_run_in_parallel_in_a_map_then_merge(synthesized: Synthesized) -> None:
    machine = definition(synthesized)
    assert machine["QueryLanguage"] == "JSONata"
    segments = machine["States"][machine["StartAt"]]
    assert segments["Type"] == "Map"
    assert segments["MaxConcurrency"] > 1
    assert "total_segments" in segments["Items"]
    assert machine["States"][segments["Next"]]["Type"] == "Pass"
    assert machine["States"][segments["Next"]].get("End") is True


def test_each_segment_loops_on_its_continuation_until_done(synthesized: Synthesized) -> None:
    processor = definition(synthesized)["States"]["Segments"]["ItemProcessor"]
    states = processor["States"]
    (task_name,) = [name for name, state in states.items() if state["Type"] == "Task"]
    task = states[task_name]
    assert task["Arguments"]["FunctionName"] == FUNCTION_ARN
    assert set(task["Arguments"]["Payload"]) == {
        "mode",
        "namespace",
        "segment",
        "total_segments",
        "continuation",
    }
    choice = states[task["Next"]]
    assert choice["Type"] == "Choice"
    (loop,) = choice["Choices"]
    assert "continuation != null" in loop["Condition"]
    assert loop["Next"] == task_name
    assert states[choice["Default"]].get("End") is True


def test_the_state_machine_invokes_the_backfill_function(synthesized: Synthesized) -> None:
    parts = state_machine(synthesized)["DefinitionString"]["Fn::Join"][1]
    references = [part for part in parts if not isinstance(part, str)]
    backfill_id = synthesized.function_logical_id("Backfill")
    assert {"Fn::GetAtt": [backfill_id, "Arn"]} in references


def test_executions_are_logged_traced_and_bounded(synthesized: Synthesized) -> None:
    properties = state_machine(synthesized)
    assert properties["LoggingConfiguration"]["Level"] == "ALL"
    assert properties["TracingConfiguration"] == {"Enabled": True}
    assert definition(synthesized)["TimeoutSeconds"] > 15 * 60


def test_the_state_machine_may_invoke_only_the_backfill_function(synthesized: Synthesized) -> None:
    backfill_id = synthesized.function_logical_id("Backfill")
    policies = [
        policy
        for policy in synthesized.of_type("AWS::IAM::Policy").values()
        if any("StateMachine" in role["Ref"] for role in policy["Properties"]["Roles"])
    ]
    invoke = [
        statement
        for policy in policies
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if "lambda:InvokeFunction" in json.dumps(statement["Action"])
    ]
    assert invoke
    assert all(backfill_id in json.dumps(statement["Resource"]) for statement in invoke)
