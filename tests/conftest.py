"""Shared fixtures: a moto table, a DynamoDB Local table, API events."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from hypothesis import settings
from moto import mock_aws

from devtools.dynamodb_local import DynamoDBLocal, create_table
from devtools.local_server import LocalContext, RouteTable, build_event
from resource_registry import layouts, schema, service
from resource_registry import table as served_table
from resource_registry.dynamodb import all_items
from resource_registry.store import RegistryStore

REGION = "us-east-1"
# moto keeps boto3's default session between tests: a new one loads every service model again,
# which was most of a unit test's time; credentials and region come from the environment anyway.
MOTO_CONFIG: Any = {"core": {"reset_boto3_session": False}}
# Every test: a handler's DynamoDB requests must be ones its role in the stack allows.
pytest_plugins = ["tests.iam_fidelity"]
# No property test is timed: speed is make bench's, and a loaded machine's clock must not fail one
# (Hypothesis's default 200 ms deadline did, on a 2-core machine running the suite in parallel).
settings.register_profile("suite", deadline=None)
settings.load_profile("suite")


@pytest.fixture(autouse=True)
def aws_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fake credentials and a region for every test, and no cached client between tests."""
    # No TABLE_NAME either: a test that needs a table says which (the functions have no default).
    for variable in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "TABLE_NAME"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "ResourceRegistryTests")
    service.reset()
    yield
    service.reset()


class Table:
    """A table under test: its client, its name and a store over it."""

    def __init__(self, client: Any, name: str) -> None:
        self.client = client
        self.name = name
        # The suite's own tables have their keys and nothing else: detection finds them flat.
        self.served = served_table.Table(client, name, layouts.FLAT)
        self.store = RegistryStore(self.served)

    def items(self) -> list[dict[str, Any]]:
        """Every item, sorted by key: a full dump to compare before and after."""
        items = all_items(self.client.scan, TableName=self.name, ConsistentRead=True)
        return sorted(items, key=lambda item: (item["PK"]["S"], item["SK"]["S"]))

    def registry(self) -> set[str]:
        item = self.client.get_item(
            TableName=self.name, Key=schema.registry_key(), ConsistentRead=True
        ).get("Item", {})
        return set(item.get(schema.ATTR_RESOURCES, {}).get("SS", []))

    def resources_with_limits(self) -> set[str]:
        return {
            item["PK"]["S"].removeprefix(schema.RESOURCE_PREFIX)
            for item in self.items()
            if item["PK"]["S"].startswith(schema.RESOURCE_PREFIX)
            and schema.is_limit_sk(item["SK"]["S"])
        }

    def put_raw(self, item: dict[str, Any]) -> None:
        self.client.put_item(TableName=self.name, Item=item)


@pytest.fixture
def moto_table(monkeypatch: pytest.MonkeyPatch) -> Iterator[Table]:
    """A fresh table in moto, configured as the handlers' table."""
    with mock_aws(config=MOTO_CONFIG):
        client = boto3.client("dynamodb", region_name=REGION)
        name = "registry-unit"
        client.create_table(
            TableName=name, BillingMode="PAY_PER_REQUEST", **schema.table_key_definition()
        )
        monkeypatch.setenv("TABLE_NAME", name)
        yield Table(client, name)


@pytest.fixture(scope="session")
def dynamodb_local() -> Iterator[DynamoDBLocal]:
    """One in-memory DynamoDB Local per test process, on a free port, stopped at the end."""
    local = DynamoDBLocal()
    local.start()
    yield local
    local.stop()


@pytest.fixture
def local_table(dynamodb_local: DynamoDBLocal, monkeypatch: pytest.MonkeyPatch) -> Table:
    """A fresh table in DynamoDB Local, configured as the handlers' table."""
    name = f"registry-{uuid.uuid4().hex[:12]}"
    client = dynamodb_local.client()
    create_table(client, name)
    monkeypatch.setenv("TABLE_NAME", name)
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", dynamodb_local.endpoint)
    return Table(client, name)


def api_call(
    method: str,
    path: str,
    *,
    body: Any = None,
    headers: dict[str, str] | None = None,
    query: str = "",
) -> dict[str, Any]:
    """Call the handler of a route in-process with an API Gateway event, as Lambda would.

    ``path`` is the percent-encoded path; the response gains ``headers`` and ``json`` for tests.
    """
    route, parameters, _ = ROUTE_TABLE.match(method, path)
    assert route is not None, f"no route for {method} {path}"
    all_headers = dict(headers or {})
    if body is not None and not isinstance(body, str):
        body = json.dumps(body)
        all_headers.setdefault("Content-Type", "application/json")
    event = build_event(
        route,
        path,
        query=query,
        headers=list(all_headers.items()),
        body=body,
        path_parameters=parameters,
    )
    handler = ROUTE_TABLE.handler_of(route)
    response: dict[str, Any] = handler(event, LocalContext(route.function_id, "test-request"))
    multi = response.get("multiValueHeaders") or {}
    response["headers"] = {name: values[-1] for name, values in multi.items()}
    response["json"] = json.loads(response["body"]) if response.get("body") else None
    return response


ROUTE_TABLE = RouteTable()
