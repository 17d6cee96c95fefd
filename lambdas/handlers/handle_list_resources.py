"""GET /resources: the names of all resources with defaults, from one GetItem of the registry."""

from __future__ import annotations

from handlers import routes
from handlers.http_api import build_resolver, lambda_handler, serve
from handlers.request_parsing import namespace_store, query_parameters
from resource_registry.errors import InvalidInputError

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


handler = lambda_handler(app)
