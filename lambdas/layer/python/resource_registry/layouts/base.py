"""What every layout answers: the contract between the service and one zae-limiter item layout.

A layout owns its items: which hold a resource's limits and how they are read; the transaction
actions that write or delete them under a condition that catches any writer that moved them since
the read; what proves a resource has defaults; where its registry, audit events and namespaces
live; and how the backfill finds its resources. The store, the audit trail, the namespace
directory and the backfill ask these questions and never which layout they talk to.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from resource_registry import schema
from resource_registry.errors import NamespaceNotFoundError, NotOnThisLayoutError
from resource_registry.layouts.stored import (
    ConfigKeys,
    ConfigLevel,
    Found,
    Item,
    StoredResource,
    StreamTarget,
)
from resource_registry.model import SOLE_NAMESPACE, Limit, Namespace

if TYPE_CHECKING:
    from resource_registry.table import Table

Action = dict[str, Any]


class Layout(ABC):
    """How one zae-limiter release lays out a table: stateless, one instance per layout."""

    name: ClassVar[str]
    # zae-limiter's version record: the partition its releases of this layout keep it in (its
    # sort key is #VERSION), and the schema_version values they write there, newest last.
    version_partition: ClassVar[str]
    schema_versions: ClassVar[tuple[str, ...]]
    # The most limits one write of a resource holds on this layout.
    max_limits: ClassVar[int]
    # Whether a resource's version keeps counting across a delete of its defaults (the flat
    # layout's version item stays; a composite item goes, so its version starts again).
    versions_survive_deletes: ClassVar[bool] = False

    # A resource's limits.

    @abstractmethod
    def read(self, table: Table, namespace: Namespace, resource: str) -> StoredResource:
        """One strongly consistent read of a resource's limits (the read a write starts from)."""

    @abstractmethod
    def parse(self, items: list[Item]) -> StoredResource:
        """What the items of a resource's partition say: its limits and version."""

    @abstractmethod
    def read_unchanging(self, table: Table, namespace: Namespace, resource: str) -> StoredResource:
        """A read that no write landed in the middle of (what GET answers with)."""

    def comparable(
        self, table: Table, namespace: Namespace, resource: str, stored: StoredResource
    ) -> StoredResource:
        """``stored``, ready for a write's condition that it is unchanged; a layout whose condition
        needs its own mark on the items first writes it here (a write, only where another writer
        wrote the items last)."""
        return stored

    @abstractmethod
    def write_actions(
        self,
        table: Table,
        namespace: Namespace,
        resource: str,
        stored: StoredResource,
        limits: Sequence[Limit],
        *,
        write_id: str,
    ) -> list[Action]:
        """The transaction actions that replace ``stored`` with ``limits``, conditioned on it;
        ``write_id`` names the write (its audit event's id)."""

    @abstractmethod
    def delete_transactions(
        self,
        table: Table,
        namespace: Namespace,
        resource: str,
        stored: StoredResource,
        *,
        reserved: int,
        write_id: str,
    ) -> list[list[Action]]:
        """The transactions that delete ``stored``; ``reserved`` more actions (the registry
        update among them) join the last one."""

    @abstractmethod
    def unchanged_check(
        self, table: Table, namespace: Namespace, resource: str, stored: StoredResource
    ) -> Action:
        """A ConditionCheck that the resource is still as ``stored`` (an orphan's removal)."""

    @abstractmethod
    def proof(self, stored: StoredResource) -> str:
        """What a registration checks still exists: one limit of a resource that has defaults."""

    @abstractmethod
    def proof_check(self, table: Table, namespace: Namespace, resource: str, proof: str) -> Action:
        """A ConditionCheck that the limit ``proof`` names still exists."""

    def check_limits(self, limits: Sequence[Limit]) -> None:
        """Refuse limits this layout cannot store as given (InvalidInputError)."""
        return  # every limit the API takes fits the layouts that keep a burst

    def shown(self, limit: Limit) -> dict[str, Any]:
        """A limit as the API and the audit events show it on this layout."""
        return limit.to_dict()

    # zae-limiter's config hierarchy (0.8 and later): what the effective view reads. A layout
    # whose releases keep no config items answers with NotOnThisLayoutError or None.

    def config_keys(self, namespace: Namespace, entity: str, resource: str) -> ConfigKeys:
        """The keys of the four config levels zae-limiter resolves ``entity``'s limits on
        ``resource`` from; NotOnThisLayoutError where they do not exist."""
        raise NotOnThisLayoutError(
            f"this table's layout ({self.name}, zae-limiter 0.6-0.7) keeps an entity's limits "
            "one item per limit and no config items, which the effective view reads (zae-limiter "
            "0.8 and later); migrate the table with zae-limiter to use it"
        )

    def config_level(self, item: Item) -> ConfigLevel:
        """What one config item of ``config_keys`` says."""
        raise NotOnThisLayoutError(f"this table's layout ({self.name}) keeps no config items")

    def system_config_key(self, namespace: Namespace) -> schema.Key | None:
        """The key of the namespace's system config (its limits for every resource without
        its own); None where the layout keeps no config items."""
        return None

    def entity_config_counts_key(self, namespace: Namespace) -> schema.Key | None:
        """The key of zae-limiter's count of entity config items per resource; None where the
        layout keeps no such count."""
        return None

    def entity_config_count(self, item: Item, resource: str) -> int:
        """How many entities have a config item for ``resource``, by the count's item."""
        return 0

    # The registry.

    def registry_key(self, namespace: Namespace) -> schema.Key:
        """The key of the namespace's registry item."""
        return schema.registry_key(namespace.prefix)

    def registry_action(
        self,
        table: Table,
        namespace: Namespace,
        verb: str,
        names: Sequence[str],
        *,
        write_id: str,
    ) -> Action:
        """ADD or DELETE names in the registry set (never an empty set: DynamoDB refuses those),
        marking the item with the write's id: a reader of the table's stream tells the service's
        changes of a registry (already consistent with the items) from anyone else's."""
        return {
            "Update": {
                "TableName": table.name,
                "Key": self.registry_key(namespace),
                "UpdateExpression": f"SET #mark = :mark {verb} #resources :names",
                "ExpressionAttributeNames": {
                    "#resources": schema.ATTR_RESOURCES,
                    "#mark": schema.ATTR_WRITE_ID,
                },
                "ExpressionAttributeValues": {
                    ":names": {"SS": list(names)},
                    ":mark": {"S": write_id},
                },
            }
        }

    # The table's stream.

    @abstractmethod
    def holds_limits(self, sort_key: str) -> bool:
        """Whether an item of a resource's partition with this sort key holds its limits (or
        moves with every write of them)."""

    def stream_target(self, keys: Item) -> StreamTarget | None:
        """What a stream record with these keys is about; None for any other item."""
        partition, sort_key = keys[schema.PARTITION_KEY]["S"], keys[schema.SORT_KEY]["S"]
        if sort_key == schema.RESOURCES_SORT_KEY and partition.endswith(schema.SYSTEM_PARTITION):
            return StreamTarget(partition.removesuffix(schema.SYSTEM_PARTITION), None)
        start = partition.find(schema.RESOURCE_PREFIX)
        if start < 0 or not self.holds_limits(sort_key):
            return None
        prefix = partition[:start]
        return StreamTarget(prefix, partition[start + len(schema.RESOURCE_PREFIX) :])

    def item_key(self, namespace: Namespace, resource: str) -> schema.Key | None:
        """The key of the one item that holds a resource's limits, where one does (it can then
        be read beside others in one request); None where they are several items."""
        return None

    def namespace_of_prefix(self, table: Table, prefix: str) -> Namespace | None:
        """The active namespace whose keys start with ``prefix``; None if none is."""
        return SOLE_NAMESPACE if prefix == SOLE_NAMESPACE.prefix else None

    def limits_change(
        self, old_image: Item | None, new_image: Item | None
    ) -> tuple[list[dict[str, Any]] | None, list[dict[str, Any]] | None] | None:
        """A change of a resource's limits one stream record shows, as the API shows limits:
        before and after (None: no defaults); None when the record changed no limit, or when
        one record cannot show a whole change on this layout."""
        return None

    # Namespaces.

    def resolve_namespace(self, table: Table, name: str) -> Namespace:
        """The active namespace called ``name``; NamespaceNotFoundError for any other name."""
        if name == schema.DEFAULT_NAMESPACE:
            return SOLE_NAMESPACE
        raise namespace_not_found(name, "this table's layout has only the namespace 'default'")

    def active_namespaces(self, table: Table) -> list[Namespace]:
        """Every active namespace, sorted by name."""
        return [SOLE_NAMESPACE]

    def namespace_checks(self, table: Table, namespace: Namespace) -> list[Action]:
        """ConditionChecks that the namespace is still the active one resolved, for every write
        that changes a registry: none where the layout has a single namespace."""
        return []

    # Audit events.

    def audit_keys(self, namespace: Namespace, partition: str) -> Item:
        """Keys an audit event carries besides PK and SK, as zae-limiter writes them."""
        return {}

    def audit_retention_key(self, namespace: Namespace) -> schema.Key | None:
        """The item whose ``audit_retention_days`` sets the namespace's audit retention; None
        where the releases of this layout keep every event the default 90 days."""
        return schema.system_config_key(namespace.prefix)

    # The backfill: how each segment finds the resources.

    def segment_namespaces(
        self, namespaces: list[Namespace], segment: int, total_segments: int
    ) -> list[Namespace]:
        """The namespaces one segment of a backfill covers (of ``namespaces``, sorted): here
        the one namespace, which a parallel Scan splits among the segments."""
        return namespaces

    def checks_registered(self, segment: int) -> bool:
        """Whether ``segment`` checks its namespaces' registered names, each checked once: names
        without items are in no scan segment, so segment 0 checks them."""
        return segment == 0

    @abstractmethod
    def resource_page(
        self,
        table: Table,
        namespace: Namespace,
        segment: int,
        total_segments: int,
        *,
        start_key: dict[str, Any] | None,
        page_size: int | None,
    ) -> dict[str, Any]:
        """One page of the items that show which resources have defaults, with ScannedCount
        and ConsumedCapacity."""

    @abstractmethod
    def found(self, namespace: Namespace, item: Item) -> Found | None:
        """The resource an item of a page belongs to and, when the item holds it, the proof it
        has defaults; None for an item that proves nothing."""


def namespace_not_found(name: str, why: str = "no such active namespace") -> NamespaceNotFoundError:
    """The error for a namespace name that resolves to nothing (the name cut for the message)."""
    shown = name if len(name) <= 80 else name[:80] + "..."
    return NamespaceNotFoundError(f"namespace {shown!r} not found: {why}")
