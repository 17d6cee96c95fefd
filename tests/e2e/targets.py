"""Where the end-to-end suite runs: `make run`'s program here, or a deployed stack.

A target is an API to drive and the table behind it. The suite writes through the API only; it
touches the table for what the API has no route for: making a namespace of its own, as
zae-limiter 0.17's ``register_namespace`` does, and purging it at the end, as its
``delete_namespace`` and ``purge_namespace`` do.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from devtools.dynamodb_local import ROOT, free_port
from devtools.layout_tables import register_namespace
from resource_registry import schema
from resource_registry.detection import detect_table
from resource_registry.errors import RegistryError
from resource_registry.layouts import NAMESPACED

# `make e2e STACK=name` sets it: the suite then runs against that stack instead of make run's.
STACK_VARIABLE = "E2E_STACK"
# The stack outputs the suite reads (infra/ names them; docs/deploy.md lists them).
API_URL_OUTPUT = "ApiUrl"
TABLE_NAME_OUTPUT = "TableName"
# Settings of the developer's shell that must not leak into a local run.
AWS_SETTINGS = (
    "AWS_PROFILE",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_DYNAMODB",
    "RESOURCE_REGISTRY_URL",
)
LOCAL_AWS = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
}
START_TIMEOUT_SECONDS = 90


class TargetError(RuntimeError):
    """The target cannot be used; the message says what to change."""


@dataclass(frozen=True)
class Target:
    """An API (its base URL, no trailing slash) and the table behind it."""

    label: str
    url: str
    table: str
    dynamodb: Any  # a DynamoDB client allowed to read and write the table
    environment: Mapping[str, str]  # what the command line runs with (its credentials)
    namespaced: bool  # whether the table has namespaces (zae-limiter 0.10 and later)

    def make_namespace(self) -> str:
        """A new active namespace, ``e2e-`` and a random part, registered as zae-limiter does."""
        name = f"e2e-{uuid.uuid4().hex[:12]}"
        register_namespace(self.dynamodb, self.table, name)
        return name

    def purge_namespace(self, name: str) -> None:
        """Remove namespace ``name`` and every item under it that GSI4 lists (its registry and
        audit events), as zae-limiter's delete_namespace then purge_namespace do. Without GSI4
        keys, idempotency records (24-hour TTL) and the healer's publish marks stay."""
        item = self.dynamodb.get_item(
            TableName=self.table, Key=schema.namespace_key(name), ConsistentRead=True
        ).get("Item")
        if item is None:
            return
        namespace_id = item[schema.ATTR_NAMESPACE_ID]["S"]
        self.dynamodb.delete_item(TableName=self.table, Key=schema.namespace_key(name))
        pages = self.dynamodb.get_paginator("query").paginate(
            TableName=self.table,
            IndexName=schema.GSI4_INDEX,
            KeyConditionExpression="#pk = :id",
            ExpressionAttributeNames={"#pk": schema.GSI4_PARTITION_KEY},
            ExpressionAttributeValues={":id": {"S": namespace_id}},
        )
        for page in pages:
            for found in page["Items"]:
                key = {
                    attribute: found[attribute]
                    for attribute in (schema.PARTITION_KEY, schema.SORT_KEY)
                }
                self.dynamodb.delete_item(TableName=self.table, Key=key)
        self.dynamodb.delete_item(TableName=self.table, Key=schema.namespace_id_key(namespace_id))


@dataclass(frozen=True)
class LocalRun:
    """`make run`'s program, serving ``url`` over ``table``; ``environment`` is a shell's that
    calls it (local credentials, none of the developer's AWS settings)."""

    url: str
    table: str
    environment: Mapping[str, str]
    log: Path


@contextmanager
def local_run(dynamodb_endpoint: str, directory: Path) -> Iterator[LocalRun]:
    """`make run`'s program (``python -m devtools.run_local``) on a free port, over a new table
    in the DynamoDB Local at ``dynamodb_endpoint``: it creates the table as make run does
    (namespaced, with the namespaces default and prod), runs the healer and serves the API.
    Its console goes to ``directory``/run.log; its change events to events.jsonl there."""
    port = free_port()
    table = f"resource-registry-{uuid.uuid4().hex[:8]}"
    shell = {
        **{key: value for key, value in os.environ.items() if key not in AWS_SETTINGS},
        **LOCAL_AWS,
    }
    environment = {
        **shell,
        "PORT": str(port),
        "TABLE_NAME": table,
        "AWS_ENDPOINT_URL_DYNAMODB": dynamodb_endpoint,
        "EVENTS_FILE": str(directory / "events.jsonl"),
        "PYTHONPATH": os.pathsep.join(
            str(ROOT / part) for part in ("", "lambdas/layer/python", "lambdas")
        ),
    }
    log = directory / "run.log"
    url = f"http://127.0.0.1:{port}"
    with log.open("w") as console:  # a file: a pipe nobody reads would stall the server
        process = subprocess.Popen(
            [sys.executable, "-m", "devtools.run_local"],
            cwd=ROOT,
            env=environment,
            stdout=console,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_until_serving(url, process, log)
            yield LocalRun(url, table, shell, log)
        finally:
            process.send_signal(signal.SIGINT)  # what Ctrl-C sends
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_serving(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"make run's program exited: {log.read_text()[-2000:]}")
        try:
            urllib.request.urlopen(f"{url}/namespaces", timeout=2).close()
            return
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    raise AssertionError(f"make run's program did not serve within {START_TIMEOUT_SECONDS} s")


def local_target(run: LocalRun, dynamodb: Any) -> Target:
    """The target of ``make test``: make run's program over the table it made."""
    return Target(
        label=f"make run ({run.url})",
        url=run.url,
        table=run.table,
        dynamodb=dynamodb,
        environment=run.environment,
        namespaced=has_namespaces(dynamodb, run.table),
    )


def has_namespaces(dynamodb: Any, table: str) -> bool:
    """Whether the table has zae-limiter's namespaces (its layout, as the service detects it)."""
    return detect_table(dynamodb, table, None).layout is NAMESPACED


def stack_outputs(cloudformation: Any, stack: str) -> tuple[str, str]:
    """The stack's ApiUrl (without its trailing slash) and TableName; TargetError when the stack
    or either output is missing."""
    try:
        (found,) = cloudformation.describe_stacks(StackName=stack)["Stacks"]
    except ClientError as error:
        message = error.response["Error"].get("Message", "")
        raise TargetError(
            f"stack {stack}: {message} (check STACK and the region: AWS_REGION or the profile's)"
        ) from None
    outputs = {output["OutputKey"]: output["OutputValue"] for output in found.get("Outputs") or []}
    missing = [name for name in (API_URL_OUTPUT, TABLE_NAME_OUTPUT) if name not in outputs]
    if missing:
        raise TargetError(
            f"stack {stack} has no output {' or '.join(missing)}: is it the ResourceRegistry "
            "stack, and has its deploy finished?"
        )
    return outputs[API_URL_OUTPUT].rstrip("/"), outputs[TABLE_NAME_OUTPUT]


def stack_target(stack: str) -> Target:
    """The target of ``make e2e STACK=...``: the stack's API, signed with the caller's
    credentials, and its table, found from the stack's outputs. TargetError says what to set."""
    try:
        # botocore reads AWS_DEFAULT_REGION and the profile, not AWS_REGION (the docs' variable)
        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        session = boto3.session.Session(region_name=region or None)
        if session.region_name is None:
            raise TargetError(
                "no AWS region: set AWS_REGION (or AWS_PROFILE with a region) to the stack's"
            )
        if session.get_credentials() is None:
            raise TargetError(
                "no AWS credentials found: set AWS_PROFILE (after aws sso login) or "
                "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
            )
        url, table = stack_outputs(session.client("cloudformation"), stack)
        dynamodb = session.client("dynamodb")
        namespaced = has_namespaces(dynamodb, table)
    except (BotoCoreError, RegistryError) as error:
        raise TargetError(f"stack {stack}: {error}") from None
    except ClientError as error:
        raise TargetError(f"stack {stack}: {error}: the suite reads the stack's table") from None
    return Target(
        label=f"stack {stack} ({url})",
        url=url,
        table=table,
        dynamodb=dynamodb,
        environment=dict(os.environ),
        namespaced=namespaced,
    )
