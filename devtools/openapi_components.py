"""The reusable parts of the OpenAPI document: the JSON Schemas of the bodies, derived from the
validation constants, the response headers and the security scheme."""

from __future__ import annotations

import re
from typing import Any

from handlers.error_codes import ERROR_CODES
from handlers.request_parsing import ETAG_PATTERN
from resource_registry.validation import (
    LIMIT_FIELDS,
    MAX_LIMITS,
    MIN_LIMITS,
    NAME_PATTERN,
    NAME_RULE,
    NUMBER_BOUNDS,
    REQUIRED_LIMIT_FIELDS,
    RESOURCE_NAME_PATTERN,
    RESOURCE_NAME_RULE,
)


def ref(name: str) -> dict[str, str]:
    """A reference to one of the schemas below."""
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


def components() -> dict[str, Any]:
    """The document's components: schemas, headers and the security scheme."""
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
                        "items": ref("LimitInput"),
                        "description": "The resource's whole set of limits; names are unique.",
                    },
                    "resource": ref("ResourceName"),
                },
            },
            "ResourceDefaults": {
                "type": "object",
                "additionalProperties": False,
                "required": ["resource", "limits"],
                "properties": {
                    "resource": ref("ResourceName"),
                    "limits": {
                        "type": "array",
                        "minItems": MIN_LIMITS,
                        "items": ref("Limit"),
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
                    "resource": ref("ResourceName"),
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
                        "items": ref("ResourceName"),
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
