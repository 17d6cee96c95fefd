"""The process-wide table layout and namespaces, found on first use (a cold start), and stores.

Importing a handler costs no client. A table whose layout cannot be served answers every request
with UnsupportedTableError, and is looked at again on the next request (an operator may fix it).
"""

from __future__ import annotations

import os
from functools import cache
from typing import TYPE_CHECKING

from resource_registry import schema
from resource_registry.audit import AuditTrail
from resource_registry.clients import dynamodb_client, table_name
from resource_registry.detection import LAYOUT_VARIABLE, detect_layout
from resource_registry.layouts import Layout
from resource_registry.namespaces import NamespaceDirectory
from resource_registry.store import RegistryStore

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


@cache
def table_layout() -> Layout:
    """The layout of the configured table (detected, or named by TABLE_LAYOUT)."""
    return detect_layout(dynamodb_client(), table_name(), os.environ.get(LAYOUT_VARIABLE))


@cache
def namespaces() -> NamespaceDirectory:
    """The namespaces of the configured table."""
    return NamespaceDirectory(dynamodb_client(), table_name(), table_layout())


@cache
def audit_trail() -> AuditTrail:
    """The configured table's audit events (it remembers each namespace's retention)."""
    return AuditTrail(dynamodb_client(), table_name(), table_layout())


def store_for(namespace: str = schema.DEFAULT_NAMESPACE) -> RegistryStore:
    """The store over one namespace of the configured table; NamespaceNotFoundError if none."""
    scope = namespaces().resolve(namespace)
    return RegistryStore(
        dynamodb_client(), table_name(), layout=table_layout(), scope=scope, audit=audit_trail()
    )


def store_over(
    client: DynamoDBClient, table: str, namespace: str = schema.DEFAULT_NAMESPACE
) -> RegistryStore:
    """A store over any table, its layout detected (tools that serve a table of their own)."""
    layout = detect_layout(client, table, os.environ.get(LAYOUT_VARIABLE))
    scope = NamespaceDirectory(client, table, layout).resolve(namespace)
    return RegistryStore(client, table, layout=layout, scope=scope)


def default_store() -> RegistryStore:
    """The store over the default namespace."""
    return store_for(schema.DEFAULT_NAMESPACE)


def reset() -> None:
    """Forget the cached client, layout and namespaces (tests switch tables between cases)."""
    audit_trail.cache_clear()
    namespaces.cache_clear()
    table_layout.cache_clear()
    dynamodb_client.cache_clear()
