"""GET /entities/{entity}/resources/{resource}/effective: the limits zae-limiter applies to an
entity on a resource, the level that decided each, and what every level holds."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response

from handlers import routes
from handlers.http_api import build_resolver, lambda_handler, not_modified, serve, tagged_response
from handlers.request_parsing import (
    entity_parameter,
    namespace_effective_view,
    none_match,
    query_parameters,
    resource_parameter,
)

app = build_resolver()


@serve(app, routes.GET_EFFECTIVE_LIMITS)
def get_effective_limits(**_path: str) -> Response[str]:
    event = app.current_event
    query_parameters(event)
    entity, resource = entity_parameter(event), resource_parameter(event)
    effective = namespace_effective_view(event).explain(entity, resource)
    condition = none_match(event)
    if condition is not None and condition.fails(True, effective.etag):
        return not_modified(effective.etag)
    return tagged_response(effective.body, effective.etag)


handler = lambda_handler(app)
