"""The values the store reads and writes."""

from __future__ import annotations

from typing import Any, Final

from resource_registry.records import Record


class Limit(Record):
    """One default limit of a resource, with every default already applied."""

    __slots__ = ("name", "capacity", "burst", "refill_amount", "refill_period_seconds")
    name: Final[str]
    capacity: Final[int]
    burst: Final[int]
    refill_amount: Final[int]
    refill_period_seconds: Final[int]

    def __init__(
        self, name: str, capacity: int, burst: int, refill_amount: int, refill_period_seconds: int
    ) -> None:
        self.name = name
        self.capacity = capacity
        self.burst = burst
        self.refill_amount = refill_amount
        self.refill_period_seconds = refill_period_seconds

    def to_dict(self, with_burst: bool = True) -> dict[str, Any]:
        """The limit as the API shows it; ``with_burst`` False where the table stores no burst."""
        shown: dict[str, Any] = {"name": self.name, "capacity": self.capacity}
        if with_burst:
            shown["burst"] = self.burst
        shown["refill_amount"] = self.refill_amount
        shown["refill_period_seconds"] = self.refill_period_seconds
        return shown


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

    __slots__ = ("resource", "limits", "version", "etag", "stores_burst")
    resource: Final[str]
    limits: Final[tuple[Limit, ...]]
    version: Final[int]
    etag: Final[str]
    # False where the table keeps no burst (zae-limiter 0.10 and later): the API omits it.
    stores_burst: Final[bool]

    def __init__(
        self,
        resource: str,
        limits: tuple[Limit, ...],
        version: int,
        etag: str,
        stores_burst: bool = True,
    ) -> None:
        self.resource = resource
        self.limits = limits
        self.version = version
        self.etag = etag
        self.stores_burst = stores_burst

    def to_dict(self) -> dict[str, Any]:
        """The body the API answers with."""
        return {
            "resource": self.resource,
            "limits": [limit.to_dict(self.stores_burst) for limit in self.limits],
        }
