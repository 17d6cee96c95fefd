"""GET /namespaces: the active namespaces of the table (``default`` alone on older layouts)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from handlers import routes
from handlers.http_api import build_resolver, query_parameters, serve
from resource_registry import service
from resource_registry.observability import logger, metrics, tracer

app = build_resolver()


@serve(app, routes.LIST_NAMESPACES)
def list_namespaces() -> dict[str, list[str]]:
    query_parameters(app.current_event)
    return {"namespaces": [scope.name for scope in service.namespaces().active()]}


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
