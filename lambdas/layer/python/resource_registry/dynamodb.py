"""DynamoDB calls and the translation of their errors into domain errors.

One place decides what a DynamoDB failure means: throttling and timeouts become
ServiceUnavailableError; a transaction that lost a race becomes RetryableWriteError, which the
retry loop (retry.py) turns into a fresh try; anything else re-raises as it is.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ReadTimeoutError,
)
from botocore.exceptions import ConnectionError as EndpointUnreachableError

from resource_registry.errors import RegistryFullError, ServiceUnavailableError

T = TypeVar("T")

# Cancellation reasons that mean "someone else got there first" or "slow down": worth a fresh try.
RETRYABLE_CANCELLATION_CODES = frozenset(
    {
        "ConditionalCheckFailed",
        "TransactionConflict",
        "ThrottlingError",
        "ProvisionedThroughputExceeded",
        "RequestLimitExceeded",
    }
)
# Of those, the ones that mean DynamoDB lacked capacity: when retries run out, it is unavailable.
THROTTLING_CANCELLATION_CODES = frozenset(
    {"ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded"}
)
RETRYABLE_ERROR_CODES = frozenset(
    {"TransactionInProgressException", "TransactionConflictException"}
)
UNAVAILABLE_ERROR_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
    }
)
# DynamoDB allows 100 actions per transaction.
MAX_TRANSACT_ACTIONS = 100
# A BatchGetItem that DynamoDB answers in part (throttled, or over 16 MB) is asked again for the
# rest this many times in all, before the read counts as unavailable.
BATCH_GET_ATTEMPTS = 4
BATCH_GET_BACKOFF_SECONDS = 0.025

REGISTRY_FULL_MESSAGE = (
    "the resource registry is full: adding this name would exceed DynamoDB's 400 KB item size "
    "limit on the registry item; delete unused resources' defaults first"
)


class RetryableWriteError(Exception):
    """A transaction lost a race or was throttled; the operation starts over from its read."""

    def __init__(self, code: str, reasons: Sequence[str] = ()) -> None:
        super().__init__(code)
        self.reasons = list(reasons)

    @property
    def throttled(self) -> bool:
        """Cancelled for capacity alone, not because another writer won."""
        codes = {reason for reason in self.reasons if reason != "None"}
        return bool(codes) and codes <= THROTTLING_CANCELLATION_CODES


def call_dynamodb(method: Callable[..., T], **kwargs: Any) -> T:
    """Call one DynamoDB operation, turning throttling and timeouts into ServiceUnavailableError."""
    try:
        return method(**kwargs)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in UNAVAILABLE_ERROR_CODES:
            raise ServiceUnavailableError(
                "DynamoDB is throttling or unavailable; try again"
            ) from error
        raise
    except BotoCoreError as error:
        raise ServiceUnavailableError(describe_botocore_error(error)) from error


def pages(method: Callable[..., Any], **request: Any) -> Iterator[dict[str, Any]]:
    """Every page of a Query or Scan, each read from where the one before stopped."""
    while True:
        page: dict[str, Any] = call_dynamodb(method, **request)
        yield page
        if "LastEvaluatedKey" not in page:
            return
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def all_items(method: Callable[..., Any], **request: Any) -> list[dict[str, Any]]:
    """The items of every page of a Query or Scan."""
    return [item for page in pages(method, **request) for item in page.get("Items", [])]


def batch_get(
    client: Any, table_name: str, keys: Sequence[dict[str, Any]], *, consistent: bool
) -> list[dict[str, Any]]:
    """The items at ``keys`` (at most 100) that exist, from one BatchGetItem: the keys DynamoDB
    leaves unprocessed are asked for again, and ServiceUnavailableError when some never are (a
    partial read answered as whole would hide an item)."""
    items: list[dict[str, Any]] = []
    remaining: dict[str, Any] = {"Keys": list(keys), "ConsistentRead": consistent}
    for attempt in range(BATCH_GET_ATTEMPTS):
        if attempt:  # DynamoDB's advice: back off before asking for the rest
            time.sleep(random.uniform(0, BATCH_GET_BACKOFF_SECONDS * 2**attempt))
        response = call_dynamodb(client.batch_get_item, RequestItems={table_name: remaining})
        items += response.get("Responses", {}).get(table_name, [])
        unprocessed = response.get("UnprocessedKeys", {}).get(table_name)
        if not unprocessed or not unprocessed.get("Keys"):
            return items
        remaining = unprocessed
    raise ServiceUnavailableError("DynamoDB kept some of a read unanswered; try again")


def describe_botocore_error(error: BotoCoreError) -> str:
    """What went wrong before DynamoDB could answer, in one line that says what to do."""
    if isinstance(error, NoCredentialsError | PartialCredentialsError):
        return (
            "no AWS credentials found: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY, or sign in with aws sso login"
        )
    if isinstance(error, NoRegionError):
        return "no AWS region set: set AWS_REGION"
    if isinstance(error, EndpointUnreachableError):  # refused, unresolvable, or a connect timeout
        return f"could not reach DynamoDB at {error.kwargs.get('endpoint_url')}; try again"
    if isinstance(error, ReadTimeoutError):
        return "DynamoDB did not answer in time; try again"
    return f"DynamoDB could not be called ({error}); try again"


def transact(client: Any, actions: list[dict[str, Any]], registry_index: int | None) -> None:
    """Commit ``actions`` in one TransactWriteItems.

    ``registry_index`` is the position of the registry update, the one item that can outgrow
    DynamoDB's item size limit: a failure there is RegistryFullError.
    """
    try:
        # The token makes botocore's resend of a timed-out commit apply at most once.
        call_dynamodb(
            client.transact_write_items,
            TransactItems=actions,
            ClientRequestToken=str(uuid.uuid4()),
        )
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code == "TransactionCanceledException":
            reasons = [
                reason.get("Code", "None")
                for reason in error.response.get("CancellationReasons", [])
            ]
            # Limit and config items are a few KB at most; only the registry can outgrow an item.
            if registry_index is not None and _reason_at(reasons, registry_index) == (
                "ValidationError"
            ):
                raise RegistryFullError(REGISTRY_FULL_MESSAGE) from error
            if any(reason in RETRYABLE_CANCELLATION_CODES for reason in reasons):
                raise RetryableWriteError(code, reasons) from error
        if code in RETRYABLE_ERROR_CODES:
            raise RetryableWriteError(code) from error
        raise


def _reason_at(reasons: list[str], index: int) -> str | None:
    return reasons[index] if len(reasons) > index else None
