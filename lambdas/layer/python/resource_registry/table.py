"""The table a process serves: one object for its client, its name and its detected layout."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from resource_registry.records import Record

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from resource_registry.layouts.base import Layout


class Table(Record):
    """A zae-limiter table: how to call it, its name, and how its items are laid out.

    Made by detection (resource_registry.detection), which alone decides the layout.
    """

    __slots__ = ("client", "name", "layout")
    client: Final[DynamoDBClient]
    name: Final[str]
    layout: Final[Layout]

    def __init__(self, client: DynamoDBClient, name: str, layout: Layout) -> None:
        self.client = client
        self.name = name
        self.layout = layout
