"""The run's table: a fresh one, deleted afterwards, and clients that reach it as handlers do."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import TYPE_CHECKING

from devtools.dynamodb_local import create_table, running
from devtools.environment import ENDPOINT_VARIABLE, LOCAL_CREDENTIALS, LOCAL_REGION
from resource_registry import service
from resource_registry.clients import TABLE_NAME_VARIABLE, dynamodb_client

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


def new_client() -> DynamoDBClient:
    """A client like the handlers' own (their factory without its cache), for the reconcilers and
    the checks."""
    return dynamodb_client.__wrapped__()


@contextmanager
def fresh_table() -> Iterator[str]:
    """A fresh table on AWS_ENDPOINT_URL_DYNAMODB, or on an in-memory DynamoDB Local we start;
    the handlers' table (TABLE_NAME) for the block."""
    os.environ.setdefault("AWS_REGION", LOCAL_REGION)
    name = f"harness-{uuid.uuid4().hex[:12]}"
    previous_table = os.environ.get(TABLE_NAME_VARIABLE)
    with ExitStack() as stack:
        if not os.environ.get(ENDPOINT_VARIABLE):
            for variable, value in LOCAL_CREDENTIALS.items():
                os.environ.setdefault(variable, value)
            local = stack.enter_context(running())
            os.environ[ENDPOINT_VARIABLE] = local.endpoint
            stack.callback(os.environ.pop, ENDPOINT_VARIABLE, None)
        os.environ[TABLE_NAME_VARIABLE] = name
        service.reset()
        client = new_client()
        create_table(client, name)
        try:
            yield name
        finally:
            client.delete_table(TableName=name)
            service.reset()
            if previous_table is None:
                os.environ.pop(TABLE_NAME_VARIABLE, None)
            else:
                os.environ[TABLE_NAME_VARIABLE] = previous_table
