"""The HTTP edge shared by the API handlers: the resolver, error statuses, bodies and ETags.

Domain errors map to statuses here and only here. No client input may produce a 5xx, and no error
response carries a stack trace, a table name or an account detail.
"""

from __future__ import annotations

import json
import re
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

from handlers.error_codes import EdgeErrorCode
from handlers.routes import JSON_MEDIA_TYPE, NAMESPACE_PARAMETER, Route, unencoded_slash_hint
from resource_registry import schema, service
from resource_registry.errors import (
    ConcurrentUpdateError,
    ErrorCode,
    InvalidInputError,
    NamespaceNotFoundError,
    PreconditionFailedError,
    RegistryError,
    RegistryFullError,
    ResourceChangingError,
    ResourceNotFoundError,
    ServiceUnavailableError,
    UnrepresentableLimitError,
    UnsupportedTableError,
)
from resource_registry.model import Limit, NoneMatch, Precondition, ResourceDefaults
from resource_registry.observability import logger
from resource_registry.store import RegistryStore
from resource_registry.validation import parse_limits, validate_resource_name

# 40 limits of the longest names and largest numbers fit in about 9 KB.
MAX_BODY_BYTES = 64 * 1024
RETRY_AFTER_SECONDS = "1"
# A valid body nests three levels ({"limits": [{...}]}); json's own limit varies with the stack.
MAX_NESTING = 16
# An ETag this API issues: strong, quoted, a version and a digest of the limits.
ETAG_PATTERN = re.compile(r'"(\d{1,20}-[0-9a-f]{12})"')


class HttpError(Exception):
    """A request the HTTP edge refuses before it reaches the domain."""

    def __init__(self, status: HTTPStatus, code: EdgeErrorCode, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


def build_resolver() -> APIGatewayRestResolver:
    """A REST resolver whose every error answer is JSON with a status from the table below."""
    app = APIGatewayRestResolver()
    # Status, and whether the same request may succeed later (a Retry-After is sent).
    statuses: list[tuple[type[RegistryError], HTTPStatus, bool]] = [
        (InvalidInputError, HTTPStatus.BAD_REQUEST, False),
        (ResourceNotFoundError, HTTPStatus.NOT_FOUND, False),
        (NamespaceNotFoundError, HTTPStatus.NOT_FOUND, False),
        (PreconditionFailedError, HTTPStatus.PRECONDITION_FAILED, False),
        (ConcurrentUpdateError, HTTPStatus.CONFLICT, True),
        (RegistryFullError, HTTPStatus.CONFLICT, False),
        (UnrepresentableLimitError, HTTPStatus.CONFLICT, False),
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


def serve(app: APIGatewayRestResolver, route: Route) -> Any:
    """Register the decorated function for every path of ``route``."""

    def register(function: Any) -> Any:
        for path in route.resolver_paths:
            app.route(path, method=route.method)(function)
        return function

    return register


def namespace_store(event: APIGatewayProxyEvent) -> RegistryStore:
    """The store of the request's namespace (``default`` without the /namespaces prefix)."""
    parameters = event.path_parameters or {}
    return service.store_for(parameters.get(NAMESPACE_PARAMETER, schema.DEFAULT_NAMESPACE))


def error_response(
    status: HTTPStatus, message: str, code: ErrorCode | EdgeErrorCode
) -> Response[str]:
    """The JSON error body every failure answers with."""
    return Response(status, JSON_MEDIA_TYPE, json.dumps({"message": message, "code": code.value}))


def parse_json_body(event: APIGatewayProxyEvent) -> Any:
    """The request's JSON body, or HttpError/InvalidInputError saying what is wrong with it."""
    content_type = event.headers.get("content-type", "")
    if content_type.split(";")[0].strip().lower() != JSON_MEDIA_TYPE:
        raise HttpError(
            HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
            EdgeErrorCode.UNSUPPORTED_MEDIA_TYPE,
            f"Content-Type must be {JSON_MEDIA_TYPE}",
        )
    if not event.body:
        raise InvalidInputError("the request body is empty; send a JSON object")
    try:
        text = event.decoded_body or ""
    except (ValueError, UnicodeError):
        raise InvalidInputError("the request body is not valid base64-encoded UTF-8") from None
    if len(text.encode("utf-8", "surrogatepass")) > MAX_BODY_BYTES:
        raise HttpError(
            HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
            EdgeErrorCode.CONTENT_TOO_LARGE,
            f"the request body is over {MAX_BODY_BYTES} bytes",
        )
    if _nesting_depth(text) > MAX_NESTING:
        raise InvalidInputError(
            f"the request body is nested too deeply (over {MAX_NESTING} levels)"
        )
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError, UnicodeError) as error:
        raise InvalidInputError(f"the request body is not valid JSON: {_describe(error)}") from None


def parse_set_request(body: Any, resource: str) -> tuple[Limit, ...]:
    """The limits of a PUT body ``{"limits": [...]}``; a ``resource`` field must match the path."""
    if not isinstance(body, dict):
        raise InvalidInputError('the request body must be a JSON object: {"limits": [...]}')
    unknown = sorted(str(field) for field in body if field not in ("limits", "resource"))
    if unknown:
        raise InvalidInputError(
            f"unknown field(s) {', '.join(map(repr, unknown))}; allowed: 'limits'"
        )
    if "limits" not in body:
        raise InvalidInputError("the request body is missing 'limits'")
    if "resource" in body and body["resource"] != resource:
        raise InvalidInputError("'resource' in the body differs from the resource in the path")
    return parse_limits(body["limits"])


def resource_parameter(event: APIGatewayProxyEvent) -> str:
    """The path's resource name, decoded and validated.

    API Gateway keeps ``path`` percent-encoded but decodes ``pathParameters``; the router
    matches the former, so the name comes from the latter.
    """
    return validate_resource_name((event.path_parameters or {}).get("resource"))


def precondition(event: APIGatewayProxyEvent) -> Precondition | None:
    """What If-Match requires of the resource, None without the header.

    ``*`` requires defaults to exist; a list of ETags requires one of their versions. Weak ETags
    never match (If-Match compares strongly), and neither does anything this API did not issue.
    """
    header = event.headers.get("if-match")
    if header is None:
        return None
    if header.strip() == "*":
        return Precondition()
    etags = set()
    for tag in header.split(","):
        match = ETAG_PATTERN.fullmatch(tag.strip())
        if not match:
            raise PreconditionFailedError(
                f"If-Match {tag.strip()[:80]!r} matches no ETag this API issues "
                '(quoted, as a GET answers it, e.g. "3-5d41402abc4b")'
            )
        etags.add(match.group(1))
    return Precondition(frozenset(etags))


def none_match(event: APIGatewayProxyEvent) -> NoneMatch | None:
    """What If-None-Match requires of the resource, None without the header.

    ``*`` requires that it has no defaults; a list of ETags that it is at none of them. The
    comparison is weak (RFC 9110 13.1.2): ``W/"3-…"`` names the same state as ``"3-…"``; a tag
    this API never issued matches nothing.
    """
    header = event.headers.get("if-none-match")
    if header is None:
        return None
    if header.strip() == "*":
        return NoneMatch()
    etags = set()
    for tag in header.split(","):
        match = ETAG_PATTERN.fullmatch(tag.strip().removeprefix("W/"))
        if match:
            etags.add(match.group(1))
    # Only tags this API never issued: no state of the resource fails that, so no condition.
    return NoneMatch(frozenset(etags)) if etags else None


def not_modified(defaults: ResourceDefaults) -> Response[str]:
    """304: the client's copy is current; no body, the ETag again."""
    return Response(HTTPStatus.NOT_MODIFIED, headers={"ETag": etag(defaults.etag)})


def query_parameters(event: APIGatewayProxyEvent, allowed: tuple[str, ...] = ()) -> dict[str, str]:
    """The query string, each parameter once and only those ``allowed``."""
    multi = event.multi_value_query_string_parameters or {}
    unknown = sorted(set(multi) - set(allowed))
    if unknown:
        raise InvalidInputError(f"unknown query parameter(s): {', '.join(unknown)}")
    repeated = sorted(name for name, values in multi.items() if len(values) > 1)
    if repeated:
        raise InvalidInputError(f"query parameter(s) given more than once: {', '.join(repeated)}")
    return {name: values[0] for name, values in multi.items()}


def etag(token: str) -> str:
    """The strong ETag header value of a resource's ETag token."""
    return f'"{token}"'


def defaults_response(defaults: ResourceDefaults) -> Response[str]:
    """200 with the resource's limits and its ETag."""
    return Response(
        HTTPStatus.OK,
        JSON_MEDIA_TYPE,
        json.dumps(defaults.to_dict()),
        headers={"ETag": etag(defaults.etag)},
    )


def principal(event: APIGatewayProxyEvent) -> str | None:
    """The caller's IAM identity, as API Gateway's IAM authorisation verified it (the local
    server passes its own, documented one); None if the request carries none."""
    identity = event.request_context.identity
    return identity.user_arn or identity.caller or None


def log_mutation(event: APIGatewayProxyEvent, action: str) -> None:
    """Record who asked for a change, first thing, whether or not it is then refused."""
    identity = event.request_context.identity
    logger.info(
        action,
        extra={
            # As sent: a refused request is logged too, so its name may be invalid (hence cut).
            "resource": (event.path_parameters or {}).get("resource", "")[:80],
            "caller": principal(event) or "anonymous",
            "source_ip": identity.source_ip,
            "request_id": _request_id(event),
        },
    )


def _answer_with(status: HTTPStatus, retry_later: bool) -> Any:
    def answer(error: RegistryError) -> Response[str]:
        response = error_response(status, str(error), error.code)
        if retry_later:
            response.headers["Retry-After"] = RETRY_AFTER_SECONDS
        return response

    return answer


def _request_id(event: APIGatewayProxyEvent) -> str:
    return event.request_context.request_id or "unknown"


class _NotAJsonNumberError(ValueError):
    """Python's json takes NaN and Infinity; JSON does not."""


def _reject_constant(name: str) -> None:
    raise _NotAJsonNumberError(f"{name} is not a JSON number")


def _describe(error: Exception) -> str:
    if isinstance(error, json.JSONDecodeError):
        return f"{error.msg} at line {error.lineno}, column {error.colno}"
    if isinstance(error, RecursionError):
        return "nested too deeply"
    if isinstance(error, UnicodeError):
        return "it is not UTF-8"
    if isinstance(error, _NotAJsonNumberError):
        return str(error)
    return "a number in it is too long or not a JSON number"


def _nesting_depth(text: str) -> int:
    """How deep arrays and objects nest in ``text``, brackets inside strings not counted."""
    if text.count("[") + text.count("{") <= MAX_NESTING:
        return 0  # cannot nest deeper than it has brackets
    depth = deepest = 0
    in_string = escaped = False
    for character in text:
        if in_string:
            if escaped:
                escaped = False
            elif character == "\\":
                escaped = True
            elif character == '"':
                in_string = False
        elif character == '"':
            in_string = True
        elif character in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif character in "]}":
            depth -= 1
    return deepest
