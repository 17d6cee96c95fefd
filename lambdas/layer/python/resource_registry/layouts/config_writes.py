"""A config item's write: what it keeps of the item it replaces, and that the item is as read."""

from __future__ import annotations

from resource_registry import schema
from resource_registry.layouts.expressions import Placeholders
from resource_registry.layouts.stored import Item

# Written by every write of ours: a write never keeps them from the item it replaces.
_REWRITTEN = frozenset(
    {
        schema.PARTITION_KEY,
        schema.SORT_KEY,
        schema.ATTR_RESOURCE,
        schema.ATTR_CONFIG_VERSION,
        schema.ATTR_WRITE_ID,
        schema.GSI4_PARTITION_KEY,
        schema.GSI4_SORT_KEY,
    }
)


def kept(item: Item) -> Item:
    """What a write keeps of the item it replaces: every attribute not of the limits and not
    rewritten (``disabled``, ``cascade``, and any the service does not know)."""
    return {
        attribute: value
        for attribute, value in item.items()
        if attribute not in _REWRITTEN and not schema.is_limits_attribute(attribute)
    }


def unchanged(placeholders: Placeholders, item: Item) -> str:
    """The condition that a config item is still as read: absent, or carrying the same write
    mark (zae-limiter's writes of limits rewrite the whole item, which drops it), with the
    attributes a write keeps, which zae-limiter changes in place, unchanged too.

    An item without a mark (``comparable`` marks every item a write replaces) is compared
    attribute by attribute: the prune's check of a config item without limits.
    """
    if not item:
        return f"attribute_not_exists({placeholders.name(schema.PARTITION_KEY)})"
    if schema.ATTR_WRITE_ID in item:
        terms = [placeholders.equals(schema.ATTR_WRITE_ID, item[schema.ATTR_WRITE_ID])]
        terms += [placeholders.equals(attribute, value) for attribute, value in kept(item).items()]
    else:
        terms = [f"attribute_not_exists({placeholders.name(schema.ATTR_WRITE_ID)})"]
        terms += [
            placeholders.equals(attribute, value)
            for attribute, value in sorted(item.items())
            if attribute not in (schema.PARTITION_KEY, schema.SORT_KEY)
        ]
    terms += [
        f"attribute_not_exists({placeholders.name(attribute)})"
        for attribute in schema.IN_PLACE_ATTRIBUTES
        if attribute not in item
    ]
    return " AND ".join(terms)


def canonical(item: Item) -> Item:
    """An item comparable with another read of it: set members in order (DynamoDB keeps none)."""
    return {
        attribute: {kind: sorted(members) if kind in ("SS", "NS", "BS") else members}
        for attribute, value in item.items()
        for kind, members in value.items()
    }
