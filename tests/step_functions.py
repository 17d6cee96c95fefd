"""Runs a JSONata-mode Step Functions definition here, for the states this project uses.

Pass, Choice, Task (lambda:invoke, calling a Python handler) and inline Map, with `Assign`d
variables scoped as Step Functions scopes them (a Map iteration sees a copy of the outer ones),
and Step Functions' size limits: a state's input, a task's result, a state's output, each
assigned variable and each Assign as a whole hold at most 256 KiB of JSON (UTF-8), or the run
fails with States.DataLimitExceeded. Not a full ASL engine: enough to run the backfill fan-out
against DynamoDB Local.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from typing import Any

import jsonata

EXPRESSION = re.compile(r"^\{%(.*)%\}$", re.DOTALL)
Invoke = Callable[[str, Any], Any]
# https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html (payload size)
MAX_PAYLOAD_BYTES = 256 * 1024


class DataLimitExceededError(Exception):
    """States.DataLimitExceeded: what Step Functions fails an execution with."""


def check_size(what: str, value: Any) -> None:
    """Fail as Step Functions does when ``value`` is over 256 KiB of JSON."""
    size = len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
    if size > MAX_PAYLOAD_BYTES:
        raise DataLimitExceededError(f"{what} is {size} bytes, over {MAX_PAYLOAD_BYTES}")


def evaluate(template: Any, states: dict[str, Any], variables: dict[str, Any]) -> Any:
    """A field's value: JSONata in "{% %}" evaluated, objects and lists walked, the rest as is."""
    if isinstance(template, str):
        match = EXPRESSION.match(template)
        if not match:
            return template
        expression = jsonata.Jsonata(match.group(1))
        frame = expression.create_frame()
        frame.bind("states", states)
        for name, value in variables.items():
            frame.bind(name, value)
        return expression.evaluate(None, frame)
    if isinstance(template, dict):
        return {key: evaluate(value, states, variables) for key, value in template.items()}
    if isinstance(template, list):
        return [evaluate(value, states, variables) for value in template]
    return template


def run(
    machine: dict[str, Any],
    state_input: Any,
    invoke: Invoke,
    variables: dict[str, Any] | None = None,
    context: dict[str, Any] | None = None,
) -> Any:
    """Run ``machine`` (a definition or an ItemProcessor) on ``state_input``; its final output."""
    scope = dict(variables or {})
    name = machine["StartAt"]
    data = state_input
    while True:
        state = machine["States"][name]
        check_size(f"the input of state {name}", data)
        states = {"input": data, "context": context or {}}
        kind = state["Type"]
        if kind == "Choice":
            name = next(
                (
                    choice["Next"]
                    for choice in state["Choices"]
                    if evaluate(choice["Condition"], states, scope)
                ),
                state["Default"],
            )
            continue
        if kind == "Pass":
            result = data
        elif kind == "Task":
            assert state["Resource"].endswith(":states:::lambda:invoke"), state["Resource"]
            arguments = evaluate(state["Arguments"], states, scope)
            result = {
                "Payload": invoke(arguments["FunctionName"], copy.deepcopy(arguments["Payload"]))
            }
            check_size(f"the result of task {name}", result)
            states["result"] = result
        elif kind == "Map":
            items = evaluate(state["Items"], states, scope)
            result = []
            for index, item in enumerate(items):
                item_context = {"Map": {"Item": {"Index": index, "Value": item}}}
                item_input = evaluate(
                    state["ItemSelector"], {"input": data, "context": item_context}, scope
                )
                result.append(run(state["ItemProcessor"], item_input, invoke, copy.deepcopy(scope)))
            check_size(f"the result of map {name}", result)
            states["result"] = result
        else:
            raise NotImplementedError(kind)
        output = evaluate(state["Output"], states, scope) if "Output" in state else result
        check_size(f"the output of state {name}", output)
        assigned = evaluate(state.get("Assign", {}), states, scope)
        check_size(f"the Assign of state {name}", assigned)
        for variable, value in assigned.items():
            check_size(f"variable ${variable} of state {name}", value)
        scope.update(assigned)
        if state.get("End"):
            return output
        data, name = output, state["Next"]
