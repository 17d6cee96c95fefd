"""GET /resources: the names of all resources with defaults, from one GetItem of the registry."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from handlers import routes
from handlers.http_api import build_resolver, namespace_store, query_parameters, serve
from resource_registry.errors import InvalidInputError
from resource_registry.observability import logger, metrics, tracer

app = build_resolver()
CONSISTENT_VALUES = {"true": True, "false": False}


@serve(app, routes.LIST_RESOURCES)
def list_resources(**_path: str) -> dict[str, list[str]]:
    parameters = query_parameters(app.current_event, allowed=("consistent",))
    value = parameters.get("consistent", "false").lower()
    if value not in CONSISTENT_VALUES:
        raise InvalidInputError("consistent must be 'true' or 'false'")
    return {
        "resources": namespace_store(app.current_event).list_resources(
            consistent=CONSISTENT_VALUES[value]
        )
    }


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
