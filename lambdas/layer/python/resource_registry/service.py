"""The process-wide table (its layout detected on first use, a cold start), namespaces and stores.

Importing a handler costs no client. A table whose layout cannot be served answers every request
with UnsupportedTableError, and is looked at again on the next request (an operator may fix it).
"""

from __future__ import annotations

import os
from functools import cache
from typing import TYPE_CHECKING

from resource_registry import schema
from resource_registry.audit import AuditTrail
from resource_registry.clients import batch_dynamodb_client, dynamodb_client, table_name
from resource_registry.detection import LAYOUT_VARIABLE, detect_table
from resource_registry.effective import EffectiveView
from resource_registry.namespaces import NamespaceDirectory
from resource_registry.store import RegistryStore
from resource_registry.table import Table

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


@cache
def table() -> Table:
    """The configured table, its layout detected (or named by TABLE_LAYOUT)."""
    return detect_table(dynamodb_client(), table_name(), os.environ.get(LAYOUT_VARIABLE))


@cache
def batch_table() -> Table:
    """The configured table over the backfill's client: long reads, adaptive retries."""
    return Table(batch_dynamodb_client(), table_name(), table().layout)


@cache
def namespaces() -> NamespaceDirectory:
    """The namespaces of the configured table."""
    return NamespaceDirectory(table())


@cache
def audit_trail() -> AuditTrail:
    """The configured table's audit events (it remembers each namespace's retention)."""
    return AuditTrail(table())


def store_for(namespace: str = schema.DEFAULT_NAMESPACE) -> RegistryStore:
    """The store over one namespace of the configured table; NamespaceNotFoundError if none."""
    return RegistryStore(table(), namespaces().resolve(namespace), audit=audit_trail())


def effective_view_for(namespace: str = schema.DEFAULT_NAMESPACE) -> EffectiveView:
    """The effective limits of entities in one namespace; NamespaceNotFoundError if none."""
    return EffectiveView(table(), namespaces().resolve(namespace))


def table_over(client: DynamoDBClient, name: str) -> Table:
    """Any table, its layout detected (tools that serve a table of their own)."""
    return detect_table(client, name, os.environ.get(LAYOUT_VARIABLE))


def store_over(
    client: DynamoDBClient, name: str, namespace: str = schema.DEFAULT_NAMESPACE
) -> RegistryStore:
    """A store over any table, its layout detected (tools that serve a table of their own)."""
    served = table_over(client, name)
    return RegistryStore(served, NamespaceDirectory(served).resolve(namespace))


def default_store() -> RegistryStore:
    """The store over the default namespace."""
    return store_for(schema.DEFAULT_NAMESPACE)


def reset() -> None:
    """Forget the cached client, table and namespaces (tests switch tables between cases)."""
    audit_trail.cache_clear()
    namespaces.cache_clear()
    batch_table.cache_clear()
    table.cache_clear()
    batch_dynamodb_client.cache_clear()
    dynamodb_client.cache_clear()
