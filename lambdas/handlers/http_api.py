"""The HTTP edge shared by the API handlers: the resolver, error statuses, answers and ETags.

What a request says is parsed in request_parsing.py.

Domain errors map to statuses here and only here. No client input may produce a 5xx, and no error
response carries a stack trace, a table name or an account detail.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from aws_lambda_powertools.utilities.typing import LambdaContext

from handlers.error_codes import EdgeErrorCode
from handlers.request_parsing import DRY_RUN_PARAMETER, HttpError
from handlers.routes import JSON_MEDIA_TYPE, Route, unencoded_slash_hint
from resource_registry.errors import (
    ConcurrentUpdateError,
    ErrorCode,
    IdempotencyKeyReusedError,
    InvalidInputError,
    NamespaceNotFoundError,
    NotOnThisLayoutError,
    PreconditionFailedError,
    RegistryError,
    RegistryFullError,
    ResourceChangingError,
    ResourceNotFoundError,
    ServiceUnavailableError,
    UnrepresentableLimitError,
    UnsupportedTableError,
)
from resource_registry.json_text import dumps
from resource_registry.model import ResourceDefaults
from resource_registry.observability import logger, metrics, tracer

RETRY_AFTER_SECONDS = "1"
# Given Lambda's context, or a stand-in with its attributes (the local server's, the tests').
LambdaHandler = Callable[[dict[str, Any], Any], dict[str, Any]]


def build_resolver() -> APIGatewayRestResolver:
    """A REST resolver whose every error answer is JSON with a status from the table below."""
    # Every body, dicts a route returns too, through one encoder: stored numbers exactly.
    app = APIGatewayRestResolver(serializer=dumps)
    # Status, and whether the same request may succeed later (a Retry-After is sent).
    statuses: list[tuple[type[RegistryError], HTTPStatus, bool]] = [
        (InvalidInputError, HTTPStatus.BAD_REQUEST, False),
        (ResourceNotFoundError, HTTPStatus.NOT_FOUND, False),
        (NamespaceNotFoundError, HTTPStatus.NOT_FOUND, False),
        (PreconditionFailedError, HTTPStatus.PRECONDITION_FAILED, False),
        # An Idempotency-Key reused for another request: the client's mistake, not a conflict.
        (IdempotencyKeyReusedError, HTTPStatus.UNPROCESSABLE_ENTITY, False),
        (ConcurrentUpdateError, HTTPStatus.CONFLICT, True),
        (RegistryFullError, HTTPStatus.CONFLICT, False),
        (UnrepresentableLimitError, HTTPStatus.CONFLICT, False),
        # The table's layout keeps nothing of what is asked (the effective view on 0.6-0.7): the
        # table's state, which a migration changes, not the request.
        (NotOnThisLayoutError, HTTPStatus.CONFLICT, False),
        (ResourceChangingError, HTTPStatus.SERVICE_UNAVAILABLE, True),
        (ServiceUnavailableError, HTTPStatus.SERVICE_UNAVAILABLE, True),
        # A table of a zae-limiter schema this service does not know: an operator must act.
        (UnsupportedTableError, HTTPStatus.SERVICE_UNAVAILABLE, False),
    ]
    for error_class, status, retry_later in statuses:
        app.exception_handler(error_class)(_answer_with(status, retry_later))

    @app.exception_handler(HttpError)
    def refused(error: HttpError) -> Response[str]:
        return error_response(error.status, str(error), error.code)

    @app.exception_handler(Exception)
    def unexpected(error: Exception) -> Response[str]:
        logger.exception("unexpected error")
        return error_response(
            HTTPStatus.INTERNAL_SERVER_ERROR,
            f"internal error; quote request id {_request_id(app.current_event)} when reporting it",
            EdgeErrorCode.INTERNAL_ERROR,
        )

    @app.not_found
    def no_route(_: Exception) -> Response[str]:
        event = app.current_event
        return error_response(
            HTTPStatus.NOT_FOUND,
            f"no route for {event.http_method} {event.path}{unencoded_slash_hint(event.path)}",
            EdgeErrorCode.NO_ROUTE,
        )

    return app


def lambda_handler(app: APIGatewayRestResolver, mutation: str | None = None) -> LambdaHandler:
    """The function's entry point: ``app`` resolves the event, under Powertools' logging (with
    the request's correlation id), tracing and metrics. A function that changes defaults names
    the change (``mutation``): each request is logged with who asked and how it ended."""

    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
    @tracer.capture_lambda_handler
    @metrics.log_metrics
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        answer = app.resolve(event, context)
        if mutation is not None:
            log_mutation(APIGatewayProxyEvent(event), mutation, answer)
        return answer

    return handler


def serve(app: APIGatewayRestResolver, route: Route) -> Any:
    """Register the decorated function for every path of ``route``."""

    def register(function: Any) -> Any:
        for path in route.resolver_paths:
            app.route(path, method=route.method)(function)
        return function

    return register


def error_response(
    status: HTTPStatus, message: str, code: ErrorCode | EdgeErrorCode
) -> Response[str]:
    """The JSON error body every failure answers with."""
    return Response(status, JSON_MEDIA_TYPE, dumps({"message": message, "code": code.value}))


def not_modified(token: str) -> Response[str]:
    """304: the client's copy (at ETag ``token``) is current; no body, the ETag again."""
    return Response(HTTPStatus.NOT_MODIFIED, headers={"ETag": etag(token)})


def etag(token: str) -> str:
    """The strong ETag header value of a resource's ETag token."""
    return f'"{token}"'


def defaults_response(defaults: ResourceDefaults) -> Response[str]:
    """200 with the resource's limits and its ETag."""
    return tagged_response(defaults.to_dict(), defaults.etag)


def tagged_response(body: dict[str, Any], token: str) -> Response[str]:
    """200 with ``body`` and the ETag of ``token``."""
    return Response(HTTPStatus.OK, JSON_MEDIA_TYPE, dumps(body), headers={"ETag": etag(token)})


def json_response(body: dict[str, Any]) -> Response[str]:
    """200 with ``body`` and no ETag (a dry run's answer describes no stored state)."""
    return Response(HTTPStatus.OK, JSON_MEDIA_TYPE, dumps(body))


def principal(event: APIGatewayProxyEvent) -> str | None:
    """The caller's IAM identity, as API Gateway's IAM authorisation verified it (the local
    server passes its own, documented one); None if the request carries none."""
    identity = event.request_context.identity
    return identity.user_arn or identity.caller or None


def log_mutation(event: APIGatewayProxyEvent, action: str, answer: dict[str, Any]) -> None:
    """Record who asked for a change and how it ended: applied, answered as a dry run (nothing
    written), or refused with its status and code."""
    identity = event.request_context.identity
    status = int(answer.get("statusCode", 0))
    applied = status < HTTPStatus.MULTIPLE_CHOICES
    outcome: dict[str, Any] = {"outcome": "applied" if applied else "refused", "status": status}
    if applied and _asked_dry_run(event):
        outcome["outcome"] = "dry run"
    if not applied:
        try:
            outcome["code"] = json.loads(answer.get("body") or "{}").get("code")
        except (ValueError, AttributeError):
            outcome["code"] = None
    logger.info(
        action,
        extra={
            # As sent: a refused request is logged too, so its name may be invalid (hence cut).
            "resource": (event.path_parameters or {}).get("resource", "")[:80],
            "caller": principal(event) or "anonymous",
            "source_ip": identity.source_ip,
            "request_id": _request_id(event),
            **outcome,
        },
    )


def _asked_dry_run(event: APIGatewayProxyEvent) -> bool:
    """Whether a write that succeeded was a dry run (its query parsed already: true or false)."""
    value = (event.query_string_parameters or {}).get(DRY_RUN_PARAMETER, "")
    return value.lower() == "true"


def _answer_with(status: HTTPStatus, retry_later: bool) -> Any:
    def answer(error: RegistryError) -> Response[str]:
        response = error_response(status, str(error), error.code)
        if retry_later:
            response.headers["Retry-After"] = RETRY_AFTER_SECONDS
        return response

    return answer


def _request_id(event: APIGatewayProxyEvent) -> str:
    return event.request_context.request_id or "unknown"
