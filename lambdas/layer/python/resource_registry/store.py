"""The registry store: a resource's default limits and the registry of resources that have them.

Every write changes the limit items, the resource's version item and the registry item in one
TransactWriteItems, so the registry equals the set of resources with limit items after every commit.
See docs/decisions/ for why.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ReadTimeoutError,
)
from botocore.exceptions import ConnectionError as EndpointUnreachableError

from resource_registry import schema
from resource_registry.errors import (
    ConcurrentUpdateError,
    InvalidInputError,
    PreconditionFailedError,
    RegistryFullError,
    ResourceChangingError,
    ResourceNotFoundError,
    ServiceUnavailableError,
)
from resource_registry.model import Limit, Precondition, ResourceDefaults
from resource_registry.retry import RetryPolicy
from resource_registry.validation import validate_limit_set, validate_resource_name

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

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
# Reads of a partition that writes keep changing, before giving up on a consistent view.
CONSISTENT_READ_ATTEMPTS = 3
# DynamoDB allows 100 actions per transaction: the new limits, the stale ones, version and registry.
MAX_TRANSACT_ACTIONS = 100


@dataclass(frozen=True)
class StoredResource:
    """What one consistent Query of a resource's partition found."""

    limits: tuple[Limit, ...]
    version: int


class _RetryableError(Exception):
    """A transaction lost a race or was throttled; the operation starts over from its read."""

    def __init__(self, code: str, reasons: Sequence[str] = ()) -> None:
        super().__init__(code)
        self.reasons = list(reasons)

    @property
    def throttled(self) -> bool:
        """Cancelled for capacity alone, not because another writer won."""
        codes = {reason for reason in self.reasons if reason != "None"}
        return bool(codes) and codes <= THROTTLING_CANCELLATION_CODES


class RegistryStore:
    """Reads and writes resource defaults, keeping the registry exact."""

    def __init__(
        self,
        client: DynamoDBClient,
        table_name: str,
        retry_policy: RetryPolicy | None = None,
    ) -> None:
        self._client = client
        self._table_name = table_name
        self._retry_policy = retry_policy or RetryPolicy()

    def list_resources(self, consistent: bool = False) -> list[str]:
        """The sorted names of all resources with defaults: one GetItem of the registry."""
        response = call_dynamodb(
            self._client.get_item,
            TableName=self._table_name,
            Key=schema.registry_key(),
            ProjectionExpression="#resources",
            ExpressionAttributeNames={"#resources": schema.ATTR_RESOURCES},
            ConsistentRead=consistent,
        )
        item = response.get("Item", {})
        # DynamoDB removes a set attribute when its last element is deleted.
        return sorted(item.get(schema.ATTR_RESOURCES, {}).get("SS", []))

    def get_defaults(self, resource: str) -> ResourceDefaults:
        """A resource's limits and version; ResourceNotFoundError when it has no defaults."""
        validate_resource_name(resource)
        stored = self._read_consistent_view(resource)
        if not stored.limits:
            raise ResourceNotFoundError(f"resource {resource!r} has no default limits")
        return ResourceDefaults(resource, stored.limits, stored.version)

    def set_defaults(
        self, resource: str, limits: Sequence[Limit], precondition: Precondition | None = None
    ) -> ResourceDefaults:
        """Replace a resource's whole set of limits and register it, in one transaction.

        With a ``precondition``, raise PreconditionFailedError unless the resource meets it.
        """
        validate_resource_name(resource)
        new_limits = validate_limit_set(limits)
        names = [limit.name for limit in new_limits]

        def attempt() -> ResourceDefaults:
            stored = self.read_resource(resource)
            _check_precondition(resource, precondition, stored)
            version = stored.version + 1
            stale = sorted({limit.name for limit in stored.limits} - set(names))
            actions: list[dict[str, Any]] = [
                {
                    "Put": {
                        "TableName": self._table_name,
                        "Item": _limit_item(resource, limit, version),
                    }
                }
                for limit in new_limits
            ]
            actions += [self._delete_limit_action(resource, name) for name in stale]
            actions.append(self._version_action(resource, stored.version))
            actions.append(self._registry_action(resource, "ADD"))
            if len(actions) > MAX_TRANSACT_ACTIONS:
                raise InvalidInputError(
                    f"resource {resource!r} holds {len(stored.limits)} limits; replacing them with "
                    f"{len(new_limits)} exceeds DynamoDB's {MAX_TRANSACT_ACTIONS} items per "
                    "transaction: delete its defaults first"
                )
            self._transact(actions)
            return ResourceDefaults(resource, new_limits, version)

        return self._with_retries(attempt)

    def delete_defaults(self, resource: str, precondition: Precondition | None = None) -> None:
        """Delete all of a resource's limits and unregister it, in one transaction.

        Raises ResourceNotFoundError when it has no defaults, PreconditionFailedError when it does
        not meet ``precondition``.
        """
        validate_resource_name(resource)

        def attempt() -> None:
            stored = self.read_resource(resource)
            _check_precondition(resource, precondition, stored)
            if not stored.limits:
                raise ResourceNotFoundError(f"resource {resource!r} has no default limits")
            deletes = [self._delete_limit_action(resource, limit.name) for limit in stored.limits]
            last = [
                self._version_action(resource, stored.version),
                self._registry_action(resource, "DELETE"),
            ]
            # More limits than one transaction takes (another program wrote them): delete them in
            # chunks that each check the version is unchanged. The resource keeps limit items, and
            # so its registry entry, until the last chunk unregisters it with the last of them.
            unchanged = {"ConditionCheck": self._version_condition(resource, stored.version)}
            chunk = MAX_TRANSACT_ACTIONS - 1
            while len(deletes) + len(last) > MAX_TRANSACT_ACTIONS:
                self._transact([*deletes[:chunk], unchanged])
                deletes = deletes[chunk:]
            self._transact(deletes + last)

        self._with_retries(attempt)

    def register_existing(self, evidence: Mapping[str, str]) -> list[str]:
        """Add to the registry each resource that still has the limit ``evidence`` names for it.

        Each name is added in a transaction that also checks its limit item still exists, so a
        delete that ran since the caller saw the item is never undone. Returns the names added.
        """
        registered: list[str] = []
        pending = dict(evidence)
        while pending:
            batch = dict(sorted(pending.items())[: MAX_TRANSACT_ACTIONS - 1])
            for name in batch:
                del pending[name]
            registered += self._register_batch(batch)
        return sorted(registered)

    def unregister_if_orphaned(self, resource: str) -> bool:
        """Remove a resource with no limit items from the registry; False if it has defaults.

        The removal checks the version item is unchanged since the read; a consistent read after
        it repairs the registry if a writer that keeps no version item raced with it.
        """

        def attempt() -> bool:
            # Read again on every try: once a writer moved the version, the old condition is dead.
            stored = self.read_resource(resource)
            if stored.limits:
                return False
            condition = {"ConditionCheck": self._version_condition(resource, stored.version)}
            self._transact([condition, self._registry_action(resource, "DELETE")])
            return True

        try:
            if not self._with_retries(attempt):
                return False
        except ConcurrentUpdateError:
            return False
        after = self.read_resource(resource)
        if after.limits:
            self.register_existing({resource: after.limits[0].name})
            return False
        return True

    def _register_batch(self, batch: dict[str, str]) -> list[str]:
        def attempt() -> list[str]:
            names = sorted(batch)
            if not names:
                return []
            checks: list[dict[str, Any]] = [
                {
                    "ConditionCheck": {
                        "TableName": self._table_name,
                        "Key": schema.limit_key(name, batch[name]),
                        "ConditionExpression": "attribute_exists(#pk)",
                        "ExpressionAttributeNames": {"#pk": schema.PARTITION_KEY},
                    }
                }
                for name in names
            ]
            try:
                self._transact([*checks, self._registry_action(names, "ADD")])
            except _RetryableError as retry:
                # A failed check means that limit is gone: look for any limit the resource has now.
                for name, reason in zip(names, retry.reasons, strict=False):
                    if reason == "ConditionalCheckFailed":
                        current = self.read_resource(name).limits
                        if current:
                            batch[name] = current[0].name
                        else:
                            del batch[name]
                raise
            return names

        return self._with_retries(attempt)

    def _read_consistent_view(self, resource: str) -> StoredResource:
        """A read of the partition that no write landed in the middle of.

        A Query is only read-committed against transactions, item by item. It reads the version
        item first (descending); the same version read again after it means no write committed
        between, since every write moves the version.
        """
        for _ in range(CONSISTENT_READ_ATTEMPTS):
            stored = self.read_resource(resource)
            if self._current_version(resource) == stored.version:
                return stored
        raise ResourceChangingError(f"resource {resource!r} kept changing while it was read")

    def _current_version(self, resource: str) -> int:
        response = call_dynamodb(
            self._client.get_item,
            TableName=self._table_name,
            Key=schema.version_key(resource),
            ProjectionExpression="#version",
            ExpressionAttributeNames={"#version": schema.ATTR_VERSION},
            ConsistentRead=True,
        )
        return int(response.get("Item", {}).get(schema.ATTR_VERSION, {}).get("N", "0"))

    def read_resource(self, resource: str) -> StoredResource:
        """One strongly consistent Query of a resource's partition: its limits and its version.

        A partition with no version item (written by another program) is at version zero.
        """
        limits: list[Limit] = []
        version = 0
        query: dict[str, Any] = {
            "TableName": self._table_name,
            "KeyConditionExpression": "#pk = :pk",
            "ExpressionAttributeNames": {"#pk": schema.PARTITION_KEY},
            "ExpressionAttributeValues": {":pk": {"S": schema.resource_pk(resource)}},
            "ConsistentRead": True,
            # Descending, the version item comes before every limit: a write that commits while
            # the limits are read then fails the writer's version condition, and shows to a reader
            # that reads the version again (see _read_consistent_view).
            "ScanIndexForward": False,
        }
        while True:
            response = call_dynamodb(self._client.query, **query)
            for item in response.get("Items", []):
                sort_key = item[schema.SORT_KEY]["S"]
                if schema.is_limit_sk(sort_key):
                    limits.append(_limit_from_item(item))
                elif sort_key == schema.VERSION_SORT_KEY:
                    version = int(item[schema.ATTR_VERSION]["N"])
            if "LastEvaluatedKey" not in response:
                return StoredResource(tuple(reversed(limits)), version)
            query["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def _delete_limit_action(self, resource: str, limit_name: str) -> dict[str, Any]:
        return {
            "Delete": {"TableName": self._table_name, "Key": schema.limit_key(resource, limit_name)}
        }

    def _version_action(self, resource: str, current_version: int) -> dict[str, Any]:
        """Bump the version item, on condition that nobody else bumped it since our read."""
        action = self._version_condition(resource, current_version)
        action["UpdateExpression"] = "SET #version = :next"
        action.setdefault("ExpressionAttributeValues", {})[":next"] = {
            "N": str(current_version + 1)
        }
        return {"Update": action}

    def _version_condition(self, resource: str, current_version: int) -> dict[str, Any]:
        """The version item still at ``current_version`` (absent counts as version zero)."""
        condition: dict[str, Any] = {
            "TableName": self._table_name,
            "Key": schema.version_key(resource),
            "ExpressionAttributeNames": {"#version": schema.ATTR_VERSION},
            "ConditionExpression": "attribute_not_exists(#version)",
        }
        if current_version:
            condition["ConditionExpression"] = "#version = :current"
            condition["ExpressionAttributeValues"] = {":current": {"N": str(current_version)}}
        return condition

    def _registry_action(self, resources: str | list[str], verb: str) -> dict[str, Any]:
        """ADD or DELETE names in the registry set (never an empty set: DynamoDB refuses those)."""
        return {
            "Update": {
                "TableName": self._table_name,
                "Key": schema.registry_key(),
                "UpdateExpression": f"{verb} #resources :names",
                "ExpressionAttributeNames": {"#resources": schema.ATTR_RESOURCES},
                "ExpressionAttributeValues": {
                    ":names": {"SS": [resources] if isinstance(resources, str) else resources}
                },
            }
        }

    def _transact(self, actions: list[dict[str, Any]]) -> None:
        registry_index = len(actions) - 1
        try:
            # The token makes botocore's resend of a timed-out commit apply at most once.
            call_dynamodb(
                self._client.transact_write_items,
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
                if _is_item_too_large(reasons, registry_index):
                    raise RegistryFullError(REGISTRY_FULL_MESSAGE) from error
                if any(reason in RETRYABLE_CANCELLATION_CODES for reason in reasons):
                    raise _RetryableError(code, reasons) from error
            if code in RETRYABLE_ERROR_CODES:
                raise _RetryableError(code) from error
            raise

    def _with_retries(self, operation: Callable[[], T]) -> T:
        policy = self._retry_policy
        deadline = policy.clock() + policy.max_elapsed_seconds
        for attempt in range(1, policy.max_attempts + 1):
            try:
                return operation()
            except _RetryableError as retry:
                last_failure = retry
            if attempt == policy.max_attempts:
                break
            policy.pause(attempt)
            if policy.clock() >= deadline:
                break
        if last_failure.throttled:
            raise ServiceUnavailableError(
                "DynamoDB is throttling or unavailable; try again"
            ) from last_failure
        raise ConcurrentUpdateError(
            "the write kept losing to concurrent writers; try again"
        ) from last_failure


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


REGISTRY_FULL_MESSAGE = (
    "the resource registry is full: adding this name would exceed DynamoDB's 400 KB item size "
    "limit on the registry item; delete unused resources' defaults first"
)


def _is_item_too_large(reasons: list[str], registry_index: int) -> bool:
    # Limit items are a few hundred bytes; only the registry can outgrow an item.
    return len(reasons) > registry_index and reasons[registry_index] == "ValidationError"


def _check_precondition(
    resource: str, precondition: Precondition | None, stored: StoredResource
) -> None:
    if precondition is None:
        return
    if not stored.limits:
        raise PreconditionFailedError(
            f"resource {resource!r} has no defaults, so no version of it can match"
        )
    if precondition.versions and stored.version not in precondition.versions:
        expected = ", ".join(str(version) for version in sorted(precondition.versions))
        raise PreconditionFailedError(
            f"resource {resource!r} is at version {stored.version}, not {expected}"
        )


def _limit_item(resource: str, limit: Limit, version: int) -> dict[str, Any]:
    return {
        **schema.limit_key(resource, limit.name),
        schema.ATTR_RESOURCE: {"S": resource},
        schema.ATTR_LIMIT_NAME: {"S": limit.name},
        schema.ATTR_CAPACITY: {"N": str(limit.capacity)},
        schema.ATTR_BURST: {"N": str(limit.burst)},
        schema.ATTR_REFILL_AMOUNT: {"N": str(limit.refill_amount)},
        schema.ATTR_REFILL_PERIOD_SECONDS: {"N": str(limit.refill_period_seconds)},
        schema.ATTR_CONFIG_VERSION: {"N": str(version)},
    }


def _limit_from_item(item: dict[str, Any]) -> Limit:
    def number(attribute: str, default: int | None = None) -> int:
        if attribute not in item and default is not None:
            return default
        return int(item[attribute]["N"])

    capacity = number(schema.ATTR_CAPACITY)
    return Limit(
        name=schema.limit_name_from_sk(item[schema.SORT_KEY]["S"]),
        capacity=capacity,
        burst=number(schema.ATTR_BURST, capacity),
        refill_amount=number(schema.ATTR_REFILL_AMOUNT, capacity),
        refill_period_seconds=number(schema.ATTR_REFILL_PERIOD_SECONDS),
    )
