"""The registry store: a resource's default limits and the registry of resources that have them.

Every write changes the resource's limits and the registry item in one TransactWriteItems, so the
registry equals the set of resources with defaults after every commit, on every layout
(the layouts package says where each layout keeps them). Backfill repairs live in repairs.py.
See docs/decisions/ for why.
"""

from __future__ import annotations

from collections.abc import Sequence

from resource_registry import schema
from resource_registry.audit import DEFAULT_PAGE, AuditTrail, HistoryPage
from resource_registry.dynamodb import MAX_TRANSACT_ACTIONS, call_dynamodb
from resource_registry.errors import (
    IdempotencyKeyReusedError,
    InvalidInputError,
    PreconditionFailedError,
    ResourceNotFoundError,
    UnrepresentableLimitError,
)
from resource_registry.idempotency import IdempotencyRecords, IdempotentRequest, RecordedAnswer
from resource_registry.layouts.base import Action
from resource_registry.layouts.stored import StoredResource
from resource_registry.model import (
    SOLE_NAMESPACE,
    Limit,
    Namespace,
    NoneMatch,
    Precondition,
    ResourceDefaults,
)
from resource_registry.registry_commit import (
    commit_with_registry,
    commit_without_registry,
    room_for_changes,
)
from resource_registry.retry import RetryPolicy, with_retries
from resource_registry.table import Table
from resource_registry.validation import validate_limit_set, validate_resource_name


class RegistryStore:
    """Reads and writes resource defaults in one namespace, keeping its registry exact."""

    def __init__(
        self,
        table: Table,
        namespace: Namespace = SOLE_NAMESPACE,
        retry_policy: RetryPolicy | None = None,
        audit: AuditTrail | None = None,
    ) -> None:
        self.table = table
        self.namespace = namespace
        self._retry_policy = retry_policy or RetryPolicy()
        self.audit = audit or AuditTrail(table)
        self.idempotency = IdempotencyRecords(table)

    def in_namespace(self, namespace: Namespace) -> RegistryStore:
        """The same store over another namespace of the table."""
        return RegistryStore(self.table, namespace, self._retry_policy, self.audit)

    def list_resources(self, consistent: bool = False) -> list[str]:
        """The sorted names of all resources with defaults: one GetItem of the registry."""
        response = call_dynamodb(
            self.table.client.get_item,
            TableName=self.table.name,
            Key=self.table.layout.registry_key(self.namespace),
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
        stored = self.table.layout.read_unchanging(self.table, self.namespace, resource)
        if not stored.has_defaults:
            raise ResourceNotFoundError(f"resource {resource!r} has no default limits")
        return self._defaults(resource, stored)

    def history(
        self, resource: str, limit: int = DEFAULT_PAGE, cursor: str | None = None
    ) -> HistoryPage:
        """A page of the resource's audit events, newest first (zae-limiter's among them).

        ResourceNotFoundError for a resource that has neither events nor defaults (one that never
        existed, as a GET of its defaults says); defaults another program wrote without events
        have an empty history.
        """
        validate_resource_name(resource)
        page = self.audit.history(self.namespace, resource, limit, cursor)
        if not page.events and cursor is None and not self.read_resource(resource).has_defaults:
            raise ResourceNotFoundError(f"resource {resource!r} has no history and no defaults")
        return page

    def read_resource(self, resource: str) -> StoredResource:
        """One strongly consistent read of a resource's limits, as a write starts from."""
        return self.table.layout.read(self.table, self.namespace, resource)

    def set_defaults(
        self,
        resource: str,
        limits: Sequence[Limit],
        precondition: Precondition | None = None,
        none_match: NoneMatch | None = None,
        principal: str | None = None,
        *,
        idempotent: IdempotentRequest | None = None,
        dry_run: bool = False,
    ) -> ResourceDefaults:
        """Replace a resource's whole set of limits and register it, in one transaction.

        With a ``precondition`` (If-Match) or ``none_match`` (If-None-Match; ``*`` creates only),
        raise PreconditionFailedError unless the resource meets it. Both are checked on the
        write's own read, and the transaction commits only if nothing changed since. With an
        ``idempotent`` key already used for this request, answer what that write did. A
        ``dry_run`` answers (or refuses) as the write would and stops before writing anything.
        """
        validate_resource_name(resource)
        _check_dry_run(dry_run, idempotent)
        new_limits = validate_limit_set(limits)
        table, namespace, layout = self.table, self.namespace, self.table.layout
        if len(new_limits) > layout.max_limits:
            raise InvalidInputError(
                f"this table's layout ({layout.name}) holds at most {layout.max_limits} limits a "
                f"resource; the request has {len(new_limits)}"
            )
        layout.check_limits(new_limits)

        def attempt() -> ResourceDefaults:
            replayed = self._recorded(idempotent)
            if replayed is not None:
                return _defaults_of(replayed)
            stored = self.read_resource(resource)
            _check_precondition(resource, precondition, stored)
            _check_none_match(resource, none_match, stored)
            _refuse_unrepresentable(resource, stored)
            if not dry_run:  # marking the item read is a write
                stored = layout.comparable(table, namespace, resource, stored)
            # The audit event commits with the change or not at all; its id marks the change.
            event_id, event = self.audit.new_event(
                namespace, resource, schema.ACTION_LIMITS_SET, principal, new_limits
            )
            actions = layout.write_actions(
                table, namespace, resource, stored, new_limits, write_id=event_id
            )
            # What a read would now find: every write moves the version by one.
            answer = self._defaults(resource, StoredResource(new_limits, stored.version + 1))
            actions += [event, *self._record(idempotent, RecordedAnswer(answer))]
            actions.append(
                layout.registry_action(table, namespace, "ADD", [resource], write_id=event_id)
            )
            if len(actions) - 1 > room_for_changes(table, namespace):
                raise InvalidInputError(
                    f"resource {resource!r} holds {len(stored.limits)} limits; replacing them with "
                    f"{len(new_limits)} exceeds DynamoDB's {MAX_TRANSACT_ACTIONS} items per "
                    "transaction: delete its defaults first"
                )
            if not dry_run:
                commit_with_registry(table, namespace, actions)
            return answer

        return with_retries(self._retry_policy, attempt)

    def delete_defaults(
        self,
        resource: str,
        precondition: Precondition | None = None,
        principal: str | None = None,
        *,
        idempotent: IdempotentRequest | None = None,
        dry_run: bool = False,
    ) -> None:
        """Delete all of a resource's limits and unregister it, in one transaction.

        Raises ResourceNotFoundError when it has no defaults, PreconditionFailedError when it does
        not meet ``precondition``; with an ``idempotent`` key already used for this request,
        returns as that delete did, writing nothing. A ``dry_run`` returns (or refuses) as the
        delete would and stops before writing anything.
        """
        validate_resource_name(resource)
        _check_dry_run(dry_run, idempotent)
        table, namespace, layout = self.table, self.namespace, self.table.layout

        def attempt() -> None:
            if self._recorded(idempotent) is not None:
                return
            stored = self.read_resource(resource)
            _check_precondition(resource, precondition, stored)
            if not stored.has_defaults:
                raise ResourceNotFoundError(f"resource {resource!r} has no default limits")
            if dry_run:
                return
            stored = layout.comparable(table, namespace, resource, stored)
            event_id, event = self.audit.new_event(
                namespace, resource, schema.ACTION_LIMITS_DELETED, principal
            )
            # The last transaction also holds the audit event, the namespace checks, the registry.
            reserved = MAX_TRANSACT_ACTIONS - room_for_changes(table, namespace) + 1
            *chunks, last = layout.delete_transactions(
                table, namespace, resource, stored, reserved=reserved, write_id=event_id
            )
            for chunk in chunks:
                commit_without_registry(table, chunk)
            record = self._record(idempotent, RecordedAnswer(None))
            registry = layout.registry_action(
                table, namespace, "DELETE", [resource], write_id=event_id
            )
            commit_with_registry(table, namespace, [*last, event, *record, registry])

        with_retries(self._retry_policy, attempt)

    def _recorded(self, idempotent: IdempotentRequest | None) -> RecordedAnswer | None:
        """What an earlier write with the same key answered; None without a key or a record."""
        if idempotent is None:
            return None
        return self.idempotency.recorded(self.namespace, idempotent)

    def _record(self, idempotent: IdempotentRequest | None, answer: RecordedAnswer) -> list[Action]:
        """The Put of the write's answer record, for its transaction: none without a key."""
        if idempotent is None:
            return []
        return [self.idempotency.record_action(self.namespace, idempotent, answer)]

    def _defaults(self, resource: str, stored: StoredResource) -> ResourceDefaults:
        shown = tuple(self.table.layout.shown(limit) for limit in stored.limits)
        return ResourceDefaults(resource, stored.limits, stored.version, stored.etag, shown)


def _check_dry_run(dry_run: bool, idempotent: IdempotentRequest | None) -> None:
    if dry_run and idempotent is not None:
        raise InvalidInputError(
            "a dry run writes nothing, so an Idempotency-Key has nothing to record; send it "
            "with the write itself"
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


def _defaults_of(answer: RecordedAnswer) -> ResourceDefaults:
    """The defaults a recorded set answered; a key first used to delete is another request's."""
    if answer.defaults is None:
        raise IdempotencyKeyReusedError(
            "this Idempotency-Key was used in the last 24 hours for a delete; use a new key"
        )
    return answer.defaults
