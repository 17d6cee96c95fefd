"""Issue 6.2: what the list handler adds to the one GetItem it makes.

The handler is called in-process with an API Gateway event, the way Lambda calls it; the
baseline is the same GetItem sent bare through the handler's own client.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from benchmarks.environment import api_event, handler_of, lambda_context, point_handlers_at
from benchmarks.report import Figure, Goal, Section, ratio_below
from benchmarks.stats import elapsed_ms, median, p99
from handlers.routes import LIST_RESOURCES
from resource_registry import clients, schema

SAMPLES = 1_000
WARMUP = 100
MAX_OVERHEAD_MS = 1.0
MAX_RATIO = 1.5


def run(endpoint: str, table: str) -> Section:
    point_handlers_at(endpoint, table)
    section = Section(2, "Handler overhead (list handler in-process vs bare GetItem)")
    handler_ms, bare_ms = _paired_samples(_handler_call(), _bare_get_item(table))
    overheads = [handler - bare for handler, bare in zip(handler_ms, bare_ms, strict=True)]
    samples = f"n={SAMPLES}"
    section.figures += [
        Figure(
            f"list handler median latency ({samples})",
            median(handler_ms),
            median(bare_ms),
            "ms",
            goal=ratio_below(MAX_RATIO),
        ),
        Figure(
            "list handler median overhead (paired; vs the GetItem)",
            median(overheads),
            median(bare_ms),
            "ms",
            goal=Goal(f"< {MAX_OVERHEAD_MS:g} ms", lambda f: f.measured < MAX_OVERHEAD_MS),
        ),
        Figure(f"list handler p99 latency ({samples})", p99(handler_ms), p99(bare_ms), "ms"),
    ]
    section.notes.append(
        "Calls alternate between the handler and the bare GetItem so that both see the same "
        "DynamoDB Local and machine load; POWERTOOLS_TRACE_DISABLED=1, log level WARNING."
    )
    return section


def _handler_call() -> Callable[[], Any]:
    handler, context = handler_of(LIST_RESOURCES), lambda_context(LIST_RESOURCES)
    events = iter([api_event(LIST_RESOURCES) for _ in range(SAMPLES + WARMUP)])

    def call() -> None:
        response = handler(next(events), context)
        if response["statusCode"] != 200:
            raise AssertionError(f"the list handler answered {response}")

    return call


def _bare_get_item(table: str) -> Callable[[], Any]:
    # The handler's own client, so the difference is the handler and nothing else.
    client: Any = clients.dynamodb_client()
    request = {
        "TableName": table,
        "Key": schema.registry_key(),
        "ProjectionExpression": "#resources",
        "ExpressionAttributeNames": {"#resources": schema.ATTR_RESOURCES},
        "ConsistentRead": False,
    }
    return lambda: client.get_item(**request)


def _paired_samples(
    first: Callable[[], Any], second: Callable[[], Any]
) -> tuple[list[float], list[float]]:
    for _ in range(WARMUP):
        first()
        second()
    first_ms: list[float] = []
    second_ms: list[float] = []
    for _ in range(SAMPLES):
        first_ms.append(elapsed_ms(first))
        second_ms.append(elapsed_ms(second))
    return first_ms, second_ms
