"""A client for the resource registry API and the ``resource-registry`` command.

from resource_registry_client import RegistryClient, parse_named
client = RegistryClient("https://abc123.execute-api.eu-west-1.amazonaws.com/v1")
client.set_defaults("gpt-4", [parse_named("rpm=500/1m")])
"""

from resource_registry_client.client import (
    DEFAULT_ENDPOINT,
    Defaults,
    HistoryEvent,
    HistoryPage,
    RegistryClient,
)
from resource_registry_client.errors import (
    AccessDeniedError,
    ApiError,
    BadRequestError,
    ConfigurationError,
    ConflictError,
    NotFoundError,
    PreconditionFailedError,
    RegistryClientError,
    ServiceUnavailableError,
    ThrottledError,
    TransportError,
    UnexpectedResponseError,
)
from resource_registry_client.limits import Limit, LimitSyntaxError, parse_compact, parse_named
from resource_registry_client.paths import DEFAULT_NAMESPACE
from resource_registry_client.signing import NoSigner, RequestSigner
from resource_registry_client.transport import RetryPolicy

__all__ = [
    "DEFAULT_ENDPOINT",
    "DEFAULT_NAMESPACE",
    "AccessDeniedError",
    "ApiError",
    "BadRequestError",
    "ConfigurationError",
    "ConflictError",
    "Defaults",
    "HistoryEvent",
    "HistoryPage",
    "Limit",
    "LimitSyntaxError",
    "NoSigner",
    "NotFoundError",
    "PreconditionFailedError",
    "RegistryClient",
    "RegistryClientError",
    "RequestSigner",
    "RetryPolicy",
    "ServiceUnavailableError",
    "ThrottledError",
    "TransportError",
    "UnexpectedResponseError",
    "parse_compact",
    "parse_named",
]
