"""DELETE /resources/{resource}/defaults: delete a resource's default limits and unregister it."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from handlers import routes
from handlers.http_api import (
    build_resolver,
    log_mutation,
    namespace_store,
    precondition,
    principal,
    query_parameters,
    resource_parameter,
    serve,
)
from resource_registry.observability import logger, metrics, tracer

app = build_resolver()


@serve(app, routes.DELETE_DEFAULTS)
def delete_defaults(**_path: str) -> Response[str]:
    event = app.current_event
    log_mutation(event, "delete defaults")
    query_parameters(event)
    namespace_store(event).delete_defaults(
        resource_parameter(event), precondition(event), principal(event)
    )
    metrics.add_metric(name="DefaultsDeleted", unit=MetricUnit.Count, value=1)
    return Response(HTTPStatus.NO_CONTENT)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
