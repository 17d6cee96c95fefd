"""A full registry: DynamoDB Local enforces the 400 KB item limit on the registry item.

The registry's capacity is measured by writing the registry item directly (a binary search on the
number of names), then confirmed through the store and the handler: the next name is refused with
a 4xx naming the limit, and the table is unchanged.
"""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from resource_registry import schema
from resource_registry.errors import RegistryFullError
from resource_registry.model import Limit
from tests.conftest import Table, api_call

pytestmark = pytest.mark.integration

ITEM_LIMIT_BYTES = 400 * 1024
# DynamoDB sizes an item as its attribute names plus values; a string set as its strings' bytes.
REGISTRY_OVERHEAD_BYTES = sum(
    map(len, ["PK", schema.SYSTEM_PARTITION, "SK", schema.RESOURCES_SORT_KEY, "resources"])
)
# Every write of the service marks the registry with its id (a ULID): the names get what is left.
WRITE_MARK = {schema.ATTR_WRITE_ID: {"S": "0" * 26}}
MARKED_OVERHEAD_BYTES = REGISTRY_OVERHEAD_BYTES + len(schema.ATTR_WRITE_ID) + 26
RPM = Limit("rpm", 100, 100, 100, 60)


def names(count: int, length: int, first: str = "r") -> list[str]:
    """``count`` distinct valid resource names of exactly ``length`` characters."""
    return [f"{first}{index:0{length - 1}d}" for index in range(count)]


def write_registry(table: Table, resources: list[str], *, marked: bool = False) -> bool:
    """Write the registry item directly (``marked`` as the service leaves it); False when
    DynamoDB refuses it as too large."""
    mark = WRITE_MARK if marked else {}
    try:
        table.put_raw({**schema.registry_key(), schema.ATTR_RESOURCES: {"SS": resources}, **mark})
    except ClientError as error:
        if "item size" not in str(error).lower():
            raise
        return False
    return True


def measure_capacity(table: Table, length: int) -> int:
    """The most names of ``length`` characters the registry item holds: a binary search."""
    fits, refused = 0, ITEM_LIMIT_BYTES // length + 1  # every name costs at least its length
    while refused - fits > 1:
        middle = (fits + refused) // 2
        if write_registry(table, names(middle, length)):
            fits = middle
        else:
            refused = middle
    return fits


@pytest.mark.parametrize("length", [64, 16])
def test_the_registry_capacity_is_measured_and_the_next_name_is_refused_by_the_store(
    local_table: Table, length: int
) -> None:
    capacity = measure_capacity(local_table, length)
    print(f"registry capacity: {capacity:,} names of {length} characters")
    assert capacity == (ITEM_LIMIT_BYTES - REGISTRY_OVERHEAD_BYTES) // length

    assert write_registry(local_table, names(capacity, length))
    before = local_table.items()
    with pytest.raises(RegistryFullError, match="400 KB"):
        local_table.store.set_defaults("z" * length, [RPM])
    assert local_table.items() == before


@pytest.fixture
def full_registry(local_table: Table) -> Table:
    """A registry holding "kept" (with defaults) and 64-character names up to its capacity."""
    local_table.store.set_defaults("kept", [RPM])
    room = ITEM_LIMIT_BYTES - MARKED_OVERHEAD_BYTES - len("kept")
    assert write_registry(local_table, ["kept", *names(room // 64, 64)], marked=True)
    return local_table


def test_given_a_full_registry_when_a_new_name_is_set_then_409_names_the_limit_and_nothing_changes(
    full_registry: Table,
) -> None:
    before = full_registry.items()
    response = api_call("PUT", f"/resources/{'z' * 64}/defaults", body={"limits": [RPM.to_dict()]})
    assert response["statusCode"] == 409
    assert response["json"]["code"] == "RegistryFull"
    assert "400 KB" in response["json"]["message"]
    assert full_registry.items() == before


def test_given_a_full_registry_a_name_that_fits_the_last_bytes_is_accepted_and_one_more_is_not(
    full_registry: Table,
) -> None:
    room = ITEM_LIMIT_BYTES - MARKED_OVERHEAD_BYTES - len("kept")
    left = room % 64  # bytes the 64-character names leave free
    assert left > 1
    limits = {"limits": [RPM.to_dict()]}
    refused = api_call("PUT", f"/resources/{'y' * (left + 1)}/defaults", body=limits)
    assert (refused["statusCode"], refused["json"]["code"]) == (409, "RegistryFull")
    assert api_call("PUT", f"/resources/{'x' * left}/defaults", body=limits)["statusCode"] == 200
    assert "x" * left in full_registry.registry()


def test_given_a_full_registry_registered_resources_can_still_be_set_and_deleted(
    full_registry: Table,
) -> None:
    limits = {"limits": [RPM.to_dict()]}
    path = "/resources/kept/defaults"
    # Exactly the free bytes plus those "kept" holds: it fits only once "kept" is gone.
    newcomer = "k" * ((ITEM_LIMIT_BYTES - MARKED_OVERHEAD_BYTES) % 64)
    assert len(newcomer) > len("kept")
    assert api_call("PUT", f"/resources/{newcomer}/defaults", body=limits)["statusCode"] == 409

    replaced = api_call("PUT", path, body={"limits": [{**RPM.to_dict(), "capacity": 5}]})
    assert replaced["statusCode"] == 200
    assert api_call("DELETE", path)["statusCode"] == 204
    assert "kept" not in full_registry.registry()
    assert api_call("PUT", f"/resources/{newcomer}/defaults", body=limits)["statusCode"] == 200
