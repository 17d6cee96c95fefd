"""GET /resources/{resource}/defaults: a resource's default limits and their ETag."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response

from handlers import routes
from handlers.http_api import (
    build_resolver,
    defaults_response,
    lambda_handler,
    not_modified,
    serve,
)
from handlers.request_parsing import (
    namespace_store,
    none_match,
    query_parameters,
    resource_parameter,
)

app = build_resolver()


@serve(app, routes.GET_DEFAULTS)
def get_defaults(**_path: str) -> Response[str]:
    event = app.current_event
    query_parameters(event)
    defaults = namespace_store(event).get_defaults(resource_parameter(event))
    condition = none_match(event)
    if condition is not None and condition.fails(True, defaults.etag):
        return not_modified(defaults.etag)
    return defaults_response(defaults)


handler = lambda_handler(app)
