"""The records a layout answers with: what it read of a resource, a config item or a stream key."""

from __future__ import annotations

import hashlib
import json
from typing import Any, Final

from resource_registry import schema
from resource_registry.model import Limit, Number
from resource_registry.records import Record

Item = dict[str, Any]


class StoredResource(Record):
    """What one strongly consistent read of a resource found."""

    __slots__ = ("limits", "version", "unrepresentable", "items")
    limits: Final[tuple[Limit, ...]]
    version: Final[int]
    # Limits the API cannot represent (scheduled, soft, windowed), each with the reason.
    unrepresentable: Final[dict[str, str]]
    # The items read, by sort key: what a write's condition compares, so that a writer who
    # changed them since the read makes it fail.
    items: Final[dict[str, Item]]

    def __init__(
        self,
        limits: tuple[Limit, ...],
        version: int,
        unrepresentable: dict[str, str] | None = None,
        items: dict[str, Item] | None = None,
    ) -> None:
        self.limits = limits
        self.version = version
        self.unrepresentable = {} if unrepresentable is None else unrepresentable
        self.items = {} if items is None else items

    @property
    def has_defaults(self) -> bool:
        """The contract's definition: at least one limit item, or a config item with a limit."""
        return bool(self.limits)

    @property
    def etag(self) -> str:
        """A strong validator: the version, and a digest of every limit as stored.

        The digest changes with any change to the limits, including a write by a program that
        keeps no version (zae-limiter itself), so If-Match catches those too.
        """
        shown = [
            (
                limit.name,
                *(
                    _digestible(number)
                    for number in (
                        limit.capacity,
                        limit.burst,
                        limit.refill_amount,
                        limit.refill_period_seconds,
                    )
                ),
                self.unrepresentable.get(limit.name, ""),
            )
            for limit in self.limits
        ]
        digest = hashlib.sha256(json.dumps(shown).encode()).hexdigest()[:12]
        return f"{self.version}-{digest}"


def _digestible(number: Number) -> int | str:
    """A number as the ETag digests it: an int as before fractions were served, else its text."""
    return number if isinstance(number, int) else str(number)


class ConfiguredLimit(Record):
    """One limit of a config item as stored, with what zae-limiter reads beside its numbers."""

    __slots__ = ("limit", "soft", "schedule", "reset_schedule", "reset_after_seconds")
    limit: Final[Limit]
    soft: Final[bool]
    # zae-limiter's compact encodings of the limit's schedules, as stored (None: none).
    schedule: Final[str | None]
    reset_schedule: Final[str | None]
    # A windowed limit's window (reset_after), as stored; None for any other limit.
    reset_after_seconds: Final[Number | None]

    def __init__(
        self,
        limit: Limit,
        soft: bool = False,
        schedule: str | None = None,
        reset_schedule: str | None = None,
        reset_after_seconds: Number | None = None,
    ) -> None:
        self.limit = limit
        self.soft = soft
        self.schedule = schedule
        self.reset_schedule = reset_schedule
        self.reset_after_seconds = reset_after_seconds


class ConfigLevel(Record):
    """What one config item says, as zae-limiter reads it: its limits, ``disabled`` (True, False
    or "bypass"; None: inherit), ``cascade`` (None: inherit), and on a system config
    ``on_unavailable``."""

    __slots__ = ("limits", "disabled", "cascade", "on_unavailable", "schedule_time_zone")
    limits: Final[tuple[ConfiguredLimit, ...]]
    disabled: Final[bool | str | None]
    cascade: Final[bool | None]
    on_unavailable: Final[str | None]
    # The one time zone of every schedule on the item (None: UTC, or nothing scheduled).
    schedule_time_zone: Final[str | None]

    def __init__(
        self,
        limits: tuple[ConfiguredLimit, ...],
        disabled: bool | str | None = None,
        cascade: bool | None = None,
        on_unavailable: str | None = None,
        schedule_time_zone: str | None = None,
    ) -> None:
        self.limits = limits
        self.disabled = disabled
        self.cascade = cascade
        self.on_unavailable = on_unavailable
        self.schedule_time_zone = schedule_time_zone


class ConfigKeys(Record):
    """Where zae-limiter keeps the four levels of an entity's config for one resource, in the
    order it resolves them."""

    __slots__ = ("entity", "entity_default", "resource", "system")
    entity: Final[schema.Key]  # the entity's config for the resource
    entity_default: Final[schema.Key]  # the entity's config for every other resource
    resource: Final[schema.Key]  # the resource's defaults
    system: Final[schema.Key]  # the namespace's system config

    def __init__(
        self,
        entity: schema.Key,
        entity_default: schema.Key,
        resource: schema.Key,
        system: schema.Key,
    ) -> None:
        self.entity = entity
        self.entity_default = entity_default
        self.resource = resource
        self.system = system


# A resource found by the backfill, and what proves it has defaults (None: read it to know).
Found = tuple[str, str | None]


class StreamTarget(Record):
    """What a stream record of the table is about: a resource's limits, or a registry, in the
    namespace whose keys start with ``prefix``."""

    __slots__ = ("prefix", "resource")
    prefix: Final[str]
    # The resource whose limits an item holds; None for a namespace's registry item.
    resource: Final[str | None]

    def __init__(self, prefix: str, resource: str | None) -> None:
        self.prefix = prefix
        self.resource = resource
