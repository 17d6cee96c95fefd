"""The effective view: which limits zae-limiter applies to an entity on a resource, and why; and
who a change of a resource's defaults reaches.

zae-limiter resolves an entity's limits on a resource through four config levels, in order
(``Repository.resolve_limits``): the entity's config for the resource, the entity's ``_default_``
config, the resource's defaults and the namespace's system config. The first level that defines
any limit wins, all of its limits together. ``disabled`` and the cascade policy walk the first
three levels on their own (``resolve_access``): the first level that sets a value decides, whether
or not it defines limits. The view reads the four items with one strongly consistent
BatchGetItem, so the answer is one state of the table, and walks them the same way.
"""

from __future__ import annotations

import hashlib
from typing import Any, Final

from resource_registry import json_text, schema
from resource_registry.dynamodb import batch_get, call_dynamodb
from resource_registry.layouts.stored import ConfigLevel, ConfiguredLimit, Item
from resource_registry.model import Namespace
from resource_registry.records import Record
from resource_registry.table import Table
from resource_registry.validation import validate_entity_id, validate_resource_name

# The levels in the order zae-limiter resolves limits through them; disabled and cascade walk
# the first three.
ENTITY, ENTITY_DEFAULT, RESOURCE, SYSTEM = "entity", "entity_default", "resource", "system"
LIMIT_LEVELS = (ENTITY, ENTITY_DEFAULT, RESOURCE, SYSTEM)
ACCESS_LEVELS = (ENTITY, ENTITY_DEFAULT, RESOURCE)
# What an effective view's ETag token starts with (a resource's starts with its version).
ETAG_PREFIX = "e"


class EffectiveLimits(Record):
    """What zae-limiter applies to one entity on one resource, the level that decided each part,
    and what every level holds."""

    __slots__ = ("namespace", "entity", "resource", "body", "etag")
    namespace: Final[str]
    entity: Final[str]
    resource: Final[str]
    # The API's answer (docs/contract.md, the effective view), numbers exactly as stored.
    body: Final[dict[str, Any]]
    # A strong validator: a digest of the answer, which the four items alone decide.
    etag: Final[str]

    def __init__(
        self, namespace: str, entity: str, resource: str, body: dict[str, Any], etag: str
    ) -> None:
        self.namespace = namespace
        self.entity = entity
        self.resource = resource
        self.body = body
        self.etag = etag


class Reach(Record):
    """Who a change of a resource's defaults reaches: every entity of the namespace but those
    whose own config for the resource, or own ``_default_``, defines limits.

    The counts are zae-limiter's own count of entity config items (one GetItem): an item may
    hold only a flag and define no limits, and an entity may have both, so together they bound
    from above how many entities a change does not reach. None where the layout keeps no count.
    """

    __slots__ = ("entity_configs", "entity_default_configs", "system_defaults")
    entity_configs: Final[int | None]  # entities with a config item for the resource
    entity_default_configs: Final[int | None]  # entities with a _default_ config item
    # Whether the system config defines limits: what the entities reached get while the resource
    # has no defaults (without them zae-limiter finds no limits). None where unknown.
    system_defaults: Final[bool | None]

    def __init__(
        self,
        entity_configs: int | None,
        entity_default_configs: int | None,
        system_defaults: bool | None,
    ) -> None:
        self.entity_configs = entity_configs
        self.entity_default_configs = entity_default_configs
        self.system_defaults = system_defaults

    def to_dict(self, resource: str) -> dict[str, Any]:
        """The ``reach`` of a dry run's answer."""
        return {
            "entity_configs": self.entity_configs,
            "entity_default_configs": self.entity_default_configs,
            "system_defaults": self.system_defaults,
            "note": self._note(resource),
        }

    def _note(self, resource: str) -> str:
        if self.entity_configs is None or self.entity_default_configs is None:
            return (
                f"every entity of the namespace without limits of its own for {resource!r}; this "
                "table's layout keeps no count of entity configs, so how many have some is unknown"
            )
        bound = self.entity_configs + self.entity_default_configs
        fallback = (
            "the system defaults"
            if self.system_defaults
            else "no limits (zae-limiter then finds none)"
        )
        if not bound:
            who = (
                f"every entity of the namespace: none has a config of its own for {resource!r} "
                f"or for {schema.DEFAULT_RESOURCE}"
            )
        else:
            who = (
                f"every entity of the namespace except at most {bound}: {self.entity_configs} "
                f"with a config of their own for {resource!r}, {self.entity_default_configs} "
                f"with one for {schema.DEFAULT_RESOURCE} (each excluded only if its config "
                "defines limits)"
            )
        return f"{who}; without this resource's defaults they get {fallback}"


class EffectiveView:
    """The effective limits of entities in one namespace of a table."""

    def __init__(self, table: Table, namespace: Namespace) -> None:
        self.table = table
        self.namespace = namespace

    def explain(self, entity: str, resource: str) -> EffectiveLimits:
        """The limits, disabled state and cascade policy zae-limiter resolves for ``entity`` on
        ``resource``, each with its deciding level: one consistent BatchGetItem of four items."""
        validate_entity_id(entity)
        validate_resource_name(resource)
        layout = self.table.layout
        keys = layout.config_keys(self.namespace, entity, resource)
        by_level = {
            ENTITY: keys.entity,
            ENTITY_DEFAULT: keys.entity_default,
            RESOURCE: keys.resource,
            SYSTEM: keys.system,
        }
        found = {
            _key_of(item): item
            for item in batch_get(
                self.table.client, self.table.name, list(by_level.values()), consistent=True
            )
        }
        levels: dict[str, ConfigLevel | None] = {}
        for level, key in by_level.items():
            item = found.get(_key_of(key))
            levels[level] = layout.config_level(item) if item is not None else None
        body = {
            "namespace": self.namespace.name,
            "entity": entity,
            "resource": resource,
            **self._resolved(levels),
        }
        digest = hashlib.sha256(json_text.dumps(body).encode()).hexdigest()[:12]
        return EffectiveLimits(
            self.namespace.name, entity, resource, body, f"{ETAG_PREFIX}-{digest}"
        )

    def reach(self, resource: str) -> Reach:
        """Who a change of ``resource``'s defaults reaches (see Reach): zae-limiter's count of
        entity configs and the system config, one consistent GetItem each."""
        validate_resource_name(resource)
        layout = self.table.layout
        counts_key = layout.entity_config_counts_key(self.namespace)
        system_key = layout.system_config_key(self.namespace)
        configs = defaults = None
        if counts_key is not None:
            counts = self._get(counts_key) or {}
            configs = layout.entity_config_count(counts, resource)
            defaults = layout.entity_config_count(counts, schema.DEFAULT_RESOURCE)
        system_defaults = None
        if system_key is not None:
            system = self._get(system_key)
            system_defaults = system is not None and bool(layout.config_level(system).limits)
        return Reach(configs, defaults, system_defaults)

    def _resolved(self, levels: dict[str, ConfigLevel | None]) -> dict[str, Any]:
        """The walk: zae-limiter's resolve_limits and resolve_access over the levels read."""
        source = next((name for name in LIMIT_LEVELS if _defines_limits(levels[name])), None)
        deciding = levels[source] if source is not None else None
        system = levels[SYSTEM]
        return {
            "source": source,
            "limits": (
                [self._shown(limit, deciding, source) for limit in deciding.limits]
                if deciding is not None and source is not None
                else None
            ),
            "disabled": _first_set(levels, "disabled", default=False),
            "cascade": _first_set(levels, "cascade", default=None),
            "on_unavailable": system.on_unavailable if system is not None else None,
            "levels": {name: self._level(name, level) for name, level in levels.items()},
        }

    def _level(self, name: str, level: ConfigLevel | None) -> dict[str, Any] | None:
        """What one level holds, as the answer's ``levels`` shows it."""
        if level is None:
            return None
        shown: dict[str, Any] = {"limits": [self._shown(limit, level) for limit in level.limits]}
        if name == SYSTEM:
            shown["on_unavailable"] = level.on_unavailable
        else:
            shown["disabled"] = level.disabled
            shown["cascade"] = level.cascade
        return shown

    def _shown(
        self, configured: ConfiguredLimit, level: ConfigLevel, source: str | None = None
    ) -> dict[str, Any]:
        """A limit as the layout shows it, its deciding level, and what zae-limiter stores beside
        its numbers (only where stored, as zae-limiter's own Limit.to_dict leaves them out)."""
        shown = self.table.layout.shown(configured.limit)
        if source is not None:
            shown["level"] = source
        if configured.soft:
            shown["soft"] = True
        if configured.schedule is not None:
            shown["schedule"] = configured.schedule
        if configured.reset_schedule is not None:
            shown["reset_schedule"] = configured.reset_schedule
        if configured.schedule is not None or configured.reset_schedule is not None:
            shown["schedule_time_zone"] = level.schedule_time_zone or "UTC"
        if configured.reset_after_seconds is not None:
            shown["reset_after_seconds"] = configured.reset_after_seconds
        return shown

    def _get(self, key: schema.Key) -> Item | None:
        response = call_dynamodb(
            self.table.client.get_item, TableName=self.table.name, Key=key, ConsistentRead=True
        )
        item: Item | None = response.get("Item")
        return item


def _defines_limits(level: ConfigLevel | None) -> bool:
    return level is not None and bool(level.limits)


def _first_set(
    levels: dict[str, ConfigLevel | None], flag: str, default: bool | None
) -> dict[str, Any]:
    """The first of the access levels that sets ``flag``, and its value; else ``default`` and no
    level (for cascade: the entity's own cascade flag then decides, as zae-limiter's
    effective_cascade says)."""
    for name in ACCESS_LEVELS:
        level = levels[name]
        value = getattr(level, flag) if level is not None else None
        if value is not None:
            return {"value": value, "level": name}
    return {"value": default, "level": None}


def _key_of(item: Item) -> tuple[str, str]:
    return item[schema.PARTITION_KEY]["S"], item[schema.SORT_KEY]["S"]
