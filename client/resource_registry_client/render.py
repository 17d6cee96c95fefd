"""What the command prints: aligned tables and the plan for people, plain JSON for scripts."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict
from typing import Any

import click

from resource_registry_client.client import Defaults, HistoryEvent
from resource_registry_client.limits import Limit
from resource_registry_client.plan import Action, ChangeResult, LimitChange, Plan, ResourceChange

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


def plan_text(plan: Plan) -> str:
    """The plan as people review it: one block per resource, one line per changed limit."""
    lines: list[str] = []
    namespace = None
    for change in plan.changes:
        if change.namespace != namespace:
            namespace = change.namespace
            lines.append(f"namespace {namespace}")
        symbol, colour = SYMBOLS[change.action]
        lines.append(click.style(f"  {symbol} {change.action.value} {change.resource}", fg=colour))
        lines.extend(f"      {_limit_line(limit)}" for limit in change.limit_changes)
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


def plan_json(plan: Plan) -> dict[str, Any]:
    return {
        "changes": [change_json(change) for change in plan.changes],
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
