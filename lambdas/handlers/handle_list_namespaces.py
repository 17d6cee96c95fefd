"""GET /namespaces: the active namespaces of the table (``default`` alone on older layouts)."""

from __future__ import annotations

from handlers import routes
from handlers.http_api import build_resolver, lambda_handler, serve
from handlers.request_parsing import query_parameters
from resource_registry import service

app = build_resolver()


@serve(app, routes.LIST_NAMESPACES)
def list_namespaces() -> dict[str, list[str]]:
    query_parameters(app.current_event)
    return {"namespaces": [namespace.name for namespace in service.namespaces().active()]}


handler = lambda_handler(app)
