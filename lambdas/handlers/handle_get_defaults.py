"""GET /resources/{resource}/defaults: a resource's default limits and their ETag."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from handlers import routes
from handlers.http_api import (
    build_resolver,
    defaults_response,
    namespace_store,
    none_match,
    not_modified,
    query_parameters,
    resource_parameter,
    serve,
)
from resource_registry.observability import logger, metrics, tracer

app = build_resolver()


@serve(app, routes.GET_DEFAULTS)
def get_defaults(**_path: str) -> Response[str]:
    event = app.current_event
    query_parameters(event)
    defaults = namespace_store(event).get_defaults(resource_parameter(event))
    condition = none_match(event)
    if condition is not None and condition.fails(True, defaults.etag):
        return not_modified(defaults)
    return defaults_response(defaults)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
