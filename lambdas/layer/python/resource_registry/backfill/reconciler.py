"""Backfill, verify and prune: reconcile each namespace's registry with its resources' defaults.

A run covers one segment. How a segment finds its namespaces' resources is the table's layout's
to say (a parallel Scan segment, or a keys-only GSI4 Query per namespace). A run stops before its
time runs out and returns a continuation token that resumes exactly where it stopped.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from resource_registry.backfill.request import BackfillRequest, Mode
from resource_registry.backfill.summary import BackfillSummary, NamespaceTally
from resource_registry.errors import InvalidInputError, NamespaceNotFoundError
from resource_registry.model import Namespace
from resource_registry.namespaces import NamespaceDirectory
from resource_registry.repairs import RegistryRepairs
from resource_registry.store import RegistryStore
from resource_registry.table import Table
from resource_registry.validation import RESOURCE_NAME_PATTERN

# Stop this long before the Lambda deadline: one more page plus the registry writes fit in it.
DEFAULT_SAFETY_MARGIN_MILLIS = 30_000
# Names registered (or re-checked) at once: one transaction takes 99 checks and the registry.
RECONCILE_BATCH = 99


class RegistryReconciler:
    """Runs one invocation of backfill, verify or prune over one segment of a table."""

    def __init__(
        self,
        table: Table,
        *,
        safety_margin_millis: int = DEFAULT_SAFETY_MARGIN_MILLIS,
        page_size: int | None = None,
    ) -> None:
        self._table = table
        self._namespaces = NamespaceDirectory(table)
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
        namespaces = self._segment_namespaces(request)
        # The namespace the last run stopped in; if it is gone since, the next one from scratch.
        resuming = request.resume_namespace in [namespace.name for namespace in namespaces]
        if request.resume_namespace is not None:
            namespaces = [ns for ns in namespaces if ns.name >= request.resume_namespace]
        for index, namespace in enumerate(namespaces):
            resumed = index == 0 and resuming
            start_key = request.start_key if resumed else None
            last_resource = request.last_resource if resumed else None
            token = self._run_namespace(
                request,
                namespace,
                summary,
                (start_key, last_resource),
                remaining_millis=remaining_millis,
                on_page=on_page,
            )
            more = index + 1 < len(namespaces)
            if token is None and more and self._out_of_time(remaining_millis):
                token = request.continuation(namespaces[index + 1].name, None, None)
            if token is not None:
                summary.continuation = token
                break
        return summary

    def _segment_namespaces(self, request: BackfillRequest) -> list[Namespace]:
        """The namespaces this segment covers, sorted by name."""
        if request.namespace is not None:
            try:
                namespaces = [self._namespaces.resolve(request.namespace)]
            except NamespaceNotFoundError as error:
                raise InvalidInputError(str(error)) from None
        else:
            namespaces = self._namespaces.active()
        return self._table.layout.segment_namespaces(
            namespaces, request.segment, request.total_segments
        )

    def _run_namespace(
        self,
        request: BackfillRequest,
        namespace: Namespace,
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
        layout = self._table.layout
        work = _NamespaceWork(self._table, namespace, request.mode, summary.of(namespace.name))
        registered = work.registered()
        first_run = start_key is None and last_resource is None
        if first_run and layout.checks_registered(request.segment):
            # First, while the whole time budget is left (one read per registered name).
            work.reconcile_registered(registered)
        # For each resource found: what proves it has defaults, or None if it must be read.
        proofs: dict[str, str | None] = {}
        seen: set[str] = set()
        while True:
            page = layout.resource_page(
                self._table,
                namespace,
                request.segment,
                request.total_segments,
                start_key=start_key,
                page_size=self._page_size,
            )
            summary.items_read += page.get("ScannedCount", 0)
            summary.capacity_consumed += page.get("ConsumedCapacity", {}).get("CapacityUnits", 0.0)
            found: list[str] = []
            for item in page.get("Items", []):
                discovered = layout.found(namespace, item)
                if discovered is None:
                    continue
                resource, proof = discovered
                if resource == last_resource or resource in seen:
                    continue
                last_resource = resource
                seen.add(resource)
                # A name zae-limiter would refuse (another program wrote it) is never registered:
                # the API could not read or delete it. It is counted, and named, instead.
                if not RESOURCE_NAME_PATTERN.fullmatch(resource):
                    work.count_unservable(resource, proof)
                    continue
                found.append(resource)
                if resource not in registered:
                    proofs[resource] = proof
            work.tally.resources_found.add(found)
            # A transaction's worth at a time, so the work left after the last page stays small.
            while len(proofs) >= RECONCILE_BATCH:
                batch = dict(list(proofs.items())[:RECONCILE_BATCH])
                for name in batch:
                    del proofs[name]
                work.reconcile_unregistered(batch)
            if on_page:
                on_page(summary)
            start_key = page.get("LastEvaluatedKey")
            # Only a missing LastEvaluatedKey ends a segment: a filtered page can be empty.
            if start_key is None:
                break
            if self._out_of_time(remaining_millis):
                work.reconcile_unregistered(proofs)
                return request.continuation(namespace.name, start_key, last_resource)
        work.reconcile_unregistered(proofs)
        return None

    def _out_of_time(self, remaining_millis: Callable[[], int] | None) -> bool:
        return remaining_millis is not None and remaining_millis() < self._safety_margin_millis


class _NamespaceWork:
    """What a run does about the drift it finds in one namespace, and its tally there."""

    def __init__(self, table: Table, namespace: Namespace, mode: Mode, tally: NamespaceTally):
        self._store = RegistryStore(table, namespace)
        self._repairs = RegistryRepairs(table, namespace)
        self._mode = mode
        self.tally = tally

    def registered(self) -> set[str]:
        """The names the namespace's registry holds, read consistently."""
        return set(self._store.list_resources(consistent=True))

    def reconcile_unregistered(self, proofs: dict[str, str | None]) -> None:
        """Report (in backfill mode, register) resources with defaults missing from the registry."""
        if not proofs:
            return
        # Re-read so a name a concurrent set registered since the start is not reported as drift.
        registered_now = self.registered()
        missing: dict[str, str] = {}
        for name, proof in proofs.items():
            if name in registered_now:
                continue
            if proof is not None and self._mode is Mode.BACKFILL:
                missing[name] = proof  # the registration itself checks the proof still holds
                continue
            stored = self._repairs.read(name)
            if stored.has_defaults:
                missing[name] = proof or self._repairs.proof(stored)
        proofs.clear()
        if self._mode is Mode.BACKFILL:
            added = self._repairs.register_existing(missing)
            self.tally.added.add(added)
            self.tally.unregistered.add(added)
            return
        self.tally.unregistered.add(missing)

    def count_unservable(self, resource: str, proof: str | None) -> None:
        """Count a resource whose name the API cannot serve, if it has defaults."""
        if proof is not None or self._repairs.read(resource).has_defaults:
            self.tally.unservable.add([resource])

    def reconcile_registered(self, registered: set[str]) -> None:
        """Report (and in prune mode, remove) registered names that have no defaults."""
        candidates = [name for name in registered if not self._repairs.read(name).has_defaults]
        # A delete that ran since the snapshot removed its name too: that is not drift.
        still_registered = self.registered() if candidates else set()
        orphans = sorted(name for name in candidates if name in still_registered)
        if self._mode is Mode.PRUNE:
            removed = [name for name in orphans if self._repairs.unregister_if_orphaned(name)]
            self.tally.removed.add(removed)
            self.tally.registered_without_defaults.add(removed)
            return
        self.tally.registered_without_defaults.add(orphans)
