"""The registry store: a resource's default limits and the registry of resources that have them.

Every write changes the resource's limits and the registry item in one TransactWriteItems, so the
registry equals the set of resources with defaults after every commit, on every layout
(layouts.py says where a layout keeps the limits). See docs/decisions/ for why.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from resource_registry import schema
from resource_registry.audit import DEFAULT_PAGE, AuditTrail, HistoryPage
from resource_registry.dynamodb import MAX_TRANSACT_ACTIONS, RetryableWriteError, call_dynamodb
from resource_registry.dynamodb import transact as commit
from resource_registry.errors import (
    ConcurrentUpdateError,
    InvalidInputError,
    NamespaceNotFoundError,
    PreconditionFailedError,
    ResourceNotFoundError,
    UnrepresentableLimitError,
)
from resource_registry.layouts import (
    DEFAULT_SCOPE,
    Action,
    FlatLayout,
    Layout,
    Scope,
    StoredResource,
)
from resource_registry.model import Limit, NoneMatch, Precondition, ResourceDefaults
from resource_registry.retry import RetryPolicy, with_retries
from resource_registry.validation import validate_limit_set, validate_resource_name

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class RegistryStore:
    """Reads and writes resource defaults in one namespace, keeping its registry exact."""

    def __init__(
        self,
        client: DynamoDBClient,
        table_name: str,
        retry_policy: RetryPolicy | None = None,
        *,
        layout: Layout | None = None,
        scope: Scope = DEFAULT_SCOPE,
        audit: AuditTrail | None = None,
    ) -> None:
        self._client = client
        self._table_name = table_name
        self._retry_policy = retry_policy or RetryPolicy()
        self.layout = layout or FlatLayout(client, table_name)
        self.scope = scope
        self.audit = audit or AuditTrail(client, table_name, self.layout)

    def in_scope(self, scope: Scope) -> RegistryStore:
        """The same store over another namespace of the table."""
        return RegistryStore(
            self._client,
            self._table_name,
            self._retry_policy,
            layout=self.layout,
            scope=scope,
            audit=self.audit,
        )

    def list_resources(self, consistent: bool = False) -> list[str]:
        """The sorted names of all resources with defaults: one GetItem of the registry."""
        response = call_dynamodb(
            self._client.get_item,
            TableName=self._table_name,
            Key=self.layout.registry_key(self.scope),
            ProjectionExpression="#resources",
            ExpressionAttributeNames={"#resources": schema.ATTR_RESOURCES},
            ConsistentRead=consistent,
        )
        item = response.get("Item", {})
        # DynamoDB removes a set attribute when its last element is deleted.
        return sorted(item.get(schema.ATTR_RESOURCES, {}).get("SS", []))

    def get_defaults(self, resource: str) -> ResourceDefaults:
        """A resource's limits and ETag; ResourceNotFoundError when it has no defaults."""
        validate_resource_name(resource)
        stored = self.layout.read_unchanging(self.scope, resource)
        if not stored.has_defaults:
            raise ResourceNotFoundError(f"resource {resource!r} has no default limits")
        return self._defaults(resource, stored)

    def history(
        self, resource: str, limit: int = DEFAULT_PAGE, cursor: str | None = None
    ) -> HistoryPage:
        """A page of the resource's audit events, newest first (zae-limiter's among them)."""
        validate_resource_name(resource)
        return self.audit.history(self.scope, resource, limit, cursor)

    def read_resource(self, resource: str) -> StoredResource:
        """One strongly consistent read of a resource's limits, as a write starts from."""
        return self.layout.read(self.scope, resource)

    def set_defaults(
        self,
        resource: str,
        limits: Sequence[Limit],
        precondition: Precondition | None = None,
        none_match: NoneMatch | None = None,
        principal: str | None = None,
    ) -> ResourceDefaults:
        """Replace a resource's whole set of limits and register it, in one transaction.

        With a ``precondition`` (If-Match) or ``none_match`` (If-None-Match; ``*`` creates only),
        raise PreconditionFailedError unless the resource meets it. Both are checked on the
        write's own read, and the transaction commits only if nothing changed since.
        """
        validate_resource_name(resource)
        new_limits = validate_limit_set(limits)
        self.layout.check_limits(new_limits)

        def attempt() -> ResourceDefaults:
            stored = self.read_resource(resource)
            _check_precondition(resource, precondition, stored)
            _check_none_match(resource, none_match, stored)
            _refuse_unrepresentable(resource, stored)
            actions = self.layout.write_actions(self.scope, resource, stored, new_limits)
            # The audit event commits with the change or not at all.
            actions.append(
                self.audit.event_action(
                    self.scope, resource, schema.ACTION_LIMITS_SET, principal, new_limits
                )
            )
            actions.append(self.layout.registry_action(self.scope, "ADD", [resource]))
            if len(actions) - 1 > self._room_for_changes():
                raise InvalidInputError(
                    f"resource {resource!r} holds {len(stored.limits)} limits; replacing them with "
                    f"{len(new_limits)} exceeds DynamoDB's {MAX_TRANSACT_ACTIONS} items per "
                    "transaction: delete its defaults first"
                )
            self._commit(actions)
            # What a read would now find: every write moves the version by one.
            written = StoredResource(new_limits, stored.version + 1)
            return self._defaults(resource, written)

        return with_retries(self._retry_policy, attempt)

    def delete_defaults(
        self,
        resource: str,
        precondition: Precondition | None = None,
        principal: str | None = None,
    ) -> None:
        """Delete all of a resource's limits and unregister it, in one transaction.

        Raises ResourceNotFoundError when it has no defaults, PreconditionFailedError when it does
        not meet ``precondition``.
        """
        validate_resource_name(resource)

        def attempt() -> None:
            stored = self.read_resource(resource)
            _check_precondition(resource, precondition, stored)
            if not stored.has_defaults:
                raise ResourceNotFoundError(f"resource {resource!r} has no default limits")
            # The last transaction also holds the audit event, the namespace checks, the registry.
            reserved = MAX_TRANSACT_ACTIONS - self._room_for_changes() + 1
            *chunks, last = self.layout.delete_transactions(self.scope, resource, stored, reserved)
            for chunk in chunks:
                self._commit(chunk, with_registry=False)
            event = self.audit.event_action(
                self.scope, resource, schema.ACTION_LIMITS_DELETED, principal
            )
            registry = self.layout.registry_action(self.scope, "DELETE", [resource])
            self._commit([*last, event, registry])

        with_retries(self._retry_policy, attempt)

    def register_existing(self, evidence: Mapping[str, str]) -> list[str]:
        """Add to the registry each resource that still has the limit ``evidence`` names for it.

        Each name is added in a transaction that also checks that limit still exists, so a
        delete that ran since the caller saw it is never undone. Returns the names added.
        """
        registered: list[str] = []
        pending = dict(evidence)
        while pending:
            batch = dict(sorted(pending.items())[: self._room_for_changes()])
            for name in batch:
                del pending[name]
            registered += self._register_batch(batch)
        return sorted(registered)

    def unregister_if_orphaned(self, resource: str) -> bool:
        """Remove a resource without defaults from the registry; False if it has defaults.

        The removal is conditioned on the resource being unchanged since the read; a consistent
        read after it repairs the registry if a writer that keeps no version raced with it.
        """

        def attempt() -> bool:
            # Read again on every try: once a writer moved the resource, the old condition is dead.
            stored = self.read_resource(resource)
            if stored.has_defaults:
                return False
            unchanged = self.layout.unchanged_check(self.scope, resource, stored)
            self._commit([unchanged, self.layout.registry_action(self.scope, "DELETE", [resource])])
            return True

        try:
            if not with_retries(self._retry_policy, attempt):
                return False
        except ConcurrentUpdateError:
            return False
        after = self.read_resource(resource)
        if after.has_defaults:
            self.register_existing({resource: self.layout.evidence(after)})
            return False
        return True

    def evidence(self, stored: StoredResource) -> str:
        """What a registration of the resource ``stored`` describes checks still exists."""
        return self.layout.evidence(stored)

    def _register_batch(self, batch: dict[str, str]) -> list[str]:
        def attempt() -> list[str]:
            names = sorted(batch)
            if not names:
                return []
            checks = [self.layout.evidence_check(self.scope, name, batch[name]) for name in names]
            try:
                self._commit([*checks, self.layout.registry_action(self.scope, "ADD", names)])
            except RetryableWriteError as retry:
                # A failed check means that limit is gone: look for any limit the resource has now.
                for name, reason in zip(names, retry.reasons, strict=False):
                    if reason == "ConditionalCheckFailed":
                        current = self.read_resource(name)
                        if current.has_defaults:
                            batch[name] = self.layout.evidence(current)
                        else:
                            del batch[name]
                raise
            return names

        return with_retries(self._retry_policy, attempt)

    def _room_for_changes(self) -> int:
        """Actions a transaction has room for besides the registry update and namespace checks."""
        return MAX_TRANSACT_ACTIONS - 1 - len(self.layout.scope_checks(self.scope))

    def _commit(self, actions: list[Action], with_registry: bool = True) -> None:
        """Commit ``actions``; those ending with the registry update also check the namespace.

        The namespace checks go just before the registry update, which stays last: a failure
        there is RegistryFullError.
        """
        if not with_registry:
            commit(self._client, actions, None)
            return
        *changes, registry = actions
        checks = self.layout.scope_checks(self.scope)
        try:
            commit(self._client, [*changes, *checks, registry], len(changes) + len(checks))
        except RetryableWriteError as retry:
            failed = retry.reasons[len(changes) : len(changes) + len(checks)]
            if "ConditionalCheckFailed" in failed:
                raise NamespaceNotFoundError(
                    f"namespace {self.scope.name!r} was deleted; nothing was written"
                ) from retry
            raise

    def _defaults(self, resource: str, stored: StoredResource) -> ResourceDefaults:
        return ResourceDefaults(
            resource, stored.limits, stored.version, stored.etag, self.layout.stores_burst
        )


def _check_precondition(
    resource: str, precondition: Precondition | None, stored: StoredResource
) -> None:
    if precondition is None:
        return
    if not stored.has_defaults:
        raise PreconditionFailedError(
            f"resource {resource!r} has no defaults, so no ETag of it can match"
        )
    if precondition.etags and stored.etag not in precondition.etags:
        raise PreconditionFailedError(
            f'resource {resource!r} is at ETag "{stored.etag}", which If-Match does not list'
        )


def _check_none_match(resource: str, none_match: NoneMatch | None, stored: StoredResource) -> None:
    if none_match is None or not none_match.fails(stored.has_defaults, stored.etag):
        return
    if none_match.any:
        raise PreconditionFailedError(
            f"resource {resource!r} has defaults already; If-None-Match: * only creates"
        )
    raise PreconditionFailedError(
        f'resource {resource!r} is at ETag "{stored.etag}", which If-None-Match lists'
    )


def _refuse_unrepresentable(resource: str, stored: StoredResource) -> None:
    """A write would drop or rewrite limits the API cannot represent: refuse it, naming them."""
    if stored.unrepresentable:
        described = "; ".join(
            f"{name!r} ({why})" for name, why in sorted(stored.unrepresentable.items())
        )
        raise UnrepresentableLimitError(
            f"resource {resource!r} holds limits this API cannot represent: {described}; a "
            "replacement would silently drop them, so change this resource with zae-limiter"
        )
