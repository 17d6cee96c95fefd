"""A table's namespaces, by name: resolved through the table's layout and cached for a while.

zae-limiter 0.10 and later keep each namespace's keys under an opaque id (layouts/namespaced.py);
other layouts have one namespace, ``default``, with no key prefix. Ids are cached for a short
while, so a namespace deleted or purged stops resolving within that time.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from resource_registry.model import Namespace
from resource_registry.table import Table

# How long a resolved namespace id is trusted before it is read again.
NAMESPACE_CACHE_SECONDS = 30.0


class NamespaceDirectory:
    """Resolves namespace names on one table, and lists the active ones."""

    def __init__(self, table: Table, clock: Callable[[], float] = time.monotonic) -> None:
        self._table = table
        self._clock = clock
        self._resolved: dict[str, tuple[Namespace, float]] = {}

    def resolve(self, name: str) -> Namespace:
        """An active namespace; NamespaceNotFoundError for any other name."""
        cached = self._resolved.get(name)
        if cached and cached[1] > self._clock():
            return cached[0]
        self._resolved.pop(name, None)
        namespace = self._table.layout.resolve_namespace(self._table, name)
        self._resolved[name] = (namespace, self._clock() + NAMESPACE_CACHE_SECONDS)
        return namespace

    def active(self) -> list[Namespace]:
        """Every active namespace, sorted by name."""
        return self._table.layout.active_namespaces(self._table)
