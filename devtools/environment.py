"""Where local commands find DynamoDB: AWS_ENDPOINT_URL_DYNAMODB, or a persistent DynamoDB Local.

With AWS_ENDPOINT_URL_DYNAMODB set, nothing is started. Otherwise DynamoDB Local runs on
DYNAMODB_LOCAL_PORT (default 8000) with its data under .local/, so data survives restarts.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import boto3
from botocore.exceptions import ProfileNotFound

from devtools.dynamodb_local import (
    ROOT,
    DynamoDBLocal,
    DynamoDBLocalError,
    answers_as_dynamodb,
    port_is_taken,
)
from devtools.layout_tables import LAYOUTS, RELEASES
from resource_registry.clients import TABLE_NAME_VARIABLE
from resource_registry.detection import LAYOUT_VARIABLE
from resource_registry_client.urls import url_problem

ENDPOINT_VARIABLE = "AWS_ENDPOINT_URL_DYNAMODB"
DEFAULT_DATA_DIR = ROOT / ".local" / "dynamodb"
DEFAULT_DYNAMODB_LOCAL_PORT = 8000
# The laptop's table. The functions have no default: in Lambda a wrong guess serves the wrong table.
DEFAULT_TABLE_NAME = "resource-registry"
# DynamoDB Local answers in every region; a region is needed only to sign the request.
LOCAL_REGION = "us-east-1"
# Any credentials do for DynamoDB Local; with -sharedDb they all see one database.
LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}
# DynamoDB's own rule for table names.
TABLE_NAME_PATTERN = re.compile(r"[A-Za-z0-9_.-]{3,255}")
AWS_ENDPOINT_REGION = re.compile(r"^dynamodb(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$")


class SettingError(ValueError):
    """An environment variable holds a value the command cannot use; the message says which."""


def integer_setting(name: str, default: int, minimum: int, maximum: int | None = None) -> int:
    """The integer in environment variable ``name``, or ``default``; SettingError if it is bad."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    bounds = f"from {minimum} to {maximum}" if maximum is not None else f"of at least {minimum}"
    try:
        value = int(raw)
    except ValueError:
        raise SettingError(f"{name}={raw!r} is not a whole number: use one {bounds}") from None
    if value < minimum or (maximum is not None and value > maximum):
        raise SettingError(f"{name}={raw} is out of range: use a number {bounds}")
    return value


def use_default_table_name() -> str:
    """TABLE_NAME, set to the laptop's table when unset, for the local commands; SettingError
    when it is not a name DynamoDB takes."""
    if not os.environ.get(TABLE_NAME_VARIABLE):
        os.environ[TABLE_NAME_VARIABLE] = DEFAULT_TABLE_NAME
    name = os.environ[TABLE_NAME_VARIABLE]
    if not TABLE_NAME_PATTERN.fullmatch(name):
        raise SettingError(
            f"{TABLE_NAME_VARIABLE}={name!r} is not a DynamoDB table name: use 3 to 255 letters, "
            f"digits, '_', '.' or '-' (or unset it for {DEFAULT_TABLE_NAME})"
        )
    return name


def table_layout_setting() -> str | None:
    """TABLE_LAYOUT, the layout of a table the local commands create; None when unset."""
    value = os.environ.get(LAYOUT_VARIABLE, "").strip()
    if not value:
        return None
    if value not in LAYOUTS:
        raise SettingError(
            f"{LAYOUT_VARIABLE}={value!r} is not a layout: use {', '.join(LAYOUTS[:-1])} or "
            f"{LAYOUTS[-1]}, or unset it (a new table is namespaced, as zae-limiter "
            f"{RELEASES['namespaced']} makes it)"
        )
    return value


def configured_endpoint() -> str | None:
    """AWS_ENDPOINT_URL_DYNAMODB, checked; None when unset."""
    value = os.environ.get(ENDPOINT_VARIABLE)
    if not value:
        return None
    problem = url_problem(value)
    if problem is not None:
        raise SettingError(
            f"{ENDPOINT_VARIABLE}={value!r} {problem}: set it to DynamoDB's URL, e.g. "
            f"http://127.0.0.1:{DEFAULT_DYNAMODB_LOCAL_PORT} or "
            "https://dynamodb.eu-west-1.amazonaws.com, or unset it to use a DynamoDB Local"
        )
    return value


def dynamodb_local_port() -> int:
    return integer_setting("DYNAMODB_LOCAL_PORT", DEFAULT_DYNAMODB_LOCAL_PORT, 1, 65535)


def data_dir() -> Path:
    """Where the persistent DynamoDB Local keeps its data (LOCAL_DATA_DIR overrides it)."""
    return Path(os.environ.get("LOCAL_DATA_DIR", DEFAULT_DATA_DIR))


def is_loopback(endpoint: str) -> bool:
    """Whether ``endpoint`` is on this machine (so it is a DynamoDB Local, not AWS)."""
    host = urlsplit(endpoint).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_profile() -> None:
    """SettingError when AWS_PROFILE names a profile the AWS config does not have."""
    try:
        boto3.session.Session()
    except ProfileNotFound:
        profile = os.environ.get("AWS_PROFILE")
        raise SettingError(
            f"AWS_PROFILE={profile!r} is not a profile in your AWS config: set it to one "
            "(aws configure list-profiles), or unset it"
        ) from None


def supply_region(endpoint: str) -> None:
    """Set AWS_REGION only when neither the environment nor the AWS config names a region.

    The user's profile region wins; then the region in an AWS endpoint's host name; a local
    endpoint needs one only to sign. Otherwise botocore says no region is set.
    """
    if os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"):
        return
    if boto3.session.Session().region_name:
        return
    if is_loopback(endpoint):
        os.environ["AWS_REGION"] = LOCAL_REGION
    elif found := AWS_ENDPOINT_REGION.match(urlsplit(endpoint).hostname or ""):
        os.environ["AWS_REGION"] = found.group(1)


def supply_local_credentials(endpoint: str) -> None:
    """Dummy credentials for a DynamoDB Local endpoint, when the user has none at all."""
    if not is_loopback(endpoint) or boto3.session.Session().get_credentials() is not None:
        return
    for name, value in LOCAL_CREDENTIALS.items():
        os.environ.setdefault(name, value)


@dataclass(frozen=True)
class Endpoint:
    """Where DynamoDB answers, and the DynamoDB Local process this command started, if any."""

    url: str
    started: DynamoDBLocal | None = None


@contextmanager
def dynamodb_endpoint(reuse_running: bool = False) -> Iterator[Endpoint]:
    """The endpoint to use, starting the persistent DynamoDB Local for the block when none is set.

    With ``reuse_running``, a DynamoDB Local already listening on its port (``make run``'s) is used;
    something else listening there is an error. SettingError or DynamoDBLocalError say what to do.
    """
    check_profile()
    configured = configured_endpoint()
    if configured:
        supply_region(configured)
        supply_local_credentials(configured)
        yield Endpoint(configured)
        return
    local = DynamoDBLocal(dynamodb_local_port(), data_dir())
    supply_region(local.endpoint)
    for name, value in LOCAL_CREDENTIALS.items():
        os.environ.setdefault(name, value)
    if reuse_running and port_is_taken(local.port):
        if not answers_as_dynamodb(local.endpoint):
            raise DynamoDBLocalError(
                f"port {local.port} is taken by something that is not DynamoDB Local: stop it, "
                "or set DYNAMODB_LOCAL_PORT to a free port"
            )
        os.environ[ENDPOINT_VARIABLE] = local.endpoint
        yield Endpoint(local.endpoint)
        return
    local.start()
    os.environ[ENDPOINT_VARIABLE] = local.endpoint
    try:
        yield Endpoint(local.endpoint, local)
    finally:
        local.stop()
