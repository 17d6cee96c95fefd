"""A table zae-limiter made, served by the service's handlers through the environment they read."""

from __future__ import annotations

import pytest

from devtools.dynamodb_local import DynamoDBLocal
from resource_registry import service
from tests.support.zae_limiter import ZaeLimiter


def serve(
    limiter: ZaeLimiter, dynamodb_local: DynamoDBLocal, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Point the handlers at ``limiter``'s table, with no client or layout cached from before."""
    monkeypatch.setenv("TABLE_NAME", limiter.table_name)
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", dynamodb_local.endpoint)
    service.reset()


def served(
    limiter: ZaeLimiter, dynamodb_local: DynamoDBLocal, monkeypatch: pytest.MonkeyPatch
) -> ZaeLimiter:
    """``limiter``'s table, created and opened by zae-limiter, as the handlers' table."""
    limiter.create_table()
    limiter.open()
    serve(limiter, dynamodb_local, monkeypatch)
    return limiter
