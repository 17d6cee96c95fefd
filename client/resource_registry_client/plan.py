"""Plan and apply: compare a declarative file with the API, then make exactly those changes.

The plan records the ETag it read for each resource, and apply sends each change guarded by it
(``If-Match``, or ``If-None-Match: *`` for a create), so a resource someone changed in between is
refused (412) and left as they made it, never overwritten with stale intent.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from resource_registry_client.client import Reach, RegistryClient
from resource_registry_client.desired import DesiredState
from resource_registry_client.errors import (
    NotFoundError,
    PreconditionFailedError,
    RegistryClientError,
)
from resource_registry_client.limits import Limit


class Action(enum.Enum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


@dataclass(frozen=True)
class LimitChange:
    """One limit's difference: ``before`` None is an added limit, ``after`` None a removed one."""

    name: str
    before: Limit | None
    after: Limit | None


@dataclass(frozen=True)
class ResourceChange:
    """A change to one resource's defaults, with the ETag its current state was read at."""

    namespace: str
    resource: str
    action: Action
    before: tuple[Limit, ...]
    after: tuple[Limit, ...]
    etag: str | None

    @property
    def limit_changes(self) -> list[LimitChange]:
        """Limit by limit, sorted by name; limits that stay the same are left out."""
        before = {limit.name: limit for limit in self.before}
        after = {limit.name: limit for limit in self.after}
        return [
            LimitChange(name, before.get(name), after.get(name))
            for name in sorted(before.keys() | after.keys())
            if before.get(name) != after.get(name)
        ]


@dataclass(frozen=True)
class Plan:
    """The changes that make the API match a file, and how many resources already do."""

    changes: tuple[ResourceChange, ...]
    unchanged: int
    pruned: bool

    @property
    def has_changes(self) -> bool:
        return bool(self.changes)

    def count(self, action: Action) -> int:
        return sum(1 for change in self.changes if change.action is action)


class Outcome(enum.Enum):
    APPLIED = "applied"
    REFUSED = "refused"  # 412: someone changed it after the plan read it
    FAILED = "failed"


@dataclass(frozen=True)
class ChangeResult:
    change: ResourceChange
    outcome: Outcome
    message: str


def make_plan(
    client: RegistryClient,
    desired: DesiredState,
    *,
    prune: bool = False,
    namespaces: Iterable[str] | None = None,
) -> Plan:
    """Read each namespace of the file (or only ``namespaces``) and list what differs.

    With ``prune``, resources that have defaults in a namespace of the file but are not in the
    file are deleted; namespaces the file does not name are never touched.
    """
    chosen = set(namespaces) if namespaces is not None else None
    changes: list[ResourceChange] = []
    unchanged = 0
    for namespace, resources in sorted(desired.namespaces.items()):
        if chosen is not None and namespace not in chosen:
            continue
        # The registry is exact: a name it does not list has no defaults to read. Listing first
        # also refuses an unknown namespace before anything else is read.
        existing = set(client.list_resources(namespace, consistent=True))
        for resource in sorted(resources.keys() | (existing if prune else set())):
            current = _read(client, namespace, resource) if resource in existing else None
            wanted = resources.get(resource)
            change = _compare(namespace, resource, current, wanted)
            if change is not None:
                changes.append(change)
            elif wanted is not None:
                unchanged += 1
    return Plan(tuple(changes), unchanged, prune)


@dataclass(frozen=True)
class Impact:
    """Who a planned change reaches, from its dry run; or why the dry run gave no answer."""

    change: ResourceChange
    reach: Reach | None
    problem: str | None = None


def assess_impact(client: RegistryClient, plan: Plan) -> list[Impact]:
    """Each change's dry run, guarded by the ETag the plan read as apply will guard it: who the
    change reaches (entities without a config of their own) and, for a delete, what takes over.
    Nothing is written."""
    impacts = []
    for change in plan.changes:
        try:
            if change.action is Action.DELETE:
                preview = client.preview_delete_defaults(
                    change.resource, change.namespace, if_match=change.etag
                )
            else:
                preview = client.preview_set_defaults(
                    change.resource,
                    change.after,
                    change.namespace,
                    if_match=change.etag if change.action is Action.UPDATE else None,
                    create_only=change.action is Action.CREATE,
                )
        except PreconditionFailedError:
            impacts.append(Impact(change, None, "it changed after the plan read it"))
        except RegistryClientError as error:
            impacts.append(Impact(change, None, str(error)))
        else:
            impacts.append(Impact(change, preview.reach))
    return impacts


def apply_plan(
    client: RegistryClient,
    plan: Plan,
    report: Callable[[ChangeResult], None] = lambda result: None,
) -> list[ChangeResult]:
    """Make each planned change, guarded by the ETag the plan read; a refused or failed change
    stops only its own resource. ``report`` sees each result as it happens."""
    results = []
    for change in plan.changes:
        result = _apply_one(client, change)
        report(result)
        results.append(result)
    return results


def _read(
    client: RegistryClient, namespace: str, resource: str
) -> tuple[tuple[Limit, ...], str | None] | None:
    try:
        defaults = client.get_defaults(resource, namespace)
    except NotFoundError:  # deleted since it was listed
        return None
    return defaults.limits, defaults.etag


def _compare(
    namespace: str,
    resource: str,
    current: tuple[tuple[Limit, ...], str | None] | None,
    wanted: tuple[Limit, ...] | None,
) -> ResourceChange | None:
    if current is None:
        if wanted is None:
            return None  # listed, then deleted before we read it: nothing to prune
        return ResourceChange(namespace, resource, Action.CREATE, (), wanted, None)
    limits, etag = current
    if wanted is None:
        return ResourceChange(namespace, resource, Action.DELETE, limits, (), etag)
    if tuple(sorted(limits)) == tuple(sorted(wanted)):
        return None
    return ResourceChange(namespace, resource, Action.UPDATE, limits, wanted, etag)


def _apply_one(client: RegistryClient, change: ResourceChange) -> ChangeResult:
    where = _where(change)
    verb = f"{change.action.value}d"
    if change.action is not Action.CREATE and change.etag is None:
        message = f"{where}: not {verb}: the API sent no ETag to guard the change with"
        return ChangeResult(change, Outcome.FAILED, message)
    try:
        if change.action is Action.CREATE:
            client.set_defaults(change.resource, change.after, change.namespace, create_only=True)
        elif change.action is Action.UPDATE:
            client.set_defaults(
                change.resource, change.after, change.namespace, if_match=change.etag
            )
        else:
            client.delete_defaults(change.resource, change.namespace, if_match=change.etag)
    except PreconditionFailedError:
        return ChangeResult(
            change,
            Outcome.REFUSED,
            f"{where}: not {verb}: it changed after the plan read it "
            f"({_state_read(change)}); nothing was written to it. Run plan again.",
        )
    except RegistryClientError as error:
        return ChangeResult(change, Outcome.FAILED, f"{where}: not {verb}: {error}")
    return ChangeResult(change, Outcome.APPLIED, f"{where}: {verb}")


def _where(change: ResourceChange) -> str:
    return f"{change.resource} (namespace {change.namespace})"


def _state_read(change: ResourceChange) -> str:
    if change.action is Action.CREATE:
        return "it had no defaults then"
    return f"it was at ETag {change.etag}"
