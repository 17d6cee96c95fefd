"""Backfill, verify and prune: reconcile the registry with the limit items, one scan segment a run.

The scan reads only the key attributes and keeps only limit items. A run stops before its time
runs out and returns a continuation token that resumes exactly where it stopped (docs/contract.md
section 4).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from resource_registry import schema
from resource_registry.errors import InvalidContinuationError, InvalidInputError
from resource_registry.store import RegistryStore, call_dynamodb

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# Stop this long before the Lambda deadline: one more page plus the registry writes fit in it.
DEFAULT_SAFETY_MARGIN_MILLIS = 30_000
# Names registered (or re-checked) at once: one transaction takes 99 checks and the registry.
RECONCILE_BATCH = 99
MAX_TOTAL_SEGMENTS = 1_000_000
TOKEN_VERSION = 1


class Mode(StrEnum):
    """What a run does about the drift it finds."""

    BACKFILL = "backfill"  # register resources that have defaults but are missing
    VERIFY = "verify"  # change nothing, report drift both ways
    PRUNE = "prune"  # unregister names that have no limit items


@dataclass(frozen=True)
class BackfillRequest:
    """One invocation's share of the work: a segment, and where in it to resume."""

    mode: Mode
    segment: int = 0
    total_segments: int = 1
    start_key: dict[str, Any] | None = None
    # The resource whose items the previous run was reading when it stopped, so it is counted once.
    last_resource: str | None = None

    @classmethod
    def from_event(cls, event: object) -> BackfillRequest:
        """Parse and check the invocation event of docs/contract.md section 4."""
        if not isinstance(event, dict):
            raise InvalidInputError("the event must be a JSON object")
        unknown = sorted(set(event) - {"mode", "segment", "total_segments", "continuation"})
        if unknown:
            raise InvalidInputError(f"unknown event field(s): {', '.join(unknown)}")
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
        request = cls(mode, segment, total)
        token = event.get("continuation")
        return request if token is None else request.resumed_from(token)

    def resumed_from(self, token: object) -> BackfillRequest:
        """This request, resumed where the run that issued ``token`` stopped."""
        if not isinstance(token, str):
            raise InvalidContinuationError("continuation must be a string token or null")
        try:
            state = json.loads(base64.urlsafe_b64decode(token.encode("ascii")))
            issued_for = (state["segment"], state["total_segments"])
            start_key, last_resource = state["start_key"], state.get("last_resource")
        except (ValueError, TypeError, KeyError, binascii.Error, UnicodeError):
            raise InvalidContinuationError(
                "continuation is not a token this backfill issued"
            ) from None
        if state.get("v") != TOKEN_VERSION:
            raise InvalidContinuationError("continuation was issued by another version of this")
        if issued_for != (self.segment, self.total_segments):
            raise InvalidContinuationError(
                f"continuation belongs to segment {issued_for[0]} of {issued_for[1]}, "
                f"not segment {self.segment} of {self.total_segments}"
            )
        if not _is_key(start_key):
            raise InvalidContinuationError("continuation is not a token this backfill issued")
        return BackfillRequest(
            self.mode, self.segment, self.total_segments, start_key, last_resource
        )

    def continuation(self, start_key: dict[str, Any], last_resource: str | None) -> str:
        """A token that resumes this segment at ``start_key``."""
        state = {
            "v": TOKEN_VERSION,
            "segment": self.segment,
            "total_segments": self.total_segments,
            "start_key": start_key,
            "last_resource": last_resource,
        }
        return base64.urlsafe_b64encode(json.dumps(state).encode()).decode("ascii")


@dataclass
class Drift:
    """Names on which the registry and the limit items disagree."""

    unregistered: list[str] = field(default_factory=list)  # have limit items, not in the registry
    registered_without_defaults: list[str] = field(default_factory=list)


@dataclass
class BackfillSummary:
    """What one invocation did (docs/contract.md section 4); counts add up across invocations."""

    mode: str
    segment: int
    total_segments: int
    items_scanned: int = 0
    capacity_consumed: float = 0.0
    resources_found: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    drift: Drift = field(default_factory=Drift)
    continuation: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class RegistryReconciler:
    """Runs one invocation of backfill, verify or prune over one scan segment."""

    def __init__(
        self,
        client: DynamoDBClient,
        table_name: str,
        store: RegistryStore | None = None,
        safety_margin_millis: int = DEFAULT_SAFETY_MARGIN_MILLIS,
        page_size: int | None = None,
    ) -> None:
        self._client = client
        self._table_name = table_name
        self._store = store or RegistryStore(client, table_name)
        self._safety_margin_millis = safety_margin_millis
        self._page_size = page_size

    def run(
        self,
        request: BackfillRequest,
        remaining_millis: Callable[[], int] | None = None,
        on_page: Callable[[BackfillSummary], None] | None = None,
    ) -> BackfillSummary:
        """Scan the request's segment until it ends or time runs short, then reconcile what it saw.

        ``remaining_millis`` is the Lambda context's clock; ``on_page`` sees progress per page.
        """
        summary = BackfillSummary(request.mode.value, request.segment, request.total_segments)
        registered = set(self._store.list_resources(consistent=True))
        # Names without items are in no one segment: segment 0 checks them, once, first, while
        # the whole time budget is left (one Query per registered name, up to the registry's 25k).
        if request.segment == 0 and request.start_key is None:
            self._reconcile_registered(request.mode, registered, summary)
        # For each resource found with limits: one limit name, the evidence a registration checks.
        evidence: dict[str, str] = {}
        found: list[str] = []
        seen: set[str] = set()
        start_key, last_resource = request.start_key, request.last_resource
        while True:
            page = self._scan_page(request, start_key)
            summary.items_scanned += page.get("ScannedCount", 0)
            summary.capacity_consumed += page.get("ConsumedCapacity", {}).get("CapacityUnits", 0.0)
            for item in page.get("Items", []):
                resource = schema.resource_from_pk(item[schema.PARTITION_KEY]["S"])
                if resource is None or resource == last_resource or resource in seen:
                    continue
                last_resource = resource
                seen.add(resource)
                found.append(resource)
                if resource not in registered:
                    evidence[resource] = schema.limit_name_from_sk(item[schema.SORT_KEY]["S"])
            summary.resources_found = found
            # A transaction's worth at a time, so the work left after the last page stays small.
            while len(evidence) >= RECONCILE_BATCH:
                batch = dict(list(evidence.items())[:RECONCILE_BATCH])
                for name in batch:
                    del evidence[name]
                self._reconcile_unregistered(request.mode, batch, summary)
            if on_page:
                on_page(summary)
            start_key = page.get("LastEvaluatedKey")
            # Only a missing LastEvaluatedKey ends a segment: a filtered page can be empty.
            if start_key is None:
                break
            if remaining_millis and remaining_millis() < self._safety_margin_millis:
                summary.continuation = request.continuation(start_key, last_resource)
                break
        summary.resources_found = sorted(found)
        self._reconcile_unregistered(request.mode, evidence, summary)
        summary.added.sort()
        summary.drift.unregistered.sort()
        return summary

    def _scan_page(
        self, request: BackfillRequest, start_key: dict[str, Any] | None
    ) -> dict[str, Any]:
        scan = limit_item_scan(self._table_name, request.segment, request.total_segments)
        scan["ReturnConsumedCapacity"] = "TOTAL"
        if start_key:
            scan["ExclusiveStartKey"] = start_key
        if self._page_size:
            scan["Limit"] = self._page_size
        page: dict[str, Any] = call_dynamodb(self._client.scan, **scan)  # type: ignore[arg-type]
        return page

    def _reconcile_unregistered(
        self, mode: Mode, evidence: dict[str, str], summary: BackfillSummary
    ) -> None:
        """Report (in backfill mode, register) resources with limits missing from the registry."""
        if not evidence:
            return
        # Re-read so a name a concurrent set registered since the start is not reported as drift.
        registered_now = set(self._store.list_resources(consistent=True))
        missing = {name: limit for name, limit in evidence.items() if name not in registered_now}
        if mode is Mode.BACKFILL:
            added = self._store.register_existing(missing)
            summary.added += added
            summary.drift.unregistered += added
            return
        summary.drift.unregistered += [
            name for name in missing if self._store.read_resource(name).limits
        ]

    def _reconcile_registered(
        self, mode: Mode, registered: set[str], summary: BackfillSummary
    ) -> None:
        """Report (and in prune mode, remove) registered names that have no limit items."""
        candidates = [name for name in registered if not self._store.read_resource(name).limits]
        # A delete that ran since the snapshot removed its name too: that is not drift.
        still_registered = set(self._store.list_resources(consistent=True)) if candidates else set()
        orphans = sorted(name for name in candidates if name in still_registered)
        if mode is Mode.PRUNE:
            summary.removed = [name for name in orphans if self._store.unregister_if_orphaned(name)]
            summary.drift.registered_without_defaults = summary.removed
            return
        summary.drift.registered_without_defaults = orphans


def limit_item_scan(table_name: str, segment: int = 0, total_segments: int = 1) -> dict[str, Any]:
    """The Scan request of one segment that returns the keys of limit items and nothing else."""
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
