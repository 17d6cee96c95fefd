"""The process-wide store, made on first use so importing a handler costs no client."""

from __future__ import annotations

from functools import cache

from resource_registry.clients import dynamodb_client, table_name
from resource_registry.store import RegistryStore


@cache
def default_store() -> RegistryStore:
    """The RegistryStore over the configured table and client."""
    return RegistryStore(dynamodb_client(), table_name())


def reset() -> None:
    """Forget the cached client and store (tests switch endpoints between cases)."""
    default_store.cache_clear()
    dynamodb_client.cache_clear()
