"""PUT /resources/{resource}/defaults: replace a resource's default limits and register it."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from handlers import routes
from handlers.http_api import (
    build_resolver,
    defaults_response,
    log_mutation,
    namespace_store,
    none_match,
    parse_json_body,
    parse_set_request,
    precondition,
    principal,
    query_parameters,
    resource_parameter,
    serve,
)
from resource_registry.observability import logger, metrics, tracer

app = build_resolver()


@serve(app, routes.SET_DEFAULTS)
def set_defaults(**_path: str) -> Response[str]:
    event = app.current_event
    log_mutation(event, "set defaults")
    query_parameters(event)
    resource = resource_parameter(event)
    limits = parse_set_request(parse_json_body(event), resource)
    store = namespace_store(event)
    defaults = store.set_defaults(
        resource, limits, precondition(event), none_match(event), principal(event)
    )
    metrics.add_metric(name="DefaultsSet", unit=MetricUnit.Count, value=1)
    return defaults_response(defaults)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
