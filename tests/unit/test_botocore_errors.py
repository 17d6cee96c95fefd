"""A failure before DynamoDB answers says what it was: no credentials is not a timeout."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import (
    BotoCoreError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    ReadTimeoutError,
)

from resource_registry.dynamodb import call_dynamodb
from resource_registry.errors import ServiceUnavailableError

URL = "http://127.0.0.1:1"
UNREACHABLE = f"could not reach DynamoDB at {URL}; try again"


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (
            NoCredentialsError(),
            "no AWS credentials found: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY, or sign in with aws sso login",
        ),
        (NoRegionError(), "no AWS region set: set AWS_REGION"),
        (EndpointConnectionError(endpoint_url=URL), UNREACHABLE),
        (ConnectTimeoutError(endpoint_url=URL), UNREACHABLE),
        (ReadTimeoutError(endpoint_url=URL), "DynamoDB did not answer in time; try again"),
    ],
)
def test_each_failure_before_an_answer_is_named(error: BotoCoreError, message: str) -> None:
    def failing(**_: Any) -> None:
        raise error

    with pytest.raises(ServiceUnavailableError) as raised:
        call_dynamodb(failing)
    assert str(raised.value) == message
    assert raised.value.__cause__ is error
