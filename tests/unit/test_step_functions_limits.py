"""The test interpreter of Step Functions fails a run where Step Functions would: over 256 KiB."""

from __future__ import annotations

from typing import Any

import pytest

from tests.step_functions import MAX_PAYLOAD_BYTES, DataLimitExceededError, run

TASK = {
    "Type": "Task",
    "Resource": "arn:aws:states:::lambda:invoke",
    "Arguments": {"FunctionName": "f", "Payload": "{% $states.input %}"},
}


def returning(size: int) -> Any:
    """An invoke whose function answers a JSON string of ``size`` bytes (quotes included)."""
    return lambda _name, _payload: "x" * (size - 2)


def one_state(state: dict[str, Any]) -> dict[str, Any]:
    return {"StartAt": "Only", "States": {"Only": {**state, "End": True}}}


def test_a_result_at_the_limit_passes() -> None:
    # {"Payload": "..."} adds 12 bytes around the function's answer
    output = run(one_state(TASK), {}, returning(MAX_PAYLOAD_BYTES - 12))
    assert len(output["Payload"]) == MAX_PAYLOAD_BYTES - 14


def test_a_task_result_over_the_limit_fails_the_run() -> None:
    with pytest.raises(DataLimitExceededError, match="result of task Only"):
        run(one_state(TASK), {}, returning(MAX_PAYLOAD_BYTES - 11))


def test_an_output_over_the_limit_fails_the_run() -> None:
    state = {"Type": "Pass", "Output": "{% $pad($states.input.text, 262144, 'y') %}"}
    with pytest.raises(DataLimitExceededError, match="output of state Only"):
        run(one_state(state), {"text": ""}, returning(2))


def test_an_input_over_the_limit_fails_the_run() -> None:
    with pytest.raises(DataLimitExceededError, match="input of state Only"):
        run(one_state({"Type": "Pass"}), "z" * MAX_PAYLOAD_BYTES, returning(2))


def test_an_assigned_variable_over_the_limit_fails_the_run() -> None:
    state = {"Type": "Pass", "Assign": {"big": "{% $pad('', 262144, 'y') %}"}}
    with pytest.raises(DataLimitExceededError, match="Assign of state Only"):
        run(one_state(state), {}, returning(2))


def test_a_map_whose_results_add_up_past_the_limit_fails_the_run() -> None:
    # Each iteration is small; the Map's result, all of them, is not.
    machine = one_state(
        {
            "Type": "Map",
            "Items": "{% [1..3] %}",
            "ItemSelector": "{% $states.context.Map.Item.Value %}",
            "ItemProcessor": one_state(TASK),
        }
    )
    with pytest.raises(DataLimitExceededError, match="result of map Only"):
        run(machine, {}, returning(MAX_PAYLOAD_BYTES // 3))
