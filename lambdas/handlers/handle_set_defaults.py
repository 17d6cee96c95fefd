"""PUT /resources/{resource}/defaults: replace a resource's default limits and register it."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.metrics import MetricUnit

from handlers import routes
from handlers.http_api import (
    build_resolver,
    defaults_response,
    json_response,
    lambda_handler,
    principal,
    serve,
)
from handlers.request_parsing import (
    create_only,
    dry_run,
    idempotent_request,
    namespace_effective_view,
    namespace_store,
    parse_json_body,
    parse_set_request,
    precondition,
    resource_parameter,
)
from resource_registry.observability import metrics

app = build_resolver()


@serve(app, routes.SET_DEFAULTS)
def set_defaults(**_path: str) -> Response[str]:
    event = app.current_event
    only_asking = dry_run(event)
    resource = resource_parameter(event)
    limits = parse_set_request(parse_json_body(event), resource)
    store = namespace_store(event)
    defaults = store.set_defaults(
        resource,
        limits,
        precondition(event),
        create_only(event),
        principal(event),
        idempotent=idempotent_request(event, [limit.to_dict() for limit in limits]),
        dry_run=only_asking,
    )
    if only_asking:
        reach = namespace_effective_view(event).reach(resource).to_dict(resource)
        return json_response({**defaults.to_dict(), "dry_run": True, "reach": reach})
    metrics.add_metric(name="DefaultsSet", unit=MetricUnit.Count, value=1)
    return defaults_response(defaults)


handler = lambda_handler(app, mutation="set defaults")
