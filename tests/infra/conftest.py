"""Synthesis of the stack for template tests, and helpers to read the synthesized template."""

from __future__ import annotations

import hashlib
import json
import os
import sys
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from handlers import routes
from infra.sources import PROJECT_ROOT

if TYPE_CHECKING:
    from aws_cdk import Stack
    from aws_cdk.assertions import Template

# jsii starts its Node process on the first aws_cdk import (a synthesis imports it, not this
# module: a cached synthesis needs no Node); keep its banner out of test output.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")

SYNTH_CACHE_DIR = PROJECT_ROOT / "build" / "synthesized-templates"
# The files outside infra/ and lambdas/ a synthesis reads (this one builds the app).
SYNTHESIS_INPUTS = ("cdk.json", "constraints.txt", "requirements.txt", "tests/infra/conftest.py")
# The handler string of every function, by function id: how a test finds a function in a template.
HANDLERS = {route.function_id: route.handler for route in routes.API_ROUTES} | {
    routes.BACKFILL_FUNCTION_ID: routes.BACKFILL_HANDLER,
    routes.HEALER_FUNCTION_ID: routes.HEALER_HANDLER,
}


class Synthesized:
    """A synthesis of the stack: its template as JSON, its Stack and Template, and where its
    cloud assembly was written.

    The template of a synthesis of the very same sources and context is kept under build/ (a
    synthesis costs over ten seconds of CPU, and the IAM fidelity plugin needs one in every test
    process). When there is one, the stack itself is synthesized only on first use of ``stack``,
    ``template`` or ``outdir``.
    """

    def __init__(self, outdir: Path, context: dict[str, str]) -> None:
        self._outdir = outdir
        self._context = context
        self._cache = SYNTH_CACHE_DIR / f"{synthesis_key(context)}.json"
        if not self._cache.exists():
            self._synthesis  # noqa: B018 - nothing cached: synthesize now (and fail now)

    @cached_property
    def _synthesis(self) -> tuple[Stack, Template]:
        from aws_cdk import App
        from aws_cdk.assertions import Template

        from infra.stack import create_stack

        cdk_json = json.loads((PROJECT_ROOT / "cdk.json").read_text(encoding="utf-8"))
        context = {**cdk_json.get("context", {}), **self._context}
        app = App(outdir=str(self._outdir), context=context)
        stack = create_stack(app)
        template = Template.from_stack(stack)
        _write_atomically(self._cache, json.dumps(template.to_json()))
        return stack, template

    @property
    def stack(self) -> Stack:
        return self._synthesis[0]

    @property
    def template(self) -> Template:
        return self._synthesis[1]

    @property
    def outdir(self) -> Path:
        self._synthesis  # noqa: B018 - the assembly is there once the stack is synthesized
        return self._outdir

    @cached_property
    def document(self) -> dict[str, Any]:
        """The template as JSON: Resources, Outputs, Parameters..."""
        if "_synthesis" not in self.__dict__ and self._cache.exists():
            cached: dict[str, Any] = json.loads(self._cache.read_text(encoding="utf-8"))
            return cached
        return dict(self.template.to_json())

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        """The template's resources, by logical id."""
        resources: dict[str, dict[str, Any]] = self.document["Resources"]
        return resources

    @property
    def outputs(self) -> dict[str, dict[str, Any]]:
        """The template's outputs, by name."""
        outputs: dict[str, dict[str, Any]] = self.document.get("Outputs", {})
        return outputs

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
    """The stack as `cdk synth` makes it, with cdk.json's context plus ``context``."""
    return Synthesized(outdir, context)


def synthesis_key(context: dict[str, str]) -> str:
    """A digest of everything a synthesis is made from: the stack's and the functions' sources,
    cdk.json, the pins (aws-cdk-lib's version among them), this Python, and ``context``."""
    digest = hashlib.sha256(f"{sys.version} {sorted(context.items())}".encode())
    sources = [PROJECT_ROOT / name for name in SYNTHESIS_INPUTS]
    for root in (PROJECT_ROOT / "infra", PROJECT_ROOT / "lambdas"):
        sources += sorted(
            path
            for path in root.rglob("*")
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
        )
    for path in sources:
        digest.update(f"\0{path.relative_to(PROJECT_ROOT)}\0".encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:24]


def _write_atomically(path: Path, text: str) -> None:
    """Write ``path`` so that a concurrent reader (another test worker) never sees half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)


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
