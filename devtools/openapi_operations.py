"""What each operation of the OpenAPI document takes and answers beyond what the route table says:
its summary, parameters, body, success and the errors it may answer."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from devtools.openapi_components import ref
from handlers.routes import JSON_MEDIA_TYPE, NAMESPACE_PARAMETER, Route
from handlers.routes import path_parameters as path_parameters_of
from resource_registry.audit import MAX_PAGE, MIN_PAGE
from resource_registry.validation import MAX_NAMESPACE_LENGTH

# What each function answers besides its success, and why (docs/contract.md section 3).
ERRORS = {
    HTTPStatus.BAD_REQUEST: "The request is invalid; the message says what. Nothing changed.",
    HTTPStatus.FORBIDDEN: "API Gateway refused the request (IAM authorisation).",
    HTTPStatus.NOT_FOUND: "The resource has no default limits, or there is no such route.",
    HTTPStatus.CONFLICT: (
        "ConcurrentUpdate: concurrent writers kept winning and the bounded retries ran out; or "
        "RegistryFull: registering the name would exceed DynamoDB's 400 KB item size limit on the "
        "registry item; or UnrepresentableLimit: the resource holds limits the API cannot "
        "write back; or NotOnThisLayout: the table's layout (zae-limiter 0.6-0.7) keeps no "
        "config items for the effective view. Nothing changed."
    ),
    HTTPStatus.PRECONDITION_FAILED: "If-Match does not match the resource's current ETag.",
    HTTPStatus.UNPROCESSABLE_ENTITY: (
        "IdempotencyKeyReused: the Idempotency-Key was used in the last 24 hours for another "
        "request. Nothing changed."
    ),
    HTTPStatus.REQUEST_ENTITY_TOO_LARGE: "The request body is too large.",
    HTTPStatus.UNSUPPORTED_MEDIA_TYPE: f"The request body is not {JSON_MEDIA_TYPE}.",
    HTTPStatus.INTERNAL_SERVER_ERROR: "An unexpected error; the message quotes the request id.",
    HTTPStatus.SERVICE_UNAVAILABLE: (
        "DynamoDB throttled, failed or timed out. After a write it may have been applied: retry "
        "with the same Idempotency-Key, or read the history."
    ),
}
COMMON_ERRORS = (
    HTTPStatus.BAD_REQUEST,
    HTTPStatus.FORBIDDEN,
    HTTPStatus.NOT_FOUND,
    HTTPStatus.INTERNAL_SERVER_ERROR,
    HTTPStatus.SERVICE_UNAVAILABLE,
)
WRITE_ERRORS = (
    HTTPStatus.CONFLICT,
    HTTPStatus.PRECONDITION_FAILED,
    HTTPStatus.UNPROCESSABLE_ENTITY,
)
BODY_ERRORS = (HTTPStatus.REQUEST_ENTITY_TOO_LARGE, HTTPStatus.UNSUPPORTED_MEDIA_TYPE)


def _error(status: HTTPStatus) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": ERRORS[status],
        "content": {JSON_MEDIA_TYPE: {"schema": ref("Error")}},
    }
    if status is HTTPStatus.SERVICE_UNAVAILABLE:
        response["headers"] = {"Retry-After": {"$ref": "#/components/headers/Retry-After"}}
    return response


def _defaults_answer(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "headers": {"ETag": {"$ref": "#/components/headers/ETag"}},
        "content": {JSON_MEDIA_TYPE: {"schema": ref("ResourceDefaults")}},
    }


def _optional(
    name: str, where: str, description: str, schema: dict[str, Any] | None = None
) -> dict[str, Any]:
    """An optional header or query parameter (a string unless ``schema`` says otherwise)."""
    return {
        "name": name,
        "in": where,
        "required": False,
        "description": description,
        "schema": schema or {"type": "string"},
    }


IF_NONE_MATCH_ON_PUT = _optional(
    "If-None-Match",
    "header",
    '"*" only: create only, 412 if the resource has defaults already; any other value is '
    "refused (400).",
)
IF_NONE_MATCH_ON_GET = _optional(
    "If-None-Match",
    "header",
    'ETags the client holds (compared weakly), or "*": 304 with no body when the '
    "resource is at one of them.",
)
IF_MATCH = _optional(
    "If-Match",
    "header",
    'Apply only if the resource is at this ETag (e.g. "3-5d41402abc4b"), or "*" '
    "if it has defaults at all; 412 otherwise.",
)
IDEMPOTENCY_KEY = _optional(
    "Idempotency-Key",
    "header",
    "1 to 255 printable ASCII characters, new for each change: a retry with the same key and "
    "request within 24 hours answers what the first attempt did (status, body, ETag) and writes "
    "nothing; the same key with another request is 422.",
    {"type": "string", "minLength": 1, "maxLength": 255},
)
DRY_RUN = _optional(
    "dry_run",
    "query",
    "true answers what the write would do, after every check it makes (If-Match, "
    "If-None-Match included), and who it reaches; nothing is written. No Idempotency-Key.",
    {"type": "string", "enum": ["true", "false"], "default": "false"},
)
DRY_RUN_ANSWER = {
    "description": "A dry run: what would be written, and who the change reaches.",
    "content": {JSON_MEDIA_TYPE: {"schema": ref("DryRun")}},
}
CONSISTENT = _optional(
    "consistent",
    "query",
    "true asks for a strongly consistent read of the registry.",
    {"type": "string", "enum": ["true", "false"], "default": "false"},
)

# The parts of each operation that the route table does not say, by the function's id.
OPERATIONS: dict[str, dict[str, Any]] = {
    "SetDefaults": {
        "summary": "Replace a resource's default limits and register it, atomically.",
        "parameters": [IF_MATCH, IF_NONE_MATCH_ON_PUT, IDEMPOTENCY_KEY, DRY_RUN],
        "requestBody": {
            "required": True,
            "content": {JSON_MEDIA_TYPE: {"schema": ref("SetDefaultsRequest")}},
        },
        "success": (
            HTTPStatus.OK,
            {
                **_defaults_answer(
                    "The limits as stored, and their ETag; with dry_run=true, a DryRun answer "
                    "(no ETag) and nothing written."
                ),
                "headers": {"ETag": {"$ref": "#/components/headers/ETagOfWrite"}},
                "content": {
                    JSON_MEDIA_TYPE: {"schema": {"oneOf": [ref("ResourceDefaults"), ref("DryRun")]}}
                },
            },
        ),
        "errors": COMMON_ERRORS + WRITE_ERRORS + BODY_ERRORS,
    },
    "GetDefaults": {
        "summary": "A resource's default limits and their ETag.",
        "parameters": [IF_NONE_MATCH_ON_GET],
        "success": (HTTPStatus.OK, _defaults_answer("The resource's limits and their ETag.")),
        "not_modified": {
            "description": "Not modified: the client's copy is current; no body.",
            "headers": {"ETag": {"$ref": "#/components/headers/ETag"}},
        },
        "errors": COMMON_ERRORS,
    },
    "DeleteDefaults": {
        "summary": "Delete a resource's default limits and unregister it, atomically.",
        "parameters": [IF_MATCH, IDEMPOTENCY_KEY, DRY_RUN],
        "success": (HTTPStatus.NO_CONTENT, {"description": "Deleted."}),
        "also": {HTTPStatus.OK: DRY_RUN_ANSWER},
        "errors": COMMON_ERRORS + WRITE_ERRORS,
    },
    "GetHistory": {
        "summary": "A resource's audit events, newest first (zae-limiter's own among them).",
        "parameters": [
            _optional(
                "limit",
                "query",
                "Events per page, 1 to 100 (default 20).",
                {"type": "integer", "minimum": MIN_PAGE, "maximum": MAX_PAGE},
            ),
            _optional("cursor", "query", "The previous page's next_cursor, as it came."),
        ],
        "success": (
            HTTPStatus.OK,
            {
                "description": "One page of events.",
                "content": {JSON_MEDIA_TYPE: {"schema": ref("History")}},
            },
        ),
        "errors": COMMON_ERRORS,
    },
    "GetEffectiveLimits": {
        "summary": "The limits zae-limiter applies to an entity on a resource, the level that "
        "decided each, and what every level holds: one consistent read of four items.",
        "parameters": [IF_NONE_MATCH_ON_GET],
        "success": (
            HTTPStatus.OK,
            {
                "description": "The effective limits, disabled state and cascade policy.",
                "headers": {"ETag": {"$ref": "#/components/headers/ETag"}},
                "content": {JSON_MEDIA_TYPE: {"schema": ref("EffectiveLimits")}},
            },
        ),
        "not_modified": {
            "description": "Not modified: the client's copy is current; no body.",
            "headers": {"ETag": {"$ref": "#/components/headers/ETag"}},
        },
        "errors": (*COMMON_ERRORS, HTTPStatus.CONFLICT),
    },
    "ListNamespaces": {
        "summary": "The table's active namespaces.",
        "parameters": [],
        "success": (
            HTTPStatus.OK,
            {
                "description": "The namespaces, sorted.",
                "content": {JSON_MEDIA_TYPE: {"schema": ref("NamespaceList")}},
            },
        ),
        "errors": COMMON_ERRORS,
    },
    "ListResources": {
        "summary": "The names of all resources with default limits (one read of the registry).",
        "parameters": [CONSISTENT],
        "success": (
            HTTPStatus.OK,
            {
                "description": "The registry's names, sorted.",
                "content": {JSON_MEDIA_TYPE: {"schema": ref("ResourceList")}},
            },
        ),
        "errors": COMMON_ERRORS,
    },
}


PATH_PARAMETERS = {
    "entity": {
        "description": "The entity's id, one percent-encoded segment (zae-limiter's rule).",
        "schema": ref("EntityId"),
    },
    "resource": {
        "description": "The resource's name, one percent-encoded segment ('/' as %2F).",
        "schema": ref("ResourceName"),
    },
    NAMESPACE_PARAMETER: {
        "description": "The namespace's name; without this prefix the namespace is 'default'.",
        "schema": {"type": "string", "minLength": 1, "maxLength": MAX_NAMESPACE_LENGTH},
    },
}


def operation(route: Route, path: str) -> dict[str, Any]:
    if route.function_id not in OPERATIONS:
        raise ValueError(f"route {route.method} {route.path} ({route.function_id}) is undocumented")
    spec = OPERATIONS[route.function_id]
    path_parameters = [
        {"name": name, "in": "path", "required": True, **PATH_PARAMETERS[name]}
        for name in path_parameters_of(path)
    ]
    success_status, success = spec["success"]
    responses = {str(success_status.value): success}
    if "not_modified" in spec:
        responses[str(HTTPStatus.NOT_MODIFIED.value)] = spec["not_modified"]
    for status, answer in spec.get("also", {}).items():
        responses[str(status.value)] = answer
    for status in sorted(spec["errors"]):
        responses[str(status.value)] = _error(status)
    operation: dict[str, Any] = {
        "operationId": route.function_id + ("" if path == route.path else "InNamespace"),
        "summary": spec["summary"],
        "parameters": path_parameters + spec["parameters"],
        "responses": responses,
    }
    if "requestBody" in spec:
        operation["requestBody"] = spec["requestBody"]
    return operation
