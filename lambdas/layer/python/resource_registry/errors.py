"""Domain errors. The store raises them from SDK errors; the HTTP edge maps each to one status."""

from __future__ import annotations


class RegistryError(Exception):
    """Base class of every error this package raises on purpose."""


class InvalidInputError(RegistryError):
    """A name, limit or request does not satisfy the contract; nothing was changed."""


class ResourceNotFoundError(RegistryError):
    """The resource has no default limits."""


class PreconditionFailedError(RegistryError):
    """The resource is not in the state the caller's precondition requires; nothing changed."""


class ResourceChangingError(RegistryError):
    """Writes kept landing while the resource was read, so no consistent view was had."""


class ConcurrentUpdateError(RegistryError):
    """Concurrent writers kept winning; the bounded retries ran out. Safe to retry later."""


class ServiceUnavailableError(RegistryError):
    """DynamoDB throttled or failed and the bounded retries ran out. Safe to retry later."""


class RegistryFullError(RegistryError):
    """Adding the name would push the registry item past DynamoDB's 400 KB item size limit."""


class InvalidContinuationError(InvalidInputError):
    """A backfill continuation token is malformed or belongs to another segment."""


class NamespaceNotFoundError(RegistryError):
    """The namespace does not exist on this table, or it was deleted."""


class UnrepresentableLimitError(RegistryError):
    """The resource holds a limit the API cannot represent; a write would silently drop it."""


class UnsupportedTableError(RegistryError):
    """The table's layout is one this service does not know (say, a newer zae-limiter schema)."""
