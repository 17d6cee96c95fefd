"""Fixtures of the interop tests: a released zae-limiter over a fresh table in DynamoDB Local."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest

from devtools.dynamodb_local import DynamoDBLocal
from tests.support.zae_limiter import ZaeLimiter, venv_problem


@pytest.fixture
def zae_limiter_factory(dynamodb_local: DynamoDBLocal) -> Callable[[str], ZaeLimiter]:
    """Make a ZaeLimiter of a version over a new table name on this worker's DynamoDB Local.

    The table does not exist yet: ``create_table()`` (zae-limiter's own) makes it. The name
    starts with ``ZAEL-`` because zae-limiter 0.6 adds that prefix to every name it is given.
    A missing virtualenv fails the test with the make step that builds it.
    """

    def make(version: str) -> ZaeLimiter:
        problem = venv_problem(version)
        if problem is not None:
            pytest.fail(problem, pytrace=False)
        return ZaeLimiter(version, dynamodb_local.endpoint, f"ZAEL-interop-{uuid.uuid4().hex[:12]}")

    return make
