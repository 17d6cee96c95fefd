"""The ``code`` of every error answer: the domain's (resource_registry.errors) and the HTTP edge's.

Part of the API contract: each written out once, never derived from a class name or an HTTP
phrase. docs/openapi.json lists them. No Powertools here: the local server and the OpenAPI
generator import this without loading a handler.
"""

from __future__ import annotations

from enum import StrEnum

from resource_registry.errors import ErrorCode


class EdgeErrorCode(StrEnum):
    """The ``code`` of each refusal the HTTP edge makes itself, outside the domain."""

    UNSUPPORTED_MEDIA_TYPE = "UnsupportedMediaType"
    CONTENT_TOO_LARGE = "ContentTooLarge"
    NO_ROUTE = "NoRoute"
    INTERNAL_ERROR = "InternalError"
    # Answered by the local server (devtools/local_server.py), where API Gateway has its own.
    METHOD_NOT_ALLOWED = "MethodNotAllowed"
    LENGTH_REQUIRED = "LengthRequired"
    # Answered by API Gateway itself, before any function runs (infra/api.py).
    ACCESS_DENIED = "AccessDenied"
    EXPIRED_TOKEN = "ExpiredToken"
    INVALID_SIGNATURE = "InvalidSignature"
    MISSING_AUTHENTICATION = "MissingAuthentication"
    THROTTLED = "Throttled"
    GATEWAY_REFUSED = "GatewayRefused"
    GATEWAY_ERROR = "GatewayError"


# Every code an error answer may carry: the domain's and the edge's (docs/openapi.json lists them).
ERROR_CODES: tuple[str, ...] = (*ErrorCode, *EdgeErrorCode)
