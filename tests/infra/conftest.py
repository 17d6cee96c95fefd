"""Synthesis of the stack for template tests, and helpers to read the synthesized template."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# jsii starts its Node process on the first aws_cdk import; keep its banner out of test output.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")

from aws_cdk import App, Stack
from aws_cdk.assertions import Template

from handlers import routes
from infra.sources import PROJECT_ROOT
from infra.stack import create_stack

# The handler string of every function, by function id: how a test finds a function in a template.
HANDLERS = {route.function_id: route.handler for route in routes.API_ROUTES} | {
    routes.BACKFILL_FUNCTION_ID: routes.BACKFILL_HANDLER
}


@dataclass
class Synthesized:
    """A synthesized stack, its template, and where its cloud assembly was written."""

    stack: Stack
    template: Template
    outdir: Path
    resources: dict[str, dict[str, Any]] = field(init=False)

    def __post_init__(self) -> None:
        self.resources = self.template.to_json()["Resources"]

    def of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        """The template's resources of one CloudFormation type, by logical id."""
        return {
            logical_id: resource
            for logical_id, resource in self.resources.items()
            if resource["Type"] == resource_type
        }

    def function_logical_id(self, function_id: str) -> str:
        """The logical id of the function that runs ``function_id``'s handler."""
        matches = [
            logical_id
            for logical_id, function in self.of_type("AWS::Lambda::Function").items()
            if function["Properties"]["Handler"] == HANDLERS[function_id]
        ]
        assert len(matches) == 1, f"{function_id}: expected one function, found {matches}"
        return matches[0]

    def function(self, function_id: str) -> dict[str, Any]:
        """The properties of the function that runs ``function_id``'s handler."""
        function = self.resources[self.function_logical_id(function_id)]
        properties: dict[str, Any] = function["Properties"]
        return properties


def synthesize(outdir: Path, **context: str) -> Synthesized:
    """Synthesize the stack as `cdk synth` does, with cdk.json's context plus ``context``."""
    cdk_json = json.loads((PROJECT_ROOT / "cdk.json").read_text(encoding="utf-8"))
    app = App(outdir=str(outdir), context={**cdk_json.get("context", {}), **context})
    stack = create_stack(app)
    return Synthesized(stack, Template.from_stack(stack), outdir)


def table_arn(synthesized: Synthesized) -> Any:
    """How the template refers to the ARN of the table it creates."""
    (table_id,) = synthesized.of_type("AWS::DynamoDB::Table")
    return {"Fn::GetAtt": [table_id, "Arn"]}


def as_list(value: Any) -> list[Any]:
    """An IAM field that may be one value or a list of them, as a list."""
    return value if isinstance(value, list) else [value]


def role_statements(synthesized: Synthesized, function_id: str) -> list[dict[str, Any]]:
    """Every statement the function's role holds: inline, and in any policy attached to it."""
    role_id = synthesized.function(function_id)["Role"]["Fn::GetAtt"][0]
    role = synthesized.resources[role_id]["Properties"]
    documents = [policy["PolicyDocument"] for policy in role.get("Policies", [])]
    documents += [
        policy["Properties"]["PolicyDocument"]
        for policy in synthesized.of_type("AWS::IAM::Policy").values()
        if {"Ref": role_id} in policy["Properties"].get("Roles", [])
    ]
    return [statement for document in documents for statement in document["Statement"]]
