"""Domain errors. The store raises them from SDK errors; the HTTP edge maps each to one status.

Each carries its ``code``: part of the API contract, written out here once, never derived from
a class name or an HTTP phrase.
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar


class ErrorCode(StrEnum):
    """The ``code`` of every domain error, as the API answers it."""

    INVALID_INPUT = "InvalidInput"
    RESOURCE_NOT_FOUND = "ResourceNotFound"
    PRECONDITION_FAILED = "PreconditionFailed"
    RESOURCE_CHANGING = "ResourceChanging"
    CONCURRENT_UPDATE = "ConcurrentUpdate"
    SERVICE_UNAVAILABLE = "ServiceUnavailable"
    REGISTRY_FULL = "RegistryFull"
    NAMESPACE_NOT_FOUND = "NamespaceNotFound"
    UNREPRESENTABLE_LIMIT = "UnrepresentableLimit"
    UNSUPPORTED_TABLE = "UnsupportedTable"
    IDEMPOTENCY_KEY_REUSED = "IdempotencyKeyReused"
    NOT_ON_THIS_LAYOUT = "NotOnThisLayout"


class RegistryError(Exception):
    """Base class of every error this package raises on purpose."""

    code: ClassVar[ErrorCode]


class InvalidInputError(RegistryError):
    """A name, limit or request does not satisfy the contract; nothing was changed."""

    code = ErrorCode.INVALID_INPUT


class ResourceNotFoundError(RegistryError):
    """The resource has no default limits."""

    code = ErrorCode.RESOURCE_NOT_FOUND


class PreconditionFailedError(RegistryError):
    """The resource is not in the state the caller's precondition requires; nothing changed."""

    code = ErrorCode.PRECONDITION_FAILED


class ResourceChangingError(RegistryError):
    """Writes kept landing while the resource was read, so no consistent view was had."""

    code = ErrorCode.RESOURCE_CHANGING


class ConcurrentUpdateError(RegistryError):
    """Concurrent writers kept winning; the bounded retries ran out. Safe to retry later."""

    code = ErrorCode.CONCURRENT_UPDATE


class ServiceUnavailableError(RegistryError):
    """DynamoDB throttled or failed and the bounded retries ran out. Safe to retry later."""

    code = ErrorCode.SERVICE_UNAVAILABLE


class RegistryFullError(RegistryError):
    """Adding the name would push the registry item past DynamoDB's 400 KB item size limit."""

    code = ErrorCode.REGISTRY_FULL


class InvalidContinuationError(InvalidInputError):
    """A backfill continuation token is malformed or belongs to another segment."""

    code = ErrorCode.INVALID_INPUT


class NamespaceNotFoundError(RegistryError):
    """The namespace does not exist on this table, or it was deleted."""

    code = ErrorCode.NAMESPACE_NOT_FOUND


class UnrepresentableLimitError(RegistryError):
    """The resource holds a limit the API cannot represent; a write would silently drop it."""

    code = ErrorCode.UNREPRESENTABLE_LIMIT


class UnsupportedTableError(RegistryError):
    """The table's layout is one this service does not know (say, a newer zae-limiter schema)."""

    code = ErrorCode.UNSUPPORTED_TABLE


class IdempotencyKeyReusedError(RegistryError):
    """An idempotency key came back with another request than the one it was first used for."""

    code = ErrorCode.IDEMPOTENCY_KEY_REUSED


class NotOnThisLayoutError(RegistryError):
    """The table's layout keeps no items of the kind the request asks about (zae-limiter 0.6-0.7
    keep no config items: no effective view there)."""

    code = ErrorCode.NOT_ON_THIS_LAYOUT
