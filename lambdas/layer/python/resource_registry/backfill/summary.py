"""What a backfill run found and did: tallies per namespace, the JSON summary, and the merge of
many runs' summaries into one (the local command's; the state machine's is the same, in JSONata).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

from resource_registry.records import MutableRecord, Record

# Names a summary shows of each kind: counts are exact, the names a sample, so that a summary
# stays far below Step Functions' 256 KB even when a first backfill adds 25,000 names.
SAMPLE_SIZE = 10


class Tally(MutableRecord):
    """The names of one kind a run found or changed in a namespace."""

    __slots__ = ("names",)
    names: list[str]

    def __init__(self, names: list[str] | None = None) -> None:
        self.names = [] if names is None else names

    def add(self, names: Iterable[str]) -> None:
        self.names += names


# The kinds of names a run counts, in the order the summary shows them.
TALLIES = (
    "resources_found",
    "added",
    "removed",
    "unregistered",
    "registered_without_defaults",
    "unservable",
)


class NamespaceTally(MutableRecord):
    """What a run found and did in one namespace."""

    __slots__ = TALLIES
    resources_found: Tally
    added: Tally
    removed: Tally
    # Drift: names with defaults missing from the registry, and registered names without any.
    unregistered: Tally
    registered_without_defaults: Tally
    # Names with defaults that zae-limiter's rule refuses (another program wrote them): never
    # registered, since the API could not read or delete them, and drift until renamed.
    unservable: Tally

    def __init__(  # noqa: PLR0917 (callers pass the fields in order)
        self,
        resources_found: Tally | None = None,
        added: Tally | None = None,
        removed: Tally | None = None,
        unregistered: Tally | None = None,
        registered_without_defaults: Tally | None = None,
        unservable: Tally | None = None,
    ) -> None:
        self.resources_found = Tally() if resources_found is None else resources_found
        self.added = Tally() if added is None else added
        self.removed = Tally() if removed is None else removed
        self.unregistered = Tally() if unregistered is None else unregistered
        self.registered_without_defaults = (
            Tally() if registered_without_defaults is None else registered_without_defaults
        )
        self.unservable = Tally() if unservable is None else unservable

    def counts(self) -> dict[str, int]:
        return {kind: len(getattr(self, kind).names) for kind in TALLIES}


# The kinds of names that are drift: each is a name the registry and the defaults disagree on.
DRIFT_KINDS = ("unregistered", "registered_without_defaults", "unservable")
# The fields a merge of many runs' summaries adds up (besides capacity, which it also rounds).
SUMMED = ("items_read", *TALLIES, "drift")


class Drift(Record):
    """Names on which a registry and its resources' defaults disagree."""

    __slots__ = ("unregistered", "registered_without_defaults", "unservable")
    unregistered: Final[list[str]]  # have defaults, not in the registry
    registered_without_defaults: Final[list[str]]
    unservable: Final[list[str]]  # have defaults, under a name the API cannot serve

    def __init__(
        self,
        unregistered: list[str],
        registered_without_defaults: list[str],
        unservable: list[str] | None = None,
    ) -> None:
        self.unregistered = unregistered
        self.registered_without_defaults = registered_without_defaults
        self.unservable = [] if unservable is None else unservable

    def __bool__(self) -> bool:
        return bool(self.unregistered or self.registered_without_defaults or self.unservable)


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
        return Drift(*(self.names(kind) for kind in DRIFT_KINDS))

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
            "drift": sum(self.total(kind) for kind in DRIFT_KINDS),
            "sample": {
                kind: self.names(kind)[:SAMPLE_SIZE]
                for kind in TALLIES
                if kind != "resources_found"
            },
            "namespaces": {name: tally.counts() for name, tally in sorted(self.namespaces.items())},
            "continuation": self.continuation,
        }


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
        "capacity_consumed": round(sum(run["capacity_consumed"] for run in runs), 1),
        **{key: sum(run[key] for run in runs) for key in SUMMED},
        "sample": {
            key: sorted({name for run in runs for name in run["sample"][key]})[:SAMPLE_SIZE]
            for key in first["sample"]
        },
        "namespaces": dict(sorted(namespaces.items())),
    }
