"""Repairs of a namespace's registry: what the backfill (and any later healer) changes, each
change conditioned on the resource's items so that it can never undo a newer write.
"""

from __future__ import annotations

from collections.abc import Mapping

from resource_registry.dynamodb import RetryableWriteError
from resource_registry.errors import ConcurrentUpdateError
from resource_registry.layouts.base import Action
from resource_registry.layouts.stored import StoredResource
from resource_registry.model import SOLE_NAMESPACE, Namespace
from resource_registry.registry_commit import commit_with_registry, room_for_changes
from resource_registry.retry import RetryPolicy, with_retries
from resource_registry.table import Table
from resource_registry.ulid import new_ulid


class RegistryRepairs:
    """Adds the names a namespace's registry misses, and removes those it should not hold."""

    def __init__(
        self,
        table: Table,
        namespace: Namespace = SOLE_NAMESPACE,
        retry_policy: RetryPolicy | None = None,
    ) -> None:
        self._table = table
        self._namespace = namespace
        self._retry_policy = retry_policy or RetryPolicy()

    def read(self, resource: str) -> StoredResource:
        """One strongly consistent read of a resource's limits."""
        return self._table.layout.read(self._table, self._namespace, resource)

    def proof(self, stored: StoredResource) -> str:
        """What a registration of the resource ``stored`` describes checks still exists."""
        return self._table.layout.proof(stored)

    def register_existing(self, proofs: Mapping[str, str]) -> list[str]:
        """Add to the registry each resource that still has the limit ``proofs`` names for it.

        Each name is added in a transaction that also checks that limit still exists, so a
        delete that ran since the caller saw it is never undone. Returns the names added.
        """
        registered: list[str] = []
        pending = dict(proofs)
        room = room_for_changes(self._table, self._namespace)
        while pending:
            batch = dict(sorted(pending.items())[:room])
            for name in batch:
                del pending[name]
            registered += self._register_batch(batch)
        return sorted(registered)

    def unregister_if_orphaned(self, resource: str) -> bool:
        """Remove a resource without defaults from the registry; False if it has defaults.

        The removal is conditioned on the resource being unchanged since the read; a consistent
        read after it repairs the registry if a writer that keeps no version raced with it.
        """
        layout, table, namespace = self._table.layout, self._table, self._namespace

        def attempt() -> bool:
            # Read again on every try: once a writer moved the resource, the old condition is dead.
            stored = self.read(resource)
            if stored.has_defaults:
                return False
            unchanged = layout.unchanged_check(table, namespace, resource, stored)
            registry = layout.registry_action(
                table, namespace, "DELETE", [resource], write_id=new_ulid()
            )
            commit_with_registry(table, namespace, [unchanged, registry])
            return True

        try:
            if not with_retries(self._retry_policy, attempt):
                return False
        except ConcurrentUpdateError:
            return False
        after = self.read(resource)
        if after.has_defaults:
            self.register_existing({resource: self.proof(after)})
            return False
        return True

    def add_if_still(self, resource: str, stored: StoredResource) -> bool:
        """Add ``resource``, which has defaults as ``stored``, if the limit that proves it still
        exists; False if it does not (a newer write removed it: its own change heals it)."""
        layout, table, namespace = self._table.layout, self._table, self._namespace
        check = layout.proof_check(table, namespace, resource, layout.proof(stored))
        registry = layout.registry_action(table, namespace, "ADD", [resource], write_id=new_ulid())
        return self._unless_stale([check, registry])

    def remove_if_still(self, resource: str, stored: StoredResource) -> bool:
        """Remove ``resource``, which has no defaults as ``stored``, if it is still as read;
        False if it is not (a newer write changed it: its own change heals it)."""
        layout, table, namespace = self._table.layout, self._table, self._namespace
        check = layout.unchanged_check(table, namespace, resource, stored)
        registry = layout.registry_action(
            table, namespace, "DELETE", [resource], write_id=new_ulid()
        )
        return self._unless_stale([check, registry])

    def _unless_stale(self, actions: list[Action]) -> bool:
        """Commit ``actions`` (conflicts and throttling retried); False when a condition on the
        resource failed: the state they were built from is gone."""

        def attempt() -> bool:
            try:
                commit_with_registry(self._table, self._namespace, actions)
            except RetryableWriteError as retry:
                if set(retry.reasons) <= {"None", "ConditionalCheckFailed"}:
                    return False
                raise
            return True

        return with_retries(self._retry_policy, attempt)

    def _register_batch(self, batch: dict[str, str]) -> list[str]:
        layout, table, namespace = self._table.layout, self._table, self._namespace

        def attempt() -> list[str]:
            names = sorted(batch)
            if not names:
                return []
            checks = [layout.proof_check(table, namespace, name, batch[name]) for name in names]
            registry = layout.registry_action(table, namespace, "ADD", names, write_id=new_ulid())
            try:
                commit_with_registry(table, namespace, [*checks, registry])
            except RetryableWriteError as retry:
                # A failed check means that limit is gone: look for any limit the resource has now.
                for name, reason in zip(names, retry.reasons, strict=False):
                    if reason == "ConditionalCheckFailed":
                        current = self.read(name)
                        if current.has_defaults:
                            batch[name] = self.proof(current)
                        else:
                            del batch[name]
                raise
            return names

        return with_retries(self._retry_policy, attempt)
