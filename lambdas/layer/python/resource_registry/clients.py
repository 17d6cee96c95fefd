"""The DynamoDB client and table name, made on first use from the environment.

The region comes from AWS_REGION (which Lambda sets and botocore alone does not read) or
AWS_DEFAULT_REGION; boto3 reads the endpoint (AWS_ENDPOINT_URL_DYNAMODB) itself. So the same code
talks to AWS, DynamoDB Local and moto without patches.
"""

from __future__ import annotations

import os
from functools import cache
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

TABLE_NAME_VARIABLE = "TABLE_NAME"

# botocore retries throttling, 5xx and timeouts by resending the very same request (a transaction
# keeps its ClientRequestToken, so a resent commit is applied once); the store retries conflicts.
# DynamoDB answers in milliseconds: these bound a call at 3 sends of 3 s, so that a write (a Query
# and a transaction, tries started within RetryPolicy.max_elapsed_seconds) ends inside the API
# functions' timeout (infra/functions.py).
# DynamoDB validates every request itself; botocore's client-side check of the same shapes cost
# 0.4 ms of CPU per set (a read and a 4-item transaction; docs/decisions/0008) and
# catches nothing a client can send: every input is validated by the layer before a call is built.
CLIENT_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": 3},
    connect_timeout=1,
    read_timeout=2,
    parameter_validation=False,
)


# The backfill's pages: a Scan or Query page of 1 MB may take seconds on a busy table, and a run
# lasts minutes, so it waits longer and backs off adaptively (client-side rate limiting on
# throttling) rather than giving up after three tries as an API request must.
BATCH_CLIENT_CONFIG = Config(
    retries={"mode": "adaptive", "total_max_attempts": 10},
    connect_timeout=5,
    read_timeout=60,
    parameter_validation=False,
)


@cache
def dynamodb_client() -> DynamoDBClient:
    """The process-wide DynamoDB client of the API functions, created on first use."""
    return _client(CLIENT_CONFIG)


@cache
def batch_dynamodb_client() -> DynamoDBClient:
    """The process-wide DynamoDB client of the backfill, created on first use."""
    return _client(BATCH_CLIENT_CONFIG)


def _client(config: Config) -> DynamoDBClient:
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    client: DynamoDBClient = boto3.client("dynamodb", region_name=region, config=config)
    return client


class MissingSettingError(RuntimeError):
    """The process lacks a setting it cannot guess (the stack sets them on every function)."""


def table_name() -> str:
    """The table this process serves, from TABLE_NAME; no default, lest it serve the wrong one."""
    name = os.environ.get(TABLE_NAME_VARIABLE)
    if not name:
        raise MissingSettingError(
            f"{TABLE_NAME_VARIABLE} is not set: set it to the name of the DynamoDB table to serve"
        )
    return name
