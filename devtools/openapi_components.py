"""The reusable parts of the OpenAPI document: the JSON Schemas of the bodies, derived from the
validation constants, the response headers and the security scheme."""

from __future__ import annotations

import re
from typing import Any

from handlers.error_codes import ERROR_CODES
from handlers.request_parsing import ETAG_PATTERN
from resource_registry.effective import ACCESS_LEVELS, LIMIT_LEVELS
from resource_registry.validation import (
    ENTITY_ID_PATTERN,
    ENTITY_ID_RULE,
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
            "EntityId": _name_schema(ENTITY_ID_RULE, ENTITY_ID_PATTERN),
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
            **_effective_view_schemas(),
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
                "it back in If-Match. The effective view's: 'e' and a digest of the answer.",
                "required": True,
                "schema": {"type": "string", "pattern": f"^{ETAG_PATTERN.pattern}$"},
            },
            "ETagOfWrite": {
                "description": "The resource's ETag after the write (as ETag); a dry run, which "
                "writes nothing, answers none.",
                "required": False,
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


def _effective_view_schemas() -> dict[str, Any]:
    """The effective view's answer and a dry run's (docs/contract.md, section 3)."""
    level = {"type": "string", "enum": list(LIMIT_LEVELS)}
    return {
        "ConfiguredLimit": {
            "type": "object",
            "required": [field for field in LIMIT_FIELDS if field != "burst"],
            "properties": {
                **{
                    field: LIMIT_FIELD_SCHEMAS["name"] if field == "name" else STORED_NUMBER
                    for field in LIMIT_FIELDS
                },
                "level": {
                    **level,
                    "description": "The level that decided it (in 'limits'; not in 'levels', "
                    "where the level is the key).",
                },
                "soft": {"type": "boolean", "description": "Present (true) for a soft limit."},
                "schedule": {
                    "type": "string",
                    "description": "zae-limiter's compact encoding of the limit's schedule, as "
                    "stored.",
                },
                "reset_schedule": {
                    "type": "string",
                    "description": "zae-limiter's compact encoding of its reset schedule.",
                },
                "schedule_time_zone": {
                    "type": "string",
                    "description": "The time zone of the item's schedules (UTC unless set).",
                },
                "reset_after_seconds": {
                    **STORED_NUMBER,
                    "description": "A windowed limit's window, as stored.",
                },
            },
            "description": "A limit of a config item as stored, with what zae-limiter stores "
            "beside its numbers where it stores any.",
        },
        "Flag": {
            "type": "object",
            "required": ["value", "level"],
            "properties": {
                "value": {"nullable": True, "description": "The effective value."},
                "level": {
                    "type": "string",
                    "enum": list(ACCESS_LEVELS),
                    "nullable": True,
                    "description": "The level that set it; null when none did.",
                },
            },
        },
        "EffectiveLimits": {
            "type": "object",
            "additionalProperties": False,
            "required": [
                "namespace",
                "entity",
                "resource",
                "source",
                "limits",
                "disabled",
                "cascade",
                "on_unavailable",
                "levels",
            ],
            "properties": {
                "namespace": {"type": "string"},
                "entity": ref("EntityId"),
                "resource": ref("ResourceName"),
                "source": {
                    **level,
                    "nullable": True,
                    "description": "The first level that defines any limit; null: none.",
                },
                "limits": {
                    "type": "array",
                    "nullable": True,
                    "items": ref("ConfiguredLimit"),
                    "description": "Every limit of the deciding level; null when no level "
                    "defines one.",
                },
                "disabled": {
                    **ref("Flag"),
                    "description": "true, false or 'bypass'; false at no level when none sets it.",
                },
                "cascade": {
                    **ref("Flag"),
                    "description": "true or false; null when no level sets it (the entity's "
                    "own cascade flag then decides).",
                },
                "on_unavailable": {
                    "type": "string",
                    "nullable": True,
                    "description": "The system config's on_unavailable; null when unset.",
                },
                "levels": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": list(LIMIT_LEVELS),
                    "properties": {
                        name: {
                            "type": "object",
                            "nullable": True,
                            "description": "What the level's config item holds; null without one.",
                        }
                        for name in LIMIT_LEVELS
                    },
                },
            },
        },
        "Reach": {
            "type": "object",
            "required": ["entity_configs", "entity_default_configs", "system_defaults", "note"],
            "properties": {
                "entity_configs": {
                    "type": "integer",
                    "nullable": True,
                    "description": "Entities with a config item of their own for the resource "
                    "(zae-limiter's count); null where the table keeps no count.",
                },
                "entity_default_configs": {
                    "type": "integer",
                    "nullable": True,
                    "description": "Entities with a _default_ config item.",
                },
                "system_defaults": {
                    "type": "boolean",
                    "nullable": True,
                    "description": "Whether the system config defines limits: what the entities "
                    "reached get while the resource has no defaults.",
                },
                "note": {"type": "string", "description": "Who the change reaches, in words."},
            },
        },
        "DryRun": {
            "type": "object",
            "additionalProperties": False,
            "required": ["resource", "limits", "dry_run", "reach"],
            "properties": {
                "resource": ref("ResourceName"),
                "limits": {
                    "type": "array",
                    "nullable": True,
                    "items": ref("Limit"),
                    "description": "The limits the write would store; null for a delete.",
                },
                "dry_run": {"type": "boolean", "enum": [True]},
                "reach": ref("Reach"),
            },
        },
    }
