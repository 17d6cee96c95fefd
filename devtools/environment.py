"""Where local commands find DynamoDB: AWS_ENDPOINT_URL_DYNAMODB, or a persistent DynamoDB Local.

With AWS_ENDPOINT_URL_DYNAMODB set, nothing is started. Otherwise DynamoDB Local runs on
DYNAMODB_LOCAL_PORT (default 8000) with its data under .local/, so data survives restarts.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from devtools.dynamodb_local import ROOT, DynamoDBLocal, port_is_taken
from resource_registry.clients import TABLE_NAME_VARIABLE

ENDPOINT_VARIABLE = "AWS_ENDPOINT_URL_DYNAMODB"
DEFAULT_DATA_DIR = ROOT / ".local" / "dynamodb"
DEFAULT_DYNAMODB_LOCAL_PORT = 8000
DEFAULT_REGION = "us-east-1"
# The laptop's table. The functions have no default: in Lambda a wrong guess serves the wrong table.
DEFAULT_TABLE_NAME = "resource-registry"


def use_default_table_name() -> str:
    """TABLE_NAME, set to the laptop's table when unset, for the local commands."""
    if not os.environ.get(TABLE_NAME_VARIABLE):
        os.environ[TABLE_NAME_VARIABLE] = DEFAULT_TABLE_NAME
    return os.environ[TABLE_NAME_VARIABLE]


def dynamodb_local_port() -> int:
    return int(os.environ.get("DYNAMODB_LOCAL_PORT", DEFAULT_DYNAMODB_LOCAL_PORT))


def data_dir() -> Path:
    """Where the persistent DynamoDB Local keeps its data (LOCAL_DATA_DIR overrides it)."""
    return Path(os.environ.get("LOCAL_DATA_DIR", DEFAULT_DATA_DIR))


@contextmanager
def dynamodb_endpoint(reuse_running: bool = False) -> Iterator[str]:
    """The endpoint to use, starting the persistent DynamoDB Local for the block when none is set.

    With ``reuse_running``, a DynamoDB Local already listening on its port (``make run``'s) is used.
    """
    if not os.environ.get("AWS_REGION") and not os.environ.get("AWS_DEFAULT_REGION"):
        os.environ["AWS_REGION"] = DEFAULT_REGION
    configured = os.environ.get(ENDPOINT_VARIABLE)
    if configured:
        yield configured
        return
    # DynamoDB Local accepts any credentials; with -sharedDb they all see one database.
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
    port = dynamodb_local_port()
    local = DynamoDBLocal(port, data_dir())
    if reuse_running and port_is_taken(port):
        os.environ[ENDPOINT_VARIABLE] = local.endpoint
        yield local.endpoint
        return
    local.start()
    os.environ[ENDPOINT_VARIABLE] = local.endpoint
    try:
        yield local.endpoint
    finally:
        local.stop()
