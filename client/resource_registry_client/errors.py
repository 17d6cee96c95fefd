"""What can go wrong when calling the API: one exception per kind of answer, each carrying the
API's stable error ``code`` and the HTTP status, so callers branch on types, not on message text.
"""

from __future__ import annotations

from http import HTTPStatus


class RegistryClientError(Exception):
    """Base class of every error the client raises on purpose."""


class ConfigurationError(RegistryClientError):
    """The client cannot be set up (an endpoint, a region or credentials); says what to do."""


class TransportError(RegistryClientError):
    """The API could not be reached, or did not answer in time."""

    def __init__(self, message: str, answer_may_be_lost: bool = False) -> None:
        super().__init__(message)
        # The request may have arrived, and its answer been lost (a timeout, a reset
        # connection); a refused connection, by contrast, never reached the API.
        self.answer_may_be_lost = answer_may_be_lost


class UnexpectedResponseError(RegistryClientError):
    """The endpoint answered, but not as this API does: probably the wrong URL."""


class ApiError(RegistryClientError):
    """The API answered with an error status and, usually, a JSON ``{"message", "code"}`` body."""

    def __init__(
        self, status: int, message: str, code: str | None, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.retry_after = retry_after

    def __str__(self) -> str:
        code = f" {self.code}" if self.code else ""
        return f"{self.status}{code}: {self.message}"


class BadRequestError(ApiError):
    """400 (and 411, 413, 415): the request is malformed or breaks a rule; nothing changed."""


class AccessDeniedError(ApiError):
    """401/403: the request was not signed, or the signer may not call this route."""


class NotFoundError(ApiError):
    """404: the resource has no defaults, the namespace is unknown, or there is no such route."""


class ConflictError(ApiError):
    """409: concurrent writers kept winning (retryable), or the registry is full (not)."""


class PreconditionFailedError(ApiError):
    """412: the resource is not at the ETag the request named (someone changed it), or a
    create-only write found defaults already there."""


class ThrottledError(ApiError):
    """429: API Gateway's stage throttle."""


class ServiceUnavailableError(ApiError):
    """503: DynamoDB throttled or failed, or writes kept landing during a read."""


ERRORS_BY_STATUS: dict[int, type[ApiError]] = {
    HTTPStatus.BAD_REQUEST: BadRequestError,
    HTTPStatus.LENGTH_REQUIRED: BadRequestError,
    HTTPStatus.REQUEST_ENTITY_TOO_LARGE: BadRequestError,
    HTTPStatus.UNSUPPORTED_MEDIA_TYPE: BadRequestError,
    HTTPStatus.UNAUTHORIZED: AccessDeniedError,
    HTTPStatus.FORBIDDEN: AccessDeniedError,
    HTTPStatus.NOT_FOUND: NotFoundError,
    HTTPStatus.CONFLICT: ConflictError,
    HTTPStatus.PRECONDITION_FAILED: PreconditionFailedError,
    HTTPStatus.TOO_MANY_REQUESTS: ThrottledError,
    HTTPStatus.SERVICE_UNAVAILABLE: ServiceUnavailableError,
}


def error_for(
    status: int, message: str, code: str | None, retry_after: float | None = None
) -> ApiError:
    """The typed exception for an error answer: ApiError itself for statuses not listed above."""
    return ERRORS_BY_STATUS.get(status, ApiError)(status, message, code, retry_after)
