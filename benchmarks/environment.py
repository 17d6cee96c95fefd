"""The process settings the benchmarks run under, and in-process calls of the API handlers."""

from __future__ import annotations

import importlib
import io
import json
import os
import warnings
from collections.abc import Callable
from contextlib import redirect_stdout
from typing import Any

from devtools.local_server import LocalContext, build_event
from handlers.routes import Route
from resource_registry import service

REGION = "us-east-1"
Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


def configure_process() -> None:
    """Local credentials and quiet Powertools, set before any handler module is imported."""
    os.environ.update(
        {
            # DynamoDB Local takes any credentials; these also keep a profile from being read.
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "POWERTOOLS_SERVICE_NAME": "resource-registry",
            "POWERTOOLS_METRICS_NAMESPACE": "ResourceRegistryBenchmarks",
            "POWERTOOLS_TRACE_DISABLED": "1",
            "POWERTOOLS_LOG_LEVEL": "WARNING",
        }
    )
    os.environ.pop("AWS_PROFILE", None)
    # The list handler flushes no metrics; Powertools warns about that on every call.
    warnings.filterwarnings("ignore", message="No application metrics to publish")


def point_handlers_at(endpoint: str, table: str) -> None:
    """Make the handlers' lazily created client and store use ``table`` at ``endpoint``."""
    os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = endpoint
    os.environ["TABLE_NAME"] = table
    service.reset()


def handler_of(route: Route) -> Handler:
    handler: Handler = importlib.import_module(f"handlers.{route.module}").handler
    return handler


def api_event(route: Route, resource: str | None = None, body: Any = None) -> dict[str, Any]:
    """The API Gateway event of one request, as the local server builds it."""
    path = route.path.replace("{resource}", resource) if resource else route.path
    return build_event(
        route,
        path,
        headers=[("Content-Type", "application/json")] if body is not None else [],
        body=None if body is None else json.dumps(body),
        path_parameters={"resource": resource} if resource else None,
    )


def lambda_context(route: Route) -> LocalContext:
    return LocalContext(route.function_id, "benchmark")


def call_api(route: Route, resource: str | None = None, body: Any = None) -> dict[str, Any]:
    """One request through the route's handler; the metrics it prints (EMF) are swallowed."""
    with redirect_stdout(io.StringIO()):
        return handler_of(route)(api_event(route, resource, body), lambda_context(route))
