"""Backfill, verify and prune: reconcile each namespace's registry with its resources' defaults.

A run covers one segment. Where the table has GSI4 (zae-limiter 0.10 and later), each namespace's
resources are read from it, a keys-only Query per namespace, and namespaces are shared out among
the segments; elsewhere a parallel Scan segment reads the resource items and nothing else. A run
stops before its time runs out and returns a continuation token that resumes exactly where it
stopped (docs/contract.md, "Backfill").
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterable
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Final

from resource_registry import schema
from resource_registry.dynamodb import call_dynamodb
from resource_registry.errors import (
    InvalidContinuationError,
    InvalidInputError,
    NamespaceNotFoundError,
)
from resource_registry.layouts import FlatLayout, Layout, Scope
from resource_registry.namespaces import NamespaceDirectory
from resource_registry.records import MutableRecord, Record
from resource_registry.store import RegistryStore
from resource_registry.validation import RESOURCE_NAME_PATTERN

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# Stop this long before the Lambda deadline: one more page plus the registry writes fit in it.
DEFAULT_SAFETY_MARGIN_MILLIS = 30_000
# Names registered (or re-checked) at once: one transaction takes 99 checks and the registry.
RECONCILE_BATCH = 99
MAX_TOTAL_SEGMENTS = 1_000_000
TOKEN_VERSION = 2
# Names a summary shows of each kind: counts are exact, the names a sample, so that a summary
# stays far below Step Functions' 256 KB even when a first backfill adds 25,000 names.
SAMPLE_SIZE = 10
EVENT_FIELDS = frozenset({"mode", "namespace", "segment", "total_segments", "continuation"})


class Mode(StrEnum):
    """What a run does about the drift it finds."""

    BACKFILL = "backfill"  # register resources that have defaults but are missing
    VERIFY = "verify"  # change nothing, report drift both ways
    PRUNE = "prune"  # unregister names that have no defaults


class BackfillRequest(Record):
    """One invocation's share of the work: a segment, and where in it to resume."""

    __slots__ = (
        "mode",
        "segment",
        "total_segments",
        "namespace",
        "start_key",
        "last_resource",
        "resume_namespace",
    )
    mode: Final[Mode]
    segment: Final[int]
    total_segments: Final[int]
    # One namespace, or None for every namespace.
    namespace: Final[str | None]
    start_key: Final[dict[str, Any] | None]
    # The resource whose items the previous run was reading when it stopped, so it is counted once.
    last_resource: Final[str | None]
    # The namespace the previous run stopped in (GSI4 runs go through namespaces one by one).
    resume_namespace: Final[str | None]

    def __init__(  # noqa: PLR0917 (callers pass the fields in order)
        self,
        mode: Mode,
        segment: int = 0,
        total_segments: int = 1,
        namespace: str | None = None,
        start_key: dict[str, Any] | None = None,
        last_resource: str | None = None,
        resume_namespace: str | None = None,
    ) -> None:
        self.mode = mode
        self.segment = segment
        self.total_segments = total_segments
        self.namespace = namespace
        self.start_key = start_key
        self.last_resource = last_resource
        self.resume_namespace = resume_namespace

    @classmethod
    def from_event(cls, event: object) -> BackfillRequest:
        """Parse and check the invocation event (docs/contract.md, "Backfill")."""
        if not isinstance(event, dict):
            raise InvalidInputError("the event must be a JSON object")
        unknown = sorted(set(event) - EVENT_FIELDS)
        if unknown:
            raise InvalidInputError(f"unknown event field(s): {', '.join(map(str, unknown))}")
        try:
            mode = Mode(event.get("mode", Mode.BACKFILL.value))
        except ValueError:
            modes = ", ".join(mode.value for mode in Mode)
            raise InvalidInputError(f"mode must be one of: {modes}") from None
        total = _event_integer(event, "total_segments", 1, minimum=1)
        if total > MAX_TOTAL_SEGMENTS:
            raise InvalidInputError(f"total_segments must be at most {MAX_TOTAL_SEGMENTS}")
        segment = _event_integer(event, "segment", 0, minimum=0)
        if segment >= total:
            raise InvalidInputError(f"segment must be below total_segments ({total})")
        namespace = event.get("namespace")
        if namespace is not None and (not isinstance(namespace, str) or not namespace):
            raise InvalidInputError("namespace must be a namespace's name, or null for all")
        request = cls(mode, segment, total, namespace)
        token = event.get("continuation")
        return request if token is None else request.resumed_from(token)

    def resumed_from(self, token: object) -> BackfillRequest:
        """This request, resumed where the run that issued ``token`` stopped."""
        if not isinstance(token, str):
            raise InvalidContinuationError("continuation must be a string token or null")
        try:
            state = json.loads(base64.urlsafe_b64decode(token.encode("ascii")))
            issued_for = (state["segment"], state["total_segments"], state["namespace"])
            start_key, last_resource = state["start_key"], state.get("last_resource")
            resume_namespace = state.get("resume_namespace")
        except (ValueError, TypeError, KeyError, binascii.Error, UnicodeError):
            raise InvalidContinuationError(
                "continuation is not a token this backfill issued"
            ) from None
        if state.get("v") != TOKEN_VERSION:
            raise InvalidContinuationError("continuation was issued by another version of this")
        if issued_for != (self.segment, self.total_segments, self.namespace):
            raise InvalidContinuationError(
                f"continuation belongs to segment {issued_for[0]} of {issued_for[1]} "
                f"(namespace {issued_for[2]}), not segment {self.segment} of "
                f"{self.total_segments} (namespace {self.namespace})"
            )
        if start_key is not None and not _is_key(start_key):
            raise InvalidContinuationError("continuation is not a token this backfill issued")
        return BackfillRequest(
            self.mode,
            self.segment,
            self.total_segments,
            self.namespace,
            start_key,
            last_resource,
            resume_namespace,
        )

    def continuation(
        self, namespace: str, start_key: dict[str, Any] | None, last_resource: str | None
    ) -> str:
        """A token that resumes this segment in ``namespace`` at ``start_key``."""
        state = {
            "v": TOKEN_VERSION,
            "segment": self.segment,
            "total_segments": self.total_segments,
            "namespace": self.namespace,
            "resume_namespace": namespace,
            "start_key": start_key,
            "last_resource": last_resource,
        }
        return base64.urlsafe_b64encode(json.dumps(state).encode()).decode("ascii")


class Tally(MutableRecord):
    """The names of one kind a run found or changed in a namespace."""

    __slots__ = ("names",)
    names: list[str]

    def __init__(self, names: list[str] | None = None) -> None:
        self.names = [] if names is None else names

    def add(self, names: Iterable[str]) -> None:
        self.names += names


class NamespaceTally(MutableRecord):
    """What a run found and did in one namespace."""

    __slots__ = (
        "resources_found",
        "added",
        "removed",
        "unregistered",
        "registered_without_defaults",
    )
    resources_found: Tally
    added: Tally
    removed: Tally
    # Drift: names with defaults missing from the registry, and registered names without any.
    unregistered: Tally
    registered_without_defaults: Tally

    def __init__(
        self,
        resources_found: Tally | None = None,
        added: Tally | None = None,
        removed: Tally | None = None,
        unregistered: Tally | None = None,
        registered_without_defaults: Tally | None = None,
    ) -> None:
        self.resources_found = Tally() if resources_found is None else resources_found
        self.added = Tally() if added is None else added
        self.removed = Tally() if removed is None else removed
        self.unregistered = Tally() if unregistered is None else unregistered
        self.registered_without_defaults = (
            Tally() if registered_without_defaults is None else registered_without_defaults
        )

    def counts(self) -> dict[str, int]:
        return {kind: len(getattr(self, kind).names) for kind in TALLIES}


TALLIES = ("resources_found", "added", "removed", "unregistered", "registered_without_defaults")


class Drift(Record):
    """Names on which a registry and its resources' defaults disagree."""

    __slots__ = ("unregistered", "registered_without_defaults")
    unregistered: Final[list[str]]  # have defaults, not in the registry
    registered_without_defaults: Final[list[str]]

    def __init__(self, unregistered: list[str], registered_without_defaults: list[str]) -> None:
        self.unregistered = unregistered
        self.registered_without_defaults = registered_without_defaults

    def __bool__(self) -> bool:
        return bool(self.unregistered or self.registered_without_defaults)


class BackfillSummary(MutableRecord):
    """What one invocation did (docs/contract.md, "Backfill"); counts add up across invocations.

    It keeps every name; its JSON form (to_dict) keeps counts and a sample of names.
    """

    __slots__ = (
        "mode",
        "segment",
        "total_segments",
        "namespace",
        "items_read",
        "capacity_consumed",
        "namespaces",
        "continuation",
    )
    mode: str
    segment: int
    total_segments: int
    namespace: str | None
    items_read: int
    capacity_consumed: float
    namespaces: dict[str, NamespaceTally]
    continuation: str | None

    def __init__(  # noqa: PLR0917 (callers pass the fields in order)
        self,
        mode: str,
        segment: int,
        total_segments: int,
        namespace: str | None = None,
        items_read: int = 0,
        capacity_consumed: float = 0.0,
        namespaces: dict[str, NamespaceTally] | None = None,
        continuation: str | None = None,
    ) -> None:
        self.mode = mode
        self.segment = segment
        self.total_segments = total_segments
        self.namespace = namespace
        self.items_read = items_read
        self.capacity_consumed = capacity_consumed
        self.namespaces = {} if namespaces is None else namespaces
        self.continuation = continuation

    def of(self, namespace: str) -> NamespaceTally:
        """The tally of one namespace, started on first use."""
        return self.namespaces.setdefault(namespace, NamespaceTally())

    def names(self, kind: str) -> list[str]:
        """The sorted names of one kind (one of TALLIES), over every namespace."""
        return sorted(n for tally in self.namespaces.values() for n in getattr(tally, kind).names)

    def total(self, kind: str) -> int:
        """How many names of one kind, over every namespace."""
        return sum(len(getattr(tally, kind).names) for tally in self.namespaces.values())

    @property
    def resources_found(self) -> list[str]:
        return self.names("resources_found")

    @property
    def added(self) -> list[str]:
        return self.names("added")

    @property
    def removed(self) -> list[str]:
        return self.names("removed")

    @property
    def drift(self) -> Drift:
        return Drift(self.names("unregistered"), self.names("registered_without_defaults"))

    def to_dict(self) -> dict[str, Any]:
        """The JSON summary: counts, a sample of names of each kind, and counts per namespace."""
        return {
            "mode": self.mode,
            "segment": self.segment,
            "total_segments": self.total_segments,
            "namespace": self.namespace,
            "items_read": self.items_read,
            "capacity_consumed": self.capacity_consumed,
            **{kind: self.total(kind) for kind in TALLIES},
            "drift": self.total("unregistered") + self.total("registered_without_defaults"),
            "sample": {
                kind: self.names(kind)[:SAMPLE_SIZE]
                for kind in TALLIES
                if kind != "resources_found"
            },
            "namespaces": {name: tally.counts() for name, tally in sorted(self.namespaces.items())},
            "continuation": self.continuation,
        }


class RegistryReconciler:
    """Runs one invocation of backfill, verify or prune over one segment."""

    def __init__(
        self,
        client: DynamoDBClient,
        table_name: str,
        store: RegistryStore | None = None,
        *,
        safety_margin_millis: int = DEFAULT_SAFETY_MARGIN_MILLIS,
        page_size: int | None = None,
        layout: Layout | None = None,
    ) -> None:
        self._client = client
        self._table_name = table_name
        self._layout = layout or (store.layout if store else FlatLayout(client, table_name))
        self._store = store or RegistryStore(client, table_name, layout=self._layout)
        self._namespaces = NamespaceDirectory(client, table_name, self._layout)
        self._safety_margin_millis = safety_margin_millis
        self._page_size = page_size

    def run(
        self,
        request: BackfillRequest,
        remaining_millis: Callable[[], int] | None = None,
        on_page: Callable[[BackfillSummary], None] | None = None,
    ) -> BackfillSummary:
        """Read the request's share until it ends or time runs short, reconciling what it saw.

        ``remaining_millis`` is the Lambda context's clock; ``on_page`` sees progress per page.
        """
        summary = BackfillSummary(
            request.mode.value, request.segment, request.total_segments, request.namespace
        )
        scopes = self._scopes(request)
        names = [scope.name for scope in scopes]
        # The namespace the last run stopped in; if it is gone since, the next one from scratch.
        resuming = request.resume_namespace in names
        if request.resume_namespace is not None:
            scopes = [scope for scope in scopes if scope.name >= request.resume_namespace]
        for index, scope in enumerate(scopes):
            resumed = index == 0 and resuming
            start_key = request.start_key if resumed else None
            last_resource = request.last_resource if resumed else None
            token = self._run_scope(
                request,
                scope,
                summary,
                (start_key, last_resource),
                remaining_millis=remaining_millis,
                on_page=on_page,
            )
            if token is None and index + 1 < len(scopes) and self._out_of_time(remaining_millis):
                token = request.continuation(scopes[index + 1].name, None, None)
            if token is not None:
                summary.continuation = token
                break
        return summary

    def _scopes(self, request: BackfillRequest) -> list[Scope]:
        """The namespaces this segment covers, sorted by name."""
        if request.namespace is not None:
            try:
                scopes = [self._namespaces.resolve(request.namespace)]
            except NamespaceNotFoundError as error:
                raise InvalidInputError(str(error)) from None
        else:
            scopes = self._namespaces.active()
        if not self._layout.namespaced:
            return scopes  # one namespace, split among the segments by a parallel Scan
        # A keys-only Query per namespace is cheap: each namespace belongs to one segment.
        return [
            scope
            for index, scope in enumerate(scopes)
            if index % request.total_segments == request.segment
        ]

    def _owns_registered_check(self, request: BackfillRequest) -> bool:
        # Names without items are in no scan segment: segment 0 checks them. On GSI4 each
        # namespace belongs to one segment, which checks its own.
        return self._layout.namespaced or request.segment == 0

    def _run_scope(
        self,
        request: BackfillRequest,
        scope: Scope,
        summary: BackfillSummary,
        resume: tuple[dict[str, Any] | None, str | None],
        *,
        remaining_millis: Callable[[], int] | None,
        on_page: Callable[[BackfillSummary], None] | None,
    ) -> str | None:
        """Reconcile one namespace; a continuation token if time ran short before its end.

        ``resume`` is where the previous run stopped: its start key and last resource.
        """
        start_key, last_resource = resume
        store = self._store.in_scope(scope)
        tally = summary.of(scope.name)
        registered = set(store.list_resources(consistent=True))
        if start_key is None and last_resource is None and self._owns_registered_check(request):
            # First, while the whole time budget is left (one read per registered name).
            self._reconcile_registered(store, request.mode, registered, tally)
        # For each resource found: what proves it has defaults, or None if it must be read.
        evidence: dict[str, str | None] = {}
        seen: set[str] = set()
        while True:
            page = self._page(request, scope, start_key)
            summary.items_read += page.get("ScannedCount", 0)
            summary.capacity_consumed += page.get("ConsumedCapacity", {}).get("CapacityUnits", 0.0)
            found: list[str] = []
            for item in page.get("Items", []):
                discovered = self._discovered(scope, item)
                if discovered is None:
                    continue
                resource, proof = discovered
                if resource == last_resource or resource in seen:
                    continue
                last_resource = resource
                seen.add(resource)
                found.append(resource)
                if resource not in registered:
                    evidence[resource] = proof
            tally.resources_found.add(found)
            # A transaction's worth at a time, so the work left after the last page stays small.
            while len(evidence) >= RECONCILE_BATCH:
                batch = dict(list(evidence.items())[:RECONCILE_BATCH])
                for name in batch:
                    del evidence[name]
                self._reconcile_unregistered(store, request.mode, batch, tally)
            if on_page:
                on_page(summary)
            start_key = page.get("LastEvaluatedKey")
            # Only a missing LastEvaluatedKey ends a segment: a filtered page can be empty.
            if start_key is None:
                break
            if self._out_of_time(remaining_millis):
                self._reconcile_unregistered(store, request.mode, evidence, tally)
                return request.continuation(scope.name, start_key, last_resource)
        self._reconcile_unregistered(store, request.mode, evidence, tally)
        return None

    def _out_of_time(self, remaining_millis: Callable[[], int] | None) -> bool:
        return remaining_millis is not None and remaining_millis() < self._safety_margin_millis

    def _page(
        self, request: BackfillRequest, scope: Scope, start_key: dict[str, Any] | None
    ) -> dict[str, Any]:
        if self._layout.namespaced:
            operation: Callable[..., Any] = self._client.query
            call = namespace_resource_query(self._table_name, scope)
        else:
            operation = self._client.scan
            call = resource_item_scan(
                self._layout, self._table_name, request.segment, request.total_segments
            )
        call["ReturnConsumedCapacity"] = "TOTAL"
        if start_key:
            call["ExclusiveStartKey"] = start_key
        if self._page_size:
            call["Limit"] = self._page_size
        page: dict[str, Any] = call_dynamodb(operation, **call)
        if self._layout.namespaced:
            page.setdefault("ScannedCount", page.get("Count", 0))
        return page

    def _discovered(self, scope: Scope, item: dict[str, Any]) -> tuple[str, str | None] | None:
        """The resource an item belongs to, and the proof it has defaults if the item holds it."""
        resource = schema.resource_from_pk(item[schema.PARTITION_KEY]["S"], scope.prefix)
        sort_key = item[schema.SORT_KEY]["S"]
        # A name zae-limiter would refuse (another program wrote it) is not registered: the API
        # could never read or delete it again.
        if resource is None or not RESOURCE_NAME_PATTERN.fullmatch(resource):
            return None
        if schema.is_limit_sk(sort_key):
            return resource, schema.limit_name_from_sk(sort_key)
        if sort_key != schema.CONFIG_SORT_KEY:
            return None
        names = schema.config_limit_names(item)
        if not names:
            # A keys-only GSI4 entry says nothing of the limits: read the item if it matters.
            return (resource, None) if self._layout.namespaced else None
        name, windowed = sorted(names.items())[0]
        return resource, schema.limit_attribute(name, schema.FIELD_CAPACITY, windowed)

    def _reconcile_unregistered(
        self,
        store: RegistryStore,
        mode: Mode,
        evidence: dict[str, str | None],
        tally: NamespaceTally,
    ) -> None:
        """Report (in backfill mode, register) resources with defaults missing from the registry."""
        if not evidence:
            return
        # Re-read so a name a concurrent set registered since the start is not reported as drift.
        registered_now = set(store.list_resources(consistent=True))
        missing: dict[str, str] = {}
        for name, proof in evidence.items():
            if name in registered_now:
                continue
            if proof is not None and mode is Mode.BACKFILL:
                missing[name] = proof  # the registration itself checks the proof still holds
                continue
            stored = store.read_resource(name)
            if stored.has_defaults:
                missing[name] = proof or store.evidence(stored)
        evidence.clear()
        if mode is Mode.BACKFILL:
            added = store.register_existing(missing)
            tally.added.add(added)
            tally.unregistered.add(added)
            return
        tally.unregistered.add(missing)

    def _reconcile_registered(
        self, store: RegistryStore, mode: Mode, registered: set[str], tally: NamespaceTally
    ) -> None:
        """Report (and in prune mode, remove) registered names that have no defaults."""
        candidates = [name for name in registered if not store.read_resource(name).has_defaults]
        # A delete that ran since the snapshot removed its name too: that is not drift.
        still_registered = set(store.list_resources(consistent=True)) if candidates else set()
        orphans = sorted(name for name in candidates if name in still_registered)
        if mode is Mode.PRUNE:
            removed = [name for name in orphans if store.unregister_if_orphaned(name)]
            tally.removed.add(removed)
            tally.registered_without_defaults.add(removed)
            return
        tally.registered_without_defaults.add(orphans)


def resource_item_scan(
    layout: Layout, table_name: str, segment: int = 0, total_segments: int = 1
) -> dict[str, Any]:
    """One Scan segment that returns a layout's resource items and nothing else.

    Flat limit items are found by their keys alone; a config item's limits are attributes, so
    config items come whole (a Scan's cost is the items it reads, whatever it returns).
    """
    if isinstance(layout, FlatLayout):
        return limit_item_scan(table_name, segment, total_segments)
    scan: dict[str, Any] = {
        "TableName": table_name,
        "FilterExpression": "begins_with(#pk, :resource) AND #sk = :config",
        "ExpressionAttributeNames": {"#pk": schema.PARTITION_KEY, "#sk": schema.SORT_KEY},
        "ExpressionAttributeValues": {
            ":resource": {"S": schema.RESOURCE_PREFIX},
            ":config": {"S": schema.CONFIG_SORT_KEY},
        },
    }
    return _segmented(scan, segment, total_segments)


def limit_item_scan(table_name: str, segment: int = 0, total_segments: int = 1) -> dict[str, Any]:
    """The Scan of one segment that returns the keys of flat limit items and nothing else."""
    scan: dict[str, Any] = {
        "TableName": table_name,
        "ProjectionExpression": "#pk, #sk",
        "FilterExpression": "begins_with(#pk, :resource) AND begins_with(#sk, :limit)",
        "ExpressionAttributeNames": {"#pk": schema.PARTITION_KEY, "#sk": schema.SORT_KEY},
        "ExpressionAttributeValues": {
            ":resource": {"S": schema.RESOURCE_PREFIX},
            ":limit": {"S": schema.LIMIT_PREFIX},
        },
    }
    return _segmented(scan, segment, total_segments)


def namespace_resource_query(table_name: str, scope: Scope) -> dict[str, Any]:
    """The keys-only GSI4 Query of a namespace's resource items (zae-limiter 0.10 and later)."""
    return {
        "TableName": table_name,
        "IndexName": schema.GSI4_INDEX,
        "KeyConditionExpression": "#gpk = :namespace AND begins_with(#gsk, :resources)",
        "ExpressionAttributeNames": {
            "#gpk": schema.GSI4_PARTITION_KEY,
            "#gsk": schema.GSI4_SORT_KEY,
        },
        "ExpressionAttributeValues": {
            ":namespace": {"S": scope.namespace_id or ""},
            ":resources": {"S": schema.resource_pk("", scope.prefix)},
        },
    }


def _segmented(scan: dict[str, Any], segment: int, total_segments: int) -> dict[str, Any]:
    if total_segments > 1:
        scan["Segment"] = segment
        scan["TotalSegments"] = total_segments
    return scan


def _event_integer(event: dict[str, Any], field_name: str, default: int, minimum: int) -> int:
    value = event.get(field_name, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidInputError(f"{field_name} must be an integer of at least {minimum}")
    return value


def _is_key(value: object) -> bool:
    return isinstance(value, dict) and all(
        isinstance(attribute, dict) and len(attribute) == 1 for attribute in value.values()
    )


def merge_summaries(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One summary of many runs (every segment, every continuation), as the state machine's.

    A segment's runs never find a name twice and segments never share one, so counts add up.
    """
    first = runs[0]
    namespaces: dict[str, dict[str, int]] = {}
    for run in runs:
        for name, counts in run["namespaces"].items():
            merged = namespaces.setdefault(name, dict.fromkeys(TALLIES, 0))
            for key in TALLIES:
                merged[key] += counts[key]
    return {
        "mode": first["mode"],
        "total_segments": first["total_segments"],
        "namespace": first["namespace"],
        "invocations": len(runs),
        "items_read": sum(run["items_read"] for run in runs),
        "capacity_consumed": round(sum(run["capacity_consumed"] for run in runs), 1),
        **{key: sum(run[key] for run in runs) for key in (*TALLIES, "drift")},
        "sample": {
            key: sorted({name for run in runs for name in run["sample"][key]})[:SAMPLE_SIZE]
            for key in first["sample"]
        },
        "namespaces": dict(sorted(namespaces.items())),
    }
