"""The values the store reads and writes."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Final

from resource_registry import schema
from resource_registry.records import Record

# A limit's number: an integer, or exactly what another writer stored (zae-limiter 0.17 takes
# 1.5), never through a binary float.
Number = int | Decimal


def stored_number(text: str) -> Number:
    """A DynamoDB number as stored: an int when it is whole, else the exact Decimal."""
    number = Decimal(text)
    return int(number) if number == number.to_integral_value() else number


class Namespace(Record):
    """One namespace of a table: its name and, where keys carry one (zae-limiter 0.10 and later),
    its id."""

    __slots__ = ("name", "namespace_id")
    name: Final[str]
    namespace_id: Final[str | None]

    def __init__(
        self, name: str = schema.DEFAULT_NAMESPACE, namespace_id: str | None = None
    ) -> None:
        self.name = name
        self.namespace_id = namespace_id

    @property
    def prefix(self) -> str:
        """What every key of the namespace starts with."""
        return schema.namespace_prefix(self.namespace_id)


# The one namespace of a table whose layout has no namespaces: "default", keys without a prefix.
SOLE_NAMESPACE = Namespace()


class Limit(Record):
    """One default limit of a resource, with every default already applied."""

    __slots__ = ("name", "capacity", "burst", "refill_amount", "refill_period_seconds")
    name: Final[str]
    capacity: Final[Number]
    burst: Final[Number]
    refill_amount: Final[Number]
    refill_period_seconds: Final[Number]

    def __init__(
        self,
        name: str,
        capacity: Number,
        burst: Number,
        refill_amount: Number,
        refill_period_seconds: Number,
    ) -> None:
        self.name = name
        self.capacity = capacity
        self.burst = burst
        self.refill_amount = refill_amount
        self.refill_period_seconds = refill_period_seconds

    def to_dict(self) -> dict[str, Any]:
        """Every field, in the order the API shows them (a layout may leave burst out)."""
        return {
            "name": self.name,
            "capacity": self.capacity,
            "burst": self.burst,
            "refill_amount": self.refill_amount,
            "refill_period_seconds": self.refill_period_seconds,
        }


class Precondition(Record):
    """What a write requires first: that the resource has defaults and, when ``etags`` is not
    empty, that its current ETag is one of them."""

    __slots__ = ("etags",)
    etags: Final[frozenset[str]]

    def __init__(self, etags: frozenset[str] = frozenset()) -> None:
        self.etags = etags


class NoneMatch(Record):
    """What If-None-Match requires: that the resource has no defaults (``*``, a create), or that
    its ETag is none of ``etags``."""

    __slots__ = ("etags",)
    etags: Final[frozenset[str]]

    def __init__(self, etags: frozenset[str] = frozenset()) -> None:
        self.etags = etags

    @property
    def any(self) -> bool:
        """``*``: any existing defaults fail it."""
        return not self.etags

    def fails(self, exists: bool, etag: str) -> bool:
        """Whether a resource in this state fails the condition."""
        return exists and (self.any or etag in self.etags)


class ResourceDefaults(Record):
    """A resource's whole set of default limits, sorted by name, and the ETag it was read at."""

    __slots__ = ("resource", "limits", "version", "etag", "shown")
    resource: Final[str]
    limits: Final[tuple[Limit, ...]]
    version: Final[int]
    etag: Final[str]
    # The limits as the table's layout shows them (without burst where it keeps none).
    shown: Final[tuple[dict[str, Any], ...]]

    def __init__(
        self,
        resource: str,
        limits: tuple[Limit, ...],
        version: int,
        etag: str,
        shown: tuple[dict[str, Any], ...] | None = None,
    ) -> None:
        self.resource = resource
        self.limits = limits
        self.version = version
        self.etag = etag
        self.shown = tuple(limit.to_dict() for limit in limits) if shown is None else shown

    def to_dict(self) -> dict[str, Any]:
        """The body the API answers with."""
        return {"resource": self.resource, "limits": list(self.shown)}
