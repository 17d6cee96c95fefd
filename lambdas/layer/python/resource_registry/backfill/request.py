"""The backfill's event and continuation tokens (docs/contract.md, "Backfill").

A bad event is InvalidInputError saying what is wrong; a token this backfill did not issue for the
same segment is InvalidContinuationError.
"""

from __future__ import annotations

import base64
import binascii
import json
from enum import StrEnum
from typing import Any, Final

from resource_registry.errors import InvalidContinuationError, InvalidInputError
from resource_registry.records import Record

MAX_TOTAL_SEGMENTS = 1_000_000
TOKEN_VERSION = 2
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

    @property
    def resumed_at(self) -> str | None:
        """The token this request was resumed from (as continuation() wrote it); None for a
        request that starts its segment."""
        if self.resume_namespace is None:
            return None
        return self.continuation(self.resume_namespace, self.start_key, self.last_resource)

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


def _event_integer(event: dict[str, Any], field_name: str, default: int, minimum: int) -> int:
    value = event.get(field_name, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidInputError(f"{field_name} must be an integer of at least {minimum}")
    return value


def _is_key(value: object) -> bool:
    return isinstance(value, dict) and all(
        isinstance(attribute, dict) and len(attribute) == 1 for attribute in value.values()
    )
