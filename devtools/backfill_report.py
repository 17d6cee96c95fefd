"""What a backfill run prints at its end: the summary as rows, and a verdict in words."""

from __future__ import annotations

from typing import Any

from resource_registry.backfill.request import Mode
from resource_registry.backfill.summary import DRIFT_KINDS


def counted(count: int, noun: str) -> str:
    """'1 item', '2 items', '1,000 items'."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def shown(count: int, sample: list[str]) -> str:
    """A count of names and, when there are any, a sample: '12: a, b, ... (first 10)'."""
    if not count:
        return "-"
    if count <= len(sample):
        return f"{count}: {', '.join(sample)}"
    return f"{count:,}: {', '.join(sample)}, ... (first {len(sample)})"


# What each mode repairs: backfill registers what is missing, prune removes what has no defaults.
REPAIRED_BY = {Mode.BACKFILL.value: "unregistered", Mode.PRUNE.value: "registered_without_defaults"}


def remaining_drift(summary: dict[str, Any]) -> dict[str, tuple[int, list[str]]]:
    """The drift still there after the run: what it found less what it repaired (all of its
    kind: a name a run finds missing it adds, a name it finds without defaults it removes)."""
    repaired = REPAIRED_BY.get(summary["mode"])
    return {
        kind: (0, []) if kind == repaired else (summary[kind], summary["sample"][kind])
        for kind in DRIFT_KINDS
    }


def summary_rows(summary: dict[str, Any]) -> dict[str, str]:
    """The summary as printed rows: counts, and for names a count and a sample."""
    samples = summary["sample"]
    rows: dict[str, str] = {}
    for key, value in summary.items():
        if key in ("sample", "namespaces", "drift", *DRIFT_KINDS):
            continue
        rows[key] = (
            shown(value, samples[key]) if key in samples else "-" if value is None else str(value)
        )
    for kind in DRIFT_KINDS:
        rows[f"drift found: {kind}"] = shown(summary[kind], samples[kind])
    if summary["mode"] != Mode.VERIFY.value:  # verify repairs nothing: all it found is left
        for kind, (count, sample) in remaining_drift(summary).items():
            rows[f"drift left: {kind}"] = shown(count, sample)
    if len(summary["namespaces"]) > 1:
        for name, counts in summary["namespaces"].items():
            rows[f"namespace {name}"] = ", ".join(f"{k} {v:,}" for k, v in counts.items())
    return rows


def verdict(summary: dict[str, Any]) -> tuple[str, bool]:
    """One line on the registry's state after the run, saying what to run next; and whether the
    registry is in sync."""
    left = {kind: count for kind, (count, _) in remaining_drift(summary).items()}
    if not any(left.values()):
        if summary["mode"] == Mode.VERIFY.value:
            return "in sync: the registry lists exactly the resources that have defaults", True
        return "in sync: no drift left", True
    parts = []
    if count := left["unregistered"]:
        has = "has" if count == 1 else "have"
        parts.append(
            f"{counted(count, 'resource')} {has} defaults but {'is' if count == 1 else 'are'} "
            "not registered (run make backfill)"
        )
    if count := left["registered_without_defaults"]:
        has = "has" if count == 1 else "have"
        parts.append(f"{counted(count, 'registered name')} {has} no defaults (run make prune)")
    if count := left["unservable"]:
        has, them = ("has", "it") if count == 1 else ("have", "them")
        names = ", ".join(remaining_drift(summary)["unservable"][1])
        more = "" if count <= len(remaining_drift(summary)["unservable"][1]) else ", ..."
        parts.append(
            f"{counted(count, 'resource')} with defaults {has} a name the API cannot serve: "
            f"{names}{more}; rename or delete {them}"
        )
    return "drift: " + "; ".join(parts), False


def print_summary(summary: dict[str, Any]) -> bool:
    """Print the rows and the verdict; whether the registry is in sync."""
    rows = summary_rows(summary)
    width = max(len(key) for key in rows)
    for key, value in rows.items():
        print(f"{key:<{width}}  {value}")
    line, in_sync = verdict(summary)
    print(f"{'verdict':<{width}}  {line}")
    return in_sync
