"""GET /resources/{resource}/history: the resource's audit events, newest first, a page at a time.

Events this service wrote and events zae-limiter wrote, from one Query of the audit partition.
"""

from __future__ import annotations

from typing import Any

from handlers import routes
from handlers.http_api import build_resolver, lambda_handler, serve
from handlers.request_parsing import namespace_store, query_parameters, resource_parameter
from resource_registry.audit import DEFAULT_PAGE, MAX_PAGE, MIN_PAGE
from resource_registry.errors import InvalidInputError

app = build_resolver()


@serve(app, routes.GET_HISTORY)
def get_history(**_path: str) -> dict[str, Any]:
    event = app.current_event
    parameters = query_parameters(event, allowed=("limit", "cursor"))
    resource = resource_parameter(event)
    page = namespace_store(event).history(
        resource, page_size(parameters.get("limit")), parameters.get("cursor")
    )
    return {
        "resource": resource,
        "events": [audit_event.to_dict() for audit_event in page.events],
        "next_cursor": page.next_cursor,
    }


def page_size(value: str | None) -> int:
    """The ``limit`` query parameter: a whole number from 1 to 100, 20 when absent."""
    if value is None:
        return DEFAULT_PAGE
    if len(value) > 3 or not value.isascii() or not value.isdigit():
        raise InvalidInputError(f"limit must be a whole number from {MIN_PAGE} to {MAX_PAGE}")
    if not MIN_PAGE <= int(value) <= MAX_PAGE:
        raise InvalidInputError(f"limit must be a whole number from {MIN_PAGE} to {MAX_PAGE}")
    return int(value)


handler = lambda_handler(app)
