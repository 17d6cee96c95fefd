"""Committing a change with the registry update, in one transaction that also checks the
namespace: the one way every writer (the API's store, the backfill's repairs) changes a registry.
"""

from __future__ import annotations

from resource_registry.dynamodb import MAX_TRANSACT_ACTIONS, RetryableWriteError, transact
from resource_registry.errors import NamespaceNotFoundError
from resource_registry.layouts.base import Action
from resource_registry.model import Namespace
from resource_registry.table import Table


def room_for_changes(table: Table, namespace: Namespace) -> int:
    """Actions a transaction has room for besides the registry update and namespace checks."""
    return MAX_TRANSACT_ACTIONS - 1 - len(table.layout.namespace_checks(table, namespace))


def commit_with_registry(table: Table, namespace: Namespace, actions: list[Action]) -> None:
    """Commit ``actions``, the last of which updates the registry, with the namespace checks.

    The checks go just before the registry update, which stays last: a failure there is
    RegistryFullError; a failed check, NamespaceNotFoundError.
    """
    *changes, registry = actions
    checks = table.layout.namespace_checks(table, namespace)
    try:
        transact(table.client, [*changes, *checks, registry], len(changes) + len(checks))
    except RetryableWriteError as retry:
        failed = retry.reasons[len(changes) : len(changes) + len(checks)]
        if "ConditionalCheckFailed" in failed:
            raise NamespaceNotFoundError(
                f"namespace {namespace.name!r} was deleted; nothing was written"
            ) from retry
        raise


def commit_without_registry(table: Table, actions: list[Action]) -> None:
    """Commit ``actions``, none of which touches a registry."""
    transact(table.client, actions, None)
