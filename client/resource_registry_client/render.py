"""What the command prints: aligned tables and the plan for people, plain JSON for scripts."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from typing import Any

import click

from resource_registry_client.client import Defaults, Effective, HistoryEvent
from resource_registry_client.limits import Limit, format_period
from resource_registry_client.plan import (
    Action,
    ChangeResult,
    Impact,
    LimitChange,
    Plan,
    ResourceChange,
)

SYMBOLS = {
    Action.CREATE: ("+", "green"),
    Action.UPDATE: ("~", "yellow"),
    Action.DELETE: ("-", "red"),
}


def table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """Columns aligned on the widest cell, headers first."""
    cells = [list(map(str, headers)), *([str(cell) for cell in row] for row in rows)]
    widths = [max(len(row[column]) for row in cells) for column in range(len(headers))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in cells
    )


def limits_table(limits: Iterable[Limit]) -> str:
    return table(
        ("LIMIT", "CAPACITY", "BURST", "REFILL", "PERIOD", "AS TEXT"),
        (
            (
                limit.name,
                limit.capacity,
                limit.burst,
                limit.refill_amount,
                f"{limit.refill_period_seconds}s",
                limit.compact,
            )
            for limit in limits
        ),
    )


def defaults_text(defaults: Defaults) -> str:
    return f"{defaults.resource}  ETag {defaults.etag or '-'}\n{limits_table(defaults.limits)}"


def history_table(events: Iterable[HistoryEvent]) -> str:
    return table(
        ("TIME", "ACTION", "PRINCIPAL", "LIMITS", "EVENT"),
        (
            (
                event.timestamp,
                event.action,
                event.principal or "-",
                " ".join(f"{limit.name}={limit.compact}" for limit in event.limits) or "-",
                event.event_id,
            )
            for event in events
        ),
    )


def plan_text(plan: Plan, impacts: Sequence[Impact] = ()) -> str:
    """The plan as people review it: one block per resource, one line per changed limit, and
    who each change reaches where its dry run said."""
    reach = {id(impact.change): impact for impact in impacts}
    lines: list[str] = []
    namespace = None
    for change in plan.changes:
        if change.namespace != namespace:
            namespace = change.namespace
            lines.append(f"namespace {namespace}")
        symbol, colour = SYMBOLS[change.action]
        lines.append(click.style(f"  {symbol} {change.action.value} {change.resource}", fg=colour))
        lines.extend(f"      {_limit_line(limit)}" for limit in change.limit_changes)
        if id(change) in reach:
            lines.append(f"      {_impact_line(reach[id(change)])}")
    lines.append(summary(plan))
    return "\n".join(lines)


def summary(plan: Plan) -> str:
    if not plan.has_changes:
        return f"No changes: {plan.unchanged} resource(s) already as the file says."
    counts = ", ".join(
        f"{plan.count(action)} to {action.value}"
        for action in Action
        if action is not Action.DELETE or plan.pruned
    )
    return f"Plan: {counts}; {plan.unchanged} unchanged."


def _limit_line(change: LimitChange) -> str:
    if change.before is None and change.after is not None:
        return click.style(f"+ {change.name}  {change.after.compact}", fg="green")
    if change.after is None and change.before is not None:
        return click.style(f"- {change.name}  {change.before.compact}", fg="red")
    assert change.before is not None and change.after is not None
    return click.style(
        f"~ {change.name}  {change.before.compact} -> {change.after.compact}", fg="yellow"
    )


def _impact_line(impact: Impact) -> str:
    if impact.reach is None:
        return click.style(f"reach unknown: {impact.problem}", fg="red")
    return f"reaches {impact.reach.note}"


def result_line(result: ChangeResult) -> str:
    colour = {"applied": "green", "refused": "red", "failed": "red"}[result.outcome.value]
    return click.style(result.message, fg=colour)


def limit_json(limit: Limit) -> dict[str, Any]:
    return asdict(limit)


def defaults_json(defaults: Defaults) -> dict[str, Any]:
    return {
        "resource": defaults.resource,
        "limits": [limit_json(limit) for limit in defaults.limits],
        "etag": defaults.etag,
    }


def change_json(change: ResourceChange) -> dict[str, Any]:
    return {
        "namespace": change.namespace,
        "resource": change.resource,
        "action": change.action.value,
        "etag": change.etag,
        "limits": [
            {
                "name": limit.name,
                "before": limit_json(limit.before) if limit.before else None,
                "after": limit_json(limit.after) if limit.after else None,
            }
            for limit in change.limit_changes
        ],
    }


def plan_json(plan: Plan, impacts: Sequence[Impact] = ()) -> dict[str, Any]:
    reach = {id(impact.change): impact for impact in impacts}

    def with_reach(change: ResourceChange) -> dict[str, Any]:
        document = change_json(change)
        if id(change) in reach:
            impact = reach[id(change)]
            document["reach"] = asdict(impact.reach) if impact.reach else None
            document["reach_problem"] = impact.problem
        return document

    return {
        "changes": [with_reach(change) for change in plan.changes],
        "create": plan.count(Action.CREATE),
        "update": plan.count(Action.UPDATE),
        "delete": plan.count(Action.DELETE),
        "unchanged": plan.unchanged,
    }


def result_json(result: ChangeResult) -> dict[str, Any]:
    return {
        "namespace": result.change.namespace,
        "resource": result.change.resource,
        "action": result.change.action.value,
        "outcome": result.outcome.value,
        "message": result.message,
    }


def event_json(event: HistoryEvent) -> dict[str, Any]:
    return {**asdict(event), "limits": [limit_json(limit) for limit in event.limits]}


def effective_text(effective: Effective) -> str:
    """The effective view for people: the limits with the level that decided each, the access
    flags and their levels, and what every level holds."""
    body = effective.body
    where = f"namespace {body['namespace']}"
    lines = [f"{body['entity']} on {body['resource']} ({where})  ETag {effective.etag or '-'}"]
    if body["limits"] is None:
        lines.append("limits: none (no level defines any; zae-limiter finds no limits)")
    else:
        lines.append(f"limits: from {body['source']}")
        lines.append(
            table(
                ("LIMIT", "CAPACITY", "BURST", "REFILL", "PERIOD", "LEVEL", "ALSO"),
                (
                    (
                        limit["name"],
                        limit["capacity"],
                        limit.get("burst", "-"),
                        limit["refill_amount"],
                        _period(limit["refill_period_seconds"]),
                        limit["level"],
                        _also(limit),
                    )
                    for limit in body["limits"]
                ),
            )
        )
    disabled, cascade = body["disabled"], body["cascade"]
    lines.append(f"disabled: {_flag(disabled['value'])} ({_decided(disabled['level'])})")
    if cascade["value"] is None:
        lines.append("cascade: no level sets it (the entity's own cascade flag decides)")
    else:
        lines.append(f"cascade: {_flag(cascade['value'])} ({_decided(cascade['level'])})")
    lines.append(f"on_unavailable: {body['on_unavailable'] or 'not set'}")
    lines.append("levels:")
    lines.append(
        table(
            ("  LEVEL", "HOLDS"),
            ((f"  {name}", _holds(level)) for name, level in body["levels"].items()),
        )
    )
    return "\n".join(lines)


def _period(seconds: Any) -> str:
    return format_period(seconds) if isinstance(seconds, int) else f"{seconds}s"


def _also(limit: dict[str, Any]) -> str:
    notes = []
    if limit.get("soft"):
        notes.append("soft")
    if "schedule" in limit:
        notes.append(f"scheduled ({limit.get('schedule_time_zone', 'UTC')})")
    if "reset_schedule" in limit:
        notes.append("resets on a schedule")
    if "reset_after_seconds" in limit:
        notes.append(f"window {limit['reset_after_seconds']}s")
    return ", ".join(notes) or "-"


def _flag(value: Any) -> str:
    return json.dumps(value) if isinstance(value, bool) else str(value)


def _decided(level: str | None) -> str:
    return f"set by {level}" if level else "no level sets it"


def _holds(level: dict[str, Any] | None) -> str:
    if level is None:
        return "(empty)"
    count = len(level["limits"])
    parts = [f"{count} limit{'' if count == 1 else 's'}"]
    for flag in ("disabled", "cascade", "on_unavailable"):
        if level.get(flag) is not None:
            parts.append(f"{flag} {_flag(level[flag])}")
    return ", ".join(parts)
