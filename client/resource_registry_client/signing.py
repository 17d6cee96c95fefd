"""SigV4 for API Gateway (service ``execute-api``), with credentials from the standard AWS chain.

Requests go unsigned only when the chain finds no credentials; the local server ignores the
signature, so the same command works against ``make run`` and against AWS.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.exceptions import BotoCoreError
from botocore.session import Session

from resource_registry_client.errors import ConfigurationError

SERVICE = "execute-api"
# {api-id}.execute-api.{region}.amazonaws.com (.com.cn in China); private APIs add -vpce-{id}.
API_GATEWAY_HOST = re.compile(
    r"[a-z0-9]+(?:-vpce-[a-z0-9]+)?\.execute-api\.(?P<region>[a-z0-9-]+)\.(?:vpce\.)?"
    r"amazonaws\.com(?:\.cn)?"
)
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
# Any region will do for a server that ignores signatures.
LOOPBACK_REGION = "us-east-1"


def region_of(url: str, configured: str | None) -> str:
    """The region to sign for: an API Gateway host names it; else the configured region."""
    host = (urlsplit(url).hostname or "").lower()
    found = API_GATEWAY_HOST.fullmatch(host)
    if found:
        return found["region"]
    if configured:
        return configured
    if host in LOOPBACK_HOSTS:
        return LOOPBACK_REGION
    raise ConfigurationError(
        f"cannot tell which AWS region {host} is in: set AWS_REGION (or a profile's region)"
    )


class RequestSigner:
    """Adds SigV4 headers to requests when the AWS credential chain finds credentials.

    The chain (environment, profile, SSO, container or instance role) is asked once, on the
    first request, so a client that is never used never looks for credentials.
    """

    def __init__(self, session: Session | None = None) -> None:
        self._session = session
        self._looked = False
        self._credentials: Any = None

    def sign(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes | None
    ) -> dict[str, str]:
        """``headers`` plus Authorization, X-Amz-Date (and a session token), or unchanged
        without credentials."""
        credentials = self._find_credentials()
        if credentials is None:
            return dict(headers)
        region = region_of(url, self._configured_region())
        request = AWSRequest(method=method, url=url, headers=dict(headers), data=body or b"")
        SigV4Auth(credentials.get_frozen_credentials(), SERVICE, region).add_auth(request)
        return dict(request.headers.items())

    @property
    def session(self) -> Session:
        if self._session is None:
            self._session = Session()
        return self._session

    def _find_credentials(self) -> Any:
        if not self._looked:
            try:
                self._credentials = self.session.get_credentials()
            except BotoCoreError as error:  # a named profile that does not exist, say
                raise ConfigurationError(f"cannot load AWS credentials: {error}") from None
            self._looked = True
        return self._credentials

    def _configured_region(self) -> str | None:
        region = os.environ.get("AWS_REGION") or self.session.get_config_variable("region")
        return str(region) if region else None


class NoSigner(RequestSigner):
    """Sends every request unsigned, whatever credentials exist."""

    def sign(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes | None
    ) -> dict[str, str]:
        return dict(headers)
