"""JSON text both ways, strictly: a body with a key twice is refused, and numbers are answered
exactly as stored (a Decimal as its digits, never through a binary float)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any


class DuplicateKeyError(ValueError):
    """A JSON object names a key twice (Python's json keeps the last; the API refuses it)."""


def loads(text: str) -> Any:
    """Parse ``text``; DuplicateKeyError for an object with a key twice, at any depth, and
    ValueError for NaN or Infinity, which are not JSON."""
    return json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_reject_constant)


def dumps(value: Any) -> str:
    """``value`` as JSON text; a Decimal (a number another writer stored) as its exact digits."""
    if isinstance(value, Decimal):
        return str(value)  # DynamoDB's numbers are finite: digits, a point, maybe an exponent
    if isinstance(value, dict):
        members = (f"{json.dumps(str(key))}: {dumps(item)}" for key, item in value.items())
        return "{" + ", ".join(members) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(dumps(item) for item in value) + "]"
    return json.dumps(value)


class NotAJsonNumberError(ValueError):
    """Python's json takes NaN and Infinity; JSON does not."""


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            shown = key if len(key) <= 80 else key[:80] + "..."
            raise DuplicateKeyError(f"the key {shown!r} appears twice in one object")
        found[key] = value
    return found


def _reject_constant(name: str) -> None:
    raise NotAJsonNumberError(f"{name} is not a JSON number")
