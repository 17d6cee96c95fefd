"""DELETE /resources/{resource}/defaults: delete a resource's default limits and unregister it."""

from __future__ import annotations

from http import HTTPStatus

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.metrics import MetricUnit

from handlers import routes
from handlers.http_api import build_resolver, json_response, lambda_handler, principal, serve
from handlers.request_parsing import (
    dry_run,
    idempotent_request,
    namespace_effective_view,
    namespace_store,
    precondition,
    resource_parameter,
)
from resource_registry.observability import metrics

app = build_resolver()


@serve(app, routes.DELETE_DEFAULTS)
def delete_defaults(**_path: str) -> Response[str]:
    event = app.current_event
    only_asking = dry_run(event)
    resource = resource_parameter(event)
    namespace_store(event).delete_defaults(
        resource,
        precondition(event),
        principal(event),
        idempotent=idempotent_request(event, None),
        dry_run=only_asking,
    )
    if only_asking:
        reach = namespace_effective_view(event).reach(resource).to_dict(resource)
        return json_response(
            {"resource": resource, "limits": None, "dry_run": True, "reach": reach}
        )
    metrics.add_metric(name="DefaultsDeleted", unit=MetricUnit.Count, value=1)
    return Response(HTTPStatus.NO_CONTENT)


handler = lambda_handler(app, mutation="delete defaults")
