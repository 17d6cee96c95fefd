"""A route's handler called in-process, as Lambda calls it, its output kept off the terminal."""

from __future__ import annotations

import json
import logging
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devtools.local_server import LocalContext, RouteTable, build_event
from handlers.routes import JSON_MEDIA_TYPE, Route

ROUTES = RouteTable()


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: Any


def invoke(
    route: Route,
    resource: str | None = None,
    *,
    body: Any = None,
    if_match: str | None = None,
    query: str = "",
) -> Answer:
    """Call a route's handler in-process with an API Gateway event, as Lambda would."""
    path = route.path if resource is None else route.path.replace("{resource}", resource)
    headers = [("Content-Type", JSON_MEDIA_TYPE)] if body is not None else []
    if if_match is not None:
        headers.append(("If-Match", if_match))
    event = build_event(
        route,
        path,
        query=query,
        headers=headers,
        body=None if body is None else json.dumps(body),
        path_parameters=None if resource is None else {"resource": resource},
    )
    context = LocalContext(route.function_id, event["requestContext"]["requestId"])
    answer = ROUTES.handler_of(route)(event, context)
    answer_headers = {name: values[-1] for name, values in answer["multiValueHeaders"].items()}
    text = answer.get("body")
    return Answer(answer["statusCode"], answer_headers, json.loads(text) if text else None)


@contextmanager
def quiet_handlers() -> Iterator[None]:
    """No per-request log lines, metrics or warnings on the terminal while the harness runs."""
    from resource_registry.observability import logger

    level = logger.log_level
    logger.setLevel(logging.WARNING)
    # Powertools prints metrics whenever 100 accumulate, whatever POWERTOOLS_METRICS_DISABLED says.
    with (
        Path(os.devnull).open("w") as devnull,
        redirect_stdout(devnull),
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("ignore", UserWarning)
        try:
            yield
        finally:
            logger.setLevel(level)
