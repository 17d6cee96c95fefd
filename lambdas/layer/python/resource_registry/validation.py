"""Validation of resource names, limit names and limits (docs/contract.md section 2).

Every function raises InvalidInputError with a message a person can act on.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from resource_registry.errors import InvalidInputError
from resource_registry.model import Limit

NAME_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,63}")
NAME_RULE = "1 to 64 characters: a letter, then letters, digits, '_', '.' or '-'"
# zae-limiter's resource rule: '/' groups by provider (openai/gpt-4), ':' tags (llama3:8b).
RESOURCE_NAME_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9_.\-/:]{0,63}")
RESOURCE_NAME_RULE = "1 to 64 characters: a letter, then letters, digits, '_', '.', '-', '/' or ':'"
# zae-limiter's entity id rule (its IDENTIFIER_PATTERN and MAX_IDENTIFIER_LENGTH): UUIDs, API keys
# (sk-proj-xxx), e-mail-like names.
ENTITY_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-:@]{0,255}")
ENTITY_ID_RULE = (
    "1 to 256 characters: a letter or digit, then letters, digits, '_', '.', '-', ':' or '@'"
)
# zae-limiter's own infrastructure limit (DynamoDB write capacity per partition).
RESERVED_LIMIT_NAMES = frozenset({"wcu"})
# zae-limiter's longest namespace name.
MAX_NAMESPACE_LENGTH = 64
MIN_LIMITS = 1
# The most limits any layout's write holds (each layout has its own maximum, at most this:
# resource_registry.layouts); a longer list is refused before it is parsed.
MAX_LIMITS = 1000
# zae-limiter 0.17's own bounds on a limit's numbers (its schedule.MAX_TOKENS and
# MAX_PERIOD_SECONDS), both below 2**53, where JSON clients (JavaScript) start losing precision.
MAX_TOKENS = 10**15
MAX_PERIOD_SECONDS = 10**9
# Each number of a limit: its smallest and largest value (burst is also at least capacity).
NUMBER_BOUNDS = {
    "capacity": (1, MAX_TOKENS),
    "burst": (1, MAX_TOKENS),
    # zae-limiter's Limit declares refill_amount >= 0, but takes 0 only with a reset schedule
    # (a quota, ADR-137) and cannot read back a limit with 0 and none; this API writes no
    # schedules, so a limit it writes refills at least 1.
    "refill_amount": (1, MAX_TOKENS),
    "refill_period_seconds": (1, MAX_PERIOD_SECONDS),
}

REQUIRED_LIMIT_FIELDS = ("name", "capacity", "refill_period_seconds")
OPTIONAL_LIMIT_FIELDS = ("burst", "refill_amount")
LIMIT_FIELDS = REQUIRED_LIMIT_FIELDS + OPTIONAL_LIMIT_FIELDS


def validate_name(
    value: object, what: str, pattern: re.Pattern[str] = NAME_PATTERN, rule: str = NAME_RULE
) -> str:
    """Return ``value`` if it is a valid limit name (or matches ``pattern``); ``what`` names it
    in the error."""
    if not isinstance(value, str):
        raise InvalidInputError(f"{what} must be a string ({rule})")
    if not pattern.fullmatch(value):
        raise InvalidInputError(f"{what} {_shorten(value)!r} is not valid: {rule}")
    return value


def validate_resource_name(value: object) -> str:
    """Return ``value`` if it is a valid resource name."""
    return validate_name(value, "resource name", RESOURCE_NAME_PATTERN, RESOURCE_NAME_RULE)


def validate_entity_id(value: object) -> str:
    """Return ``value`` if it is a valid entity id (zae-limiter's rule)."""
    return validate_name(value, "entity id", ENTITY_ID_PATTERN, ENTITY_ID_RULE)


def parse_limits(value: object) -> tuple[Limit, ...]:
    """Parse a JSON list of limits into Limits sorted by name, applying the contract's defaults."""
    if not isinstance(value, list):
        raise InvalidInputError("'limits' must be a list of limit objects")
    _check_limit_count(len(value))  # before parsing: a list of 10,000 is refused at once
    return validate_limit_set([parse_limit(item, index) for index, item in enumerate(value)])


def validate_limit_set(limits: Sequence[Limit]) -> tuple[Limit, ...]:
    """A resource's whole set of limits, sorted by name: 1 to 40 of them, names unique."""
    _check_limit_count(len(limits))
    seen: set[str] = set()
    for limit in limits:
        if limit.name in seen:
            raise InvalidInputError(f"limit name {limit.name!r} appears more than once")
        seen.add(limit.name)
    return tuple(sorted(limits, key=lambda limit: limit.name))


def parse_limit(value: object, index: int = 0) -> Limit:
    """Parse one JSON limit object; ``index`` places it in the error message."""
    where = f"limits[{index}]"
    if not isinstance(value, Mapping):
        raise InvalidInputError(f"{where} must be an object")
    unknown = sorted(str(field) for field in value if field not in LIMIT_FIELDS)
    if unknown:
        raise InvalidInputError(
            f"{where} has unknown field(s) {', '.join(map(repr, unknown))}; "
            f"allowed: {', '.join(LIMIT_FIELDS)}"
        )
    missing = [field for field in REQUIRED_LIMIT_FIELDS if field not in value]
    if missing:
        raise InvalidInputError(f"{where} is missing {', '.join(map(repr, missing))}")
    name = validate_name(value["name"], f"{where}.name")
    if name in RESERVED_LIMIT_NAMES:
        raise InvalidInputError(
            f"{where}.name {name!r} is reserved: zae-limiter uses it for its own write capacity"
        )
    capacity = _integer(value, "capacity", where)
    burst = _integer(value, "burst", where, default=capacity)
    if burst < capacity:
        raise InvalidInputError(f"{where}.burst ({burst}) must be at least capacity ({capacity})")
    return Limit(
        name=name,
        capacity=capacity,
        burst=burst,
        refill_amount=_integer(value, "refill_amount", where, default=capacity),
        refill_period_seconds=_integer(value, "refill_period_seconds", where),
    )


def _check_limit_count(count: int) -> None:
    if not MIN_LIMITS <= count <= MAX_LIMITS:
        raise InvalidInputError(
            f"a resource has {MIN_LIMITS} to {MAX_LIMITS} limits; the request has {count}"
        )


def _integer(value: Mapping[str, Any], field: str, where: str, default: int | None = None) -> int:
    if field not in value and default is not None:
        return default
    number = value[field]
    # bool is a subclass of int in Python, but JSON true/false are not integers.
    if isinstance(number, bool) or not isinstance(number, int):
        raise InvalidInputError(f"{where}.{field} must be an integer, not {_json_type(number)}")
    lowest, highest = NUMBER_BOUNDS[field]
    if not lowest <= number <= highest:
        raise InvalidInputError(f"{where}.{field} must be between {lowest} and {highest}")
    return number


def _json_type(value: object) -> str:
    names = {bool: "a boolean", float: "a float", Decimal: "a float", str: "a string"}
    names.update({type(None): "null", list: "a list", dict: "an object"})
    return names.get(type(value), type(value).__name__)


def _shorten(value: str, length: int = 80) -> str:
    return value if len(value) <= length else value[:length] + "..."
