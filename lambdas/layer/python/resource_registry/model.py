"""The values the store reads and writes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Limit:
    """One default limit of a resource, with every default already applied."""

    name: str
    capacity: int
    burst: int
    refill_amount: int
    refill_period_seconds: int

    def to_dict(self, with_burst: bool = True) -> dict[str, Any]:
        """The limit as the API shows it; ``with_burst`` False where the table stores no burst."""
        shown: dict[str, Any] = {"name": self.name, "capacity": self.capacity}
        if with_burst:
            shown["burst"] = self.burst
        shown["refill_amount"] = self.refill_amount
        shown["refill_period_seconds"] = self.refill_period_seconds
        return shown


@dataclass(frozen=True)
class Precondition:
    """What a write requires first: that the resource has defaults and, when ``etags`` is not
    empty, that its current ETag is one of them."""

    etags: frozenset[str] = frozenset()


@dataclass(frozen=True)
class NoneMatch:
    """What If-None-Match requires: that the resource has no defaults (``*``, a create), or that
    its ETag is none of ``etags``."""

    etags: frozenset[str] = frozenset()

    @property
    def any(self) -> bool:
        """``*``: any existing defaults fail it."""
        return not self.etags

    def fails(self, exists: bool, etag: str) -> bool:
        """Whether a resource in this state fails the condition."""
        return exists and (self.any or etag in self.etags)


@dataclass(frozen=True)
class ResourceDefaults:
    """A resource's whole set of default limits, sorted by name, and the ETag it was read at."""

    resource: str
    limits: tuple[Limit, ...]
    version: int
    etag: str
    # False where the table keeps no burst (zae-limiter 0.10 and later): the API omits it.
    stores_burst: bool = True

    def to_dict(self) -> dict[str, Any]:
        """The body the API answers with."""
        return {
            "resource": self.resource,
            "limits": [limit.to_dict(self.stores_burst) for limit in self.limits],
        }
