"""What a checkpoint checks: each answered write claims its own version, the registry equals the
resources with defaults, and each resource holds exactly one answered write's limits."""

from __future__ import annotations

import threading
from typing import Any

from devtools.concurrency_harness.tags import tag_of
from resource_registry import schema
from resource_registry.dynamodb import all_items
from resource_registry.layouts.base import Layout
from resource_registry.layouts.stored import StoredResource
from resource_registry.model import SOLE_NAMESPACE, Namespace


class WriteLog:
    """The sets the API answered 200 to, by resource and version: two claims of one version is a
    lost update. Sets answered 503 may or may not have committed, so they are kept apart.

    Where versions start again after a delete (a composite item goes with its defaults), two
    writes may rightly share a version: there the log is keyed by the whole ETag instead, which
    still ties each state of the table to the one write answered with it.
    """

    def __init__(self, by_version: bool = True) -> None:
        self._lock = threading.Lock()
        self._by_version = by_version
        self.committed: dict[tuple[str, int | str], str] = {}
        self.uncertain: set[tuple[str, str]] = set()

    def key(self, etag: str) -> int | str:
        """What identifies a state of a resource: its version, or its whole ETag."""
        return int(etag.split("-", maxsplit=1)[0]) if self._by_version else etag

    def record(self, resource: str, etag: str, tag: str) -> str | None:
        """Record a 200; a violation message if another write already claimed that version."""
        key = self.key(etag)
        with self._lock:
            earlier = self.committed.setdefault((resource, key), tag)
        if earlier != tag:
            return f"{resource}: writes {earlier} and {tag} were both answered as version {key}"
        return None

    def record_uncertain(self, resource: str, tag: str) -> None:
        with self._lock:
            self.uncertain.add((resource, tag))


def check_table(
    items: list[dict[str, Any]],
    writes: WriteLog,
    layout: Layout,
    namespace: Namespace = SOLE_NAMESPACE,
) -> list[str]:
    """Violations in a full dump of a quiescent table (see the module docstring)."""
    registry_key = layout.registry_key(namespace)
    registry: set[str] = set()
    partitions: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        key = {name: item[name] for name in (schema.PARTITION_KEY, schema.SORT_KEY)}
        if key == registry_key:
            registry = set(item.get(schema.ATTR_RESOURCES, {}).get("SS", []))
            continue
        resource = schema.resource_from_pk(item[schema.PARTITION_KEY]["S"], namespace.prefix)
        if resource is not None:
            partitions.setdefault(resource, []).append(item)
    stored = {resource: layout.parse(found) for resource, found in partitions.items()}
    with_defaults = {resource for resource, state in stored.items() if state.has_defaults}
    violations = [f"{name} is registered but has no defaults" for name in registry - with_defaults]
    violations += [
        f"{name} has defaults but is not registered" for name in with_defaults - registry
    ]
    for resource in sorted(with_defaults):
        violations += _check_resource(resource, stored[resource], writes)
    return violations


def _check_resource(resource: str, stored: StoredResource, writes: WriteLog) -> list[str]:
    limits = [
        {
            "name": limit.name,
            "capacity": limit.capacity,
            "refill_period_seconds": limit.refill_period_seconds,
        }
        for limit in stored.limits
    ]
    tag, why = tag_of(limits)
    if tag is None:
        return [f"{resource}: {why}"]
    version = stored.version
    # Flat limit items carry the version of the write that put them; all must agree.
    config_versions = {
        int(item[schema.ATTR_CONFIG_VERSION]["N"])
        for item in stored.items.values()
        if schema.ATTR_CONFIG_VERSION in item
    }
    if config_versions != {version}:
        return [f"{resource}: limits at config_version {config_versions}, version {version}"]
    answered = writes.committed.get((resource, writes.key(stored.etag)))
    if answered != tag and (resource, tag) not in writes.uncertain:
        return [f"{resource}: holds {tag} at version {version}, but the API answered {answered}"]
    return []


def full_dump(client: Any, name: str) -> list[dict[str, Any]]:
    """Every item of the table, strongly consistent."""
    return all_items(client.scan, TableName=name, ConsistentRead=True)
