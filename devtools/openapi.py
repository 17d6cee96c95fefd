"""The OpenAPI 3 document of the HTTP API, generated from the one route definition
(handlers/routes.py) and the validation constants, and committed as docs/openapi.json.

`python -m devtools.openapi` rewrites the file; `--check` exits 1 when it is out of date.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from http import HTTPStatus
from pathlib import Path
from typing import Any

from handlers.error_codes import ERROR_CODES
from handlers.request_parsing import ETAG_PATTERN
from handlers.routes import API_ROUTES, JSON_MEDIA_TYPE, NAMESPACE_PARAMETER, Route
from handlers.routes import path_parameters as path_parameters_of
from resource_registry.audit import MAX_PAGE, MIN_PAGE
from resource_registry.validation import (
    LIMIT_FIELDS,
    MAX_LIMITS,
    MAX_NAMESPACE_LENGTH,
    MIN_LIMITS,
    NAME_PATTERN,
    NAME_RULE,
    NUMBER_BOUNDS,
    REQUIRED_LIMIT_FIELDS,
    RESOURCE_NAME_PATTERN,
    RESOURCE_NAME_RULE,
)

ROOT = Path(__file__).resolve().parent.parent
DOCUMENT_PATH = ROOT / "docs" / "openapi.json"
TITLE = "Resource registry service"
VERSION = "1.0.0"

# What each function answers besides its success, and why (docs/contract.md section 3).
ERRORS = {
    HTTPStatus.BAD_REQUEST: "The request is invalid; the message says what. Nothing changed.",
    HTTPStatus.FORBIDDEN: "API Gateway refused the request (IAM authorisation).",
    HTTPStatus.NOT_FOUND: "The resource has no default limits, or there is no such route.",
    HTTPStatus.CONFLICT: (
        "ConcurrentUpdate: concurrent writers kept winning and the bounded retries ran out; or "
        "RegistryFull: registering the name would exceed DynamoDB's 400 KB item size limit on the "
        "registry item. Nothing changed."
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


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _name_schema(description: str, pattern: re.Pattern[str] = NAME_PATTERN) -> dict[str, Any]:
    # JSON Schema patterns match anywhere; the service matches the whole name.
    return {"type": "string", "pattern": f"^{pattern.pattern}$", "description": description}


def _integer(field: str, description: str) -> dict[str, Any]:
    lowest, highest = NUMBER_BOUNDS[field]
    return {"type": "integer", "minimum": lowest, "maximum": highest, "description": description}


LIMIT_FIELD_SCHEMAS: dict[str, dict[str, Any]] = {
    "name": _name_schema(f"Unique within the resource; {NAME_RULE}."),
    "capacity": _integer("capacity", "Tokens the bucket holds."),
    "burst": _integer("burst", "At least capacity; defaults to capacity."),
    "refill_amount": _integer(
        "refill_amount",
        "Tokens added each refill period; defaults to capacity. (zae-limiter takes 0 only with a "
        "reset schedule, which this API does not write.)",
    ),
    "refill_period_seconds": _integer("refill_period_seconds", "Seconds between refills."),
}
# A limit as stored: another writer (zae-limiter) may have stored fractional numbers, served
# exactly as stored.
STORED_NUMBER = {
    "type": "number",
    "description": "As stored: an integer, or a fraction another writer stored.",
}


def _components() -> dict[str, Any]:
    if set(LIMIT_FIELD_SCHEMAS) != set(LIMIT_FIELDS):
        raise ValueError(f"limit fields changed: document {sorted(LIMIT_FIELDS)} here")
    limit_input = {
        "type": "object",
        "additionalProperties": False,
        "required": list(REQUIRED_LIMIT_FIELDS),
        "properties": {field: LIMIT_FIELD_SCHEMAS[field] for field in LIMIT_FIELDS},
        "description": "JSON booleans, floats and strings are not integers; unknown fields are "
        "an error.",
    }
    return {
        "schemas": {
            "ResourceName": _name_schema(RESOURCE_NAME_RULE, RESOURCE_NAME_PATTERN),
            "LimitInput": limit_input,
            "Limit": {
                "type": "object",
                "required": [field for field in LIMIT_FIELDS if field != "burst"],
                "properties": {
                    field: LIMIT_FIELD_SCHEMAS["name"] if field == "name" else STORED_NUMBER
                    for field in LIMIT_FIELDS
                },
                "description": "A limit as stored; burst only where the table keeps one (not on "
                "tables of zae-limiter 0.10 and later).",
            },
            "SetDefaultsRequest": {
                "type": "object",
                "additionalProperties": False,
                "required": ["limits"],
                "properties": {
                    "limits": {
                        "type": "array",
                        "minItems": MIN_LIMITS,
                        "maxItems": MAX_LIMITS,
                        "items": _ref("LimitInput"),
                        "description": "The resource's whole set of limits; names are unique.",
                    },
                    "resource": _ref("ResourceName"),
                },
            },
            "ResourceDefaults": {
                "type": "object",
                "additionalProperties": False,
                "required": ["resource", "limits"],
                "properties": {
                    "resource": _ref("ResourceName"),
                    "limits": {
                        "type": "array",
                        "minItems": MIN_LIMITS,
                        "items": _ref("Limit"),
                        "description": "Sorted by name, every default applied: as many as the "
                        "item holds (another writer may have stored more than a PUT takes).",
                    },
                },
            },
            "History": {
                "type": "object",
                "additionalProperties": False,
                "required": ["resource", "events", "next_cursor"],
                "properties": {
                    "resource": _ref("ResourceName"),
                    "events": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["event_id", "timestamp", "action", "principal", "limits"],
                            "properties": {
                                "event_id": {"type": "string"},
                                "timestamp": {"type": "string"},
                                "action": {"type": "string"},
                                "principal": {"type": "string", "nullable": True},
                                "limits": {"type": "array", "items": {"type": "object"}},
                            },
                        },
                    },
                    "next_cursor": {"type": "string", "nullable": True},
                },
            },
            "NamespaceList": {
                "type": "object",
                "additionalProperties": False,
                "required": ["namespaces"],
                "properties": {
                    "namespaces": {
                        "type": "array",
                        "items": {"type": "string"},
                        "description": "The active namespaces, sorted ('default' alone on "
                        "tables without namespaces).",
                    }
                },
            },
            "ResourceList": {
                "type": "object",
                "additionalProperties": False,
                "required": ["resources"],
                "properties": {
                    "resources": {
                        "type": "array",
                        "items": _ref("ResourceName"),
                        "description": "The names of all resources with defaults, sorted.",
                    }
                },
            },
            "Error": {
                "type": "object",
                "required": ["message"],
                "properties": {
                    "message": {"type": "string", "description": "What is wrong, for a person."},
                    "code": {
                        "type": "string",
                        "enum": sorted(ERROR_CODES),
                        "description": "A stable name for the error, one of this list "
                        "(lambdas/layer/python/resource_registry/errors.py and "
                        "lambdas/handlers/error_codes.py). Every error answer carries one, API "
                        "Gateway's own (403, 429, 502, 504) included.",
                    },
                },
            },
        },
        "headers": {
            "ETag": {
                "description": "The resource's version and a digest of its limits (strong); send "
                "it back in If-Match.",
                "required": True,
                "schema": {"type": "string", "pattern": f"^{ETAG_PATTERN.pattern}$"},
            },
            "Retry-After": {
                "description": "Seconds to wait before retrying.",
                "required": True,
                "schema": {"type": "string", "pattern": "^[0-9]+$"},
            },
        },
        "securitySchemes": {
            "sigv4": {
                "type": "apiKey",
                "name": "Authorization",
                "in": "header",
                "description": "IAM authorisation: requests are signed with AWS Signature V4.",
                "x-amazon-apigateway-authtype": "awsSigv4",
            }
        },
    }


def _error(status: HTTPStatus) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": ERRORS[status],
        "content": {JSON_MEDIA_TYPE: {"schema": _ref("Error")}},
    }
    if status is HTTPStatus.SERVICE_UNAVAILABLE:
        response["headers"] = {"Retry-After": {"$ref": "#/components/headers/Retry-After"}}
    return response


def _defaults_answer(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "headers": {"ETag": {"$ref": "#/components/headers/ETag"}},
        "content": {JSON_MEDIA_TYPE: {"schema": _ref("ResourceDefaults")}},
    }


IF_NONE_MATCH_ON_PUT = {
    "name": "If-None-Match",
    "in": "header",
    "required": False,
    "description": '"*" only: create only, 412 if the resource has defaults already; any other '
    "value is refused (400).",
    "schema": {"type": "string"},
}
IF_NONE_MATCH_ON_GET = {
    "name": "If-None-Match",
    "in": "header",
    "required": False,
    "description": 'ETags the client holds (compared weakly), or "*": 304 with no body when the '
    "resource is at one of them.",
    "schema": {"type": "string"},
}
IF_MATCH = {
    "name": "If-Match",
    "in": "header",
    "required": False,
    "description": 'Apply only if the resource is at this ETag (e.g. "3-5d41402abc4b"), or "*" '
    "if it has defaults at all; 412 otherwise.",
    "schema": {"type": "string"},
}
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "1 to 255 printable ASCII characters, new for each change: a retry with the "
    "same key and request within 24 hours answers what the first attempt did (status, body, "
    "ETag) and writes nothing; the same key with another request is 422.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
}
CONSISTENT = {
    "name": "consistent",
    "in": "query",
    "required": False,
    "description": "true asks for a strongly consistent read of the registry.",
    "schema": {"type": "string", "enum": ["true", "false"], "default": "false"},
}

# The parts of each operation that the route table does not say, by the function's id.
OPERATIONS: dict[str, dict[str, Any]] = {
    "SetDefaults": {
        "summary": "Replace a resource's default limits and register it, atomically.",
        "parameters": [IF_MATCH, IF_NONE_MATCH_ON_PUT, IDEMPOTENCY_KEY],
        "requestBody": {
            "required": True,
            "content": {JSON_MEDIA_TYPE: {"schema": _ref("SetDefaultsRequest")}},
        },
        "success": (HTTPStatus.OK, _defaults_answer("The limits as stored, and their ETag.")),
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
        "parameters": [IF_MATCH, IDEMPOTENCY_KEY],
        "success": (HTTPStatus.NO_CONTENT, {"description": "Deleted."}),
        "errors": COMMON_ERRORS + WRITE_ERRORS,
    },
    "GetHistory": {
        "summary": "A resource's audit events, newest first (zae-limiter's own among them).",
        "parameters": [
            {
                "name": "limit",
                "in": "query",
                "required": False,
                "description": "Events per page, 1 to 100 (default 20).",
                "schema": {"type": "integer", "minimum": MIN_PAGE, "maximum": MAX_PAGE},
            },
            {
                "name": "cursor",
                "in": "query",
                "required": False,
                "description": "The previous page's next_cursor, as it came.",
                "schema": {"type": "string"},
            },
        ],
        "success": (
            HTTPStatus.OK,
            {
                "description": "One page of events.",
                "content": {JSON_MEDIA_TYPE: {"schema": _ref("History")}},
            },
        ),
        "errors": COMMON_ERRORS,
    },
    "ListNamespaces": {
        "summary": "The table's active namespaces.",
        "parameters": [],
        "success": (
            HTTPStatus.OK,
            {
                "description": "The namespaces, sorted.",
                "content": {JSON_MEDIA_TYPE: {"schema": _ref("NamespaceList")}},
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
                "content": {JSON_MEDIA_TYPE: {"schema": _ref("ResourceList")}},
            },
        ),
        "errors": COMMON_ERRORS,
    },
}


PATH_PARAMETERS = {
    "resource": {
        "description": "The resource's name, one percent-encoded segment ('/' as %2F).",
        "schema": _ref("ResourceName"),
    },
    NAMESPACE_PARAMETER: {
        "description": "The namespace's name; without this prefix the namespace is 'default'.",
        "schema": {"type": "string", "minLength": 1, "maxLength": MAX_NAMESPACE_LENGTH},
    },
}


def _operation(route: Route, path: str) -> dict[str, Any]:
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


def build_document(api_routes: tuple[Route, ...] = API_ROUTES) -> dict[str, Any]:
    """The OpenAPI 3.0 document of ``api_routes``."""
    paths: dict[str, dict[str, Any]] = {}
    for route in api_routes:
        for path in route.paths:
            paths.setdefault(path, {})[route.method.lower()] = _operation(route, path)
    return {
        "openapi": "3.0.3",
        "info": {
            "title": TITLE,
            "version": VERSION,
            "description": "Default limits of resources, and the exact registry of the resources "
            "that have them (see docs/contract.md). Generated by devtools/openapi.py: do not edit.",
        },
        "security": [{"sigv4": []}],
        "paths": {path: paths[path] for path in sorted(paths)},
        "components": _components(),
    }


def render(document: dict[str, Any] | None = None) -> str:
    """The document as the committed file's text."""
    return json.dumps(document or build_document(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write (or check) docs/openapi.json.")
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is out of date")
    options = parser.parse_args(argv)
    text = render()
    if options.check:
        current = DOCUMENT_PATH.read_text(encoding="utf-8") if DOCUMENT_PATH.exists() else ""
        if current != text:
            print(
                f"{DOCUMENT_PATH} is out of date: run python -m devtools.openapi", file=sys.stderr
            )
            return 1
        return 0
    DOCUMENT_PATH.parent.mkdir(parents=True, exist_ok=True)
    DOCUMENT_PATH.write_text(text, encoding="utf-8")
    print(f"wrote {DOCUMENT_PATH.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
