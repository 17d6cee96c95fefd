"""What a config item says, as zae-limiter reads it: its limits and the flags beside them."""

from __future__ import annotations

from typing import Any

from resource_registry import schema
from resource_registry.layouts.stored import ConfiguredLimit, Item
from resource_registry.model import Limit, stored_number

# What each field the API cannot represent makes of a limit, for the refusal's message.
UNREPRESENTABLE_DESCRIPTIONS = {
    "sched": "scheduled",
    "rsched": "reset on a schedule",
    "rsa": "windowed (reset_after)",
    "soft": "soft",
}


def config_limits(item: Item) -> tuple[tuple[Limit, ...], dict[str, str]]:
    """The limits on a config item, and those of them the API cannot represent (with why)."""
    limits: list[Limit] = []
    unrepresentable: dict[str, str] = {}
    item_schedule = [name for name in schema.ITEM_SCHEDULE_ATTRIBUTES if name in item]
    for name, windowed in sorted(schema.config_limit_names(item).items()):
        fields = {
            field_name: stored_number(value["N"])
            for field_name in schema.NUMBER_FIELDS
            if "N" in (value := item.get(schema.limit_attribute(name, field_name, windowed), {}))
        }
        capacity = fields.get(schema.FIELD_CAPACITY, 0)
        limits.append(
            Limit(
                name=name,
                capacity=capacity,
                burst=fields.get(schema.FIELD_BURST, capacity),
                refill_amount=fields.get(schema.FIELD_REFILL_AMOUNT, capacity),
                refill_period_seconds=fields.get(schema.FIELD_REFILL_PERIOD, 0),
            )
        )
        special = [
            field_name
            for field_name in schema.UNREPRESENTABLE_FIELDS
            if _is_set(item.get(schema.limit_attribute(name, field_name, windowed)))
        ]
        if windowed:
            unrepresentable[name] = "windowed (reset_after)"
        elif special:
            unrepresentable[name] = ", ".join(
                UNREPRESENTABLE_DESCRIPTIONS[field_name] for field_name in special
            )
        elif item_schedule:
            unrepresentable[name] = "under a resource-level schedule"
    return tuple(limits), unrepresentable


def configured(item: Item, limit: Limit, windowed: bool) -> ConfiguredLimit:
    """A limit with what zae-limiter reads beside its numbers, as it reads them."""

    def stored(field_name: str) -> dict[str, Any]:
        value: dict[str, Any] = item.get(
            schema.limit_attribute(limit.name, field_name, windowed), {}
        )
        return value

    window = stored(schema.FIELD_RESET_AFTER).get("N")
    return ConfiguredLimit(
        limit,
        soft=bool(stored(schema.FIELD_SOFT).get("BOOL", False)),
        schedule=stored(schema.FIELD_SCHEDULE).get("S") or None,
        reset_schedule=stored(schema.FIELD_RESET_SCHEDULE).get("S") or None,
        reset_after_seconds=stored_number(window) if window is not None else None,
    )


def disabled(item: Item) -> bool | str | None:
    """The access flag as zae-limiter decodes it: absent inherits, a string other than "bypass"
    reads as an explicit False (what a reader before 0.17 makes of "bypass")."""
    value = item.get(schema.ATTR_DISABLED)
    if not value:
        return None
    if value.get("S") == schema.DISABLED_BYPASS:
        return schema.DISABLED_BYPASS
    return bool(value.get("BOOL", False))


def cascade(item: Item) -> bool | None:
    """The cascade flag: absent inherits."""
    value = item.get(schema.ATTR_CASCADE)
    return bool(value.get("BOOL", False)) if value else None


def text(item: Item, attribute: str) -> str | None:
    """A string attribute; absent or empty reads as None."""
    text: str | None = item.get(attribute, {}).get("S") or None
    return text


def _is_set(value: dict[str, Any] | None) -> bool:
    return value is not None and value != {"BOOL": False}
