"""Limits as the API carries them, the naming rules, and the compact text form people type.

The compact form is ``CAPACITY/PERIOD[,burst=N][,refill=N]``, e.g. ``500/1m`` or
``100000/60s,burst=150000``: CAPACITY tokens, refilled by ``refill`` tokens (default: CAPACITY)
every PERIOD, with room for ``burst`` tokens (default: CAPACITY). PERIOD is a whole number with a
unit: ``s``, ``m``, ``h`` or ``d``. On the command line a limit is ``NAME=`` followed by that.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

# docs/contract.md section 2.
RESOURCE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.\-/:]{0,63}")
LIMIT_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,63}")
RESERVED_LIMIT_NAMES = frozenset({"wcu"})
MAX_LIMITS = 40
MAX_INTEGER = 2**53 - 1

PERIOD_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}  # largest first, for formatting
COMPACT = re.compile(r"(?P<capacity>[0-9]+)/(?P<period>[0-9]+)(?P<unit>[a-z]*)(?P<options>(,.*)?)")
OPTION = re.compile(r"(?P<key>[a-z_]+)=(?P<value>[0-9]+)")
COMPACT_SYNTAX = "CAPACITY/PERIOD[,burst=N][,refill=N], e.g. 500/1m or 100000/60s,burst=150000"


class LimitSyntaxError(ValueError):
    """A limit or name that breaks the syntax or the contract's rules; the message says how."""


@dataclass(frozen=True, order=True)
class Limit:
    """One default limit, with the contract's defaults applied (burst and refill: capacity)."""

    name: str
    capacity: int
    refill_period_seconds: int
    burst: int
    refill_amount: int

    @classmethod
    def of(
        cls,
        name: str,
        capacity: int,
        refill_period_seconds: int,
        *,
        burst: int | None = None,
        refill_amount: int | None = None,
    ) -> Limit:
        """A checked limit; ``burst`` and ``refill_amount`` default to ``capacity``."""
        limit = cls(
            name=check_limit_name(name),
            capacity=capacity,
            refill_period_seconds=refill_period_seconds,
            burst=capacity if burst is None else burst,
            refill_amount=capacity if refill_amount is None else refill_amount,
        )
        for field in ("capacity", "refill_period_seconds", "burst", "refill_amount"):
            value = getattr(limit, field)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise LimitSyntaxError(f"{name}: {field} must be a whole number above 0")
            if value > MAX_INTEGER:
                raise LimitSyntaxError(f"{name}: {field} is over {MAX_INTEGER}")
        if limit.burst < limit.capacity:
            raise LimitSyntaxError(
                f"{name}: burst ({limit.burst}) must be at least capacity ({limit.capacity})"
            )
        return limit

    @classmethod
    def from_api(cls, body: Mapping[str, Any]) -> Limit:
        """A limit as the API answers it (the server checked it); 0.17 tables have no burst."""
        capacity = int(body["capacity"])
        return cls(
            name=str(body["name"]),
            capacity=capacity,
            refill_period_seconds=int(body["refill_period_seconds"]),
            burst=int(body.get("burst", capacity)),
            refill_amount=int(body.get("refill_amount", capacity)),
        )

    def to_api(self) -> dict[str, Any]:
        """The API's JSON; burst only when it differs from capacity, so tables that store none
        (zae-limiter 0.17) accept the default."""
        body: dict[str, Any] = {
            "name": self.name,
            "capacity": self.capacity,
            "refill_amount": self.refill_amount,
            "refill_period_seconds": self.refill_period_seconds,
        }
        if self.burst != self.capacity:
            body["burst"] = self.burst
        return body

    @property
    def compact(self) -> str:
        """This limit in the compact form, without its name: ``100000/1m,burst=150000``."""
        text = f"{self.capacity}/{format_period(self.refill_period_seconds)}"
        if self.burst != self.capacity:
            text += f",burst={self.burst}"
        if self.refill_amount != self.capacity:
            text += f",refill={self.refill_amount}"
        return text


def check_resource_name(name: str) -> str:
    """``name`` if it is a valid resource name (docs/contract.md section 2)."""
    if not RESOURCE_NAME.fullmatch(name):
        raise LimitSyntaxError(
            f"resource name {name[:80]!r} is not valid: 1 to 64 characters, a letter first, "
            "then letters, digits, '_', '.', '-', '/' or ':'"
        )
    return name


def check_limit_name(name: str) -> str:
    """``name`` if it is a valid limit name and not a reserved one."""
    if not isinstance(name, str) or not LIMIT_NAME.fullmatch(name):
        raise LimitSyntaxError(
            f"limit name {str(name)[:80]!r} is not valid: 1 to 64 characters, a letter first, "
            "then letters, digits, '_', '.' or '-'"
        )
    if name in RESERVED_LIMIT_NAMES:
        raise LimitSyntaxError(f"limit name {name!r} is reserved by zae-limiter")
    return name


def check_limit_set(limits: Iterable[Limit]) -> tuple[Limit, ...]:
    """A resource's whole set: 1 to 40 limits, names unique, sorted by name."""
    ordered = tuple(sorted(limits))
    if not 1 <= len(ordered) <= MAX_LIMITS:
        raise LimitSyntaxError(f"a resource has 1 to {MAX_LIMITS} limits, not {len(ordered)}")
    names = [limit.name for limit in ordered]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise LimitSyntaxError(f"limit {', '.join(map(repr, repeated))} given more than once")
    return ordered


def parse_compact(name: str, text: str) -> Limit:
    """The limit ``name`` from its compact form, e.g. ``100000/60s,burst=150000``."""
    found = COMPACT.fullmatch(text.replace(" ", ""))
    if not found:
        raise LimitSyntaxError(f"{name}: {text[:80]!r} is not {COMPACT_SYNTAX}")
    unit = found["unit"]
    if not unit:
        period = found["period"]
        raise LimitSyntaxError(
            f"{name}: the period {period} needs a unit: s, m, h or d ({period}s)"
        )
    if unit not in PERIOD_UNITS:
        raise LimitSyntaxError(f"{name}: the period's unit {unit!r} is not s, m, h or d")
    options: dict[str, int] = {}
    for option in filter(None, found["options"].split(",")):
        parsed = OPTION.fullmatch(option)
        if not parsed or parsed["key"] not in ("burst", "refill"):
            raise LimitSyntaxError(
                f"{name}: {option[:80]!r} is not an option; use burst=N or refill=N"
            )
        if parsed["key"] in options:
            raise LimitSyntaxError(f"{name}: {parsed['key']} is given twice")
        options[parsed["key"]] = int(parsed["value"])
    return Limit.of(
        name,
        int(found["capacity"]),
        int(found["period"]) * PERIOD_UNITS[unit],
        burst=options.get("burst"),
        refill_amount=options.get("refill"),
    )


def parse_named(text: str) -> Limit:
    """A limit as typed on the command line: ``NAME=CAPACITY/PERIOD[,burst=N][,refill=N]``."""
    name, equals, spec = text.partition("=")
    if not equals:
        raise LimitSyntaxError(
            f"{text[:80]!r} is not NAME=CAPACITY/PERIOD[,burst=N][,refill=N], e.g. rpm=500/1m"
        )
    return parse_compact(name.strip(), spec)


def format_period(seconds: int) -> str:
    """A period in its largest whole unit: 60 → ``1m``, 90 → ``90s``."""
    for unit, size in PERIOD_UNITS.items():
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    raise AssertionError("unreachable: every period is a whole number of seconds")
