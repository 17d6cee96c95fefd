"""Item sizes and write units the way DynamoDB bills them, from the item in the API's shape.

DynamoDB Local under-reports transactional writes, so what AWS would bill is computed here from
the items themselves: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/
CapacityUnitCalculations.html
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any

WRITE_UNIT_BYTES = 1024
READ_UNIT_BYTES = 4096
# A List or Map costs 3 bytes plus 1 byte per element on top of its elements' sizes.
DOCUMENT_OVERHEAD_BYTES = 3
DOCUMENT_ELEMENT_BYTES = 1


def item_size(item: Mapping[str, Mapping[str, Any]]) -> int:
    """Bytes DynamoDB counts for an item: each attribute name's length plus its value's size."""
    return sum(_utf8_length(name) + value_size(value) for name, value in item.items())


def value_size(value: Mapping[str, Any]) -> int:
    """Bytes of one attribute value in the API's typed shape, e.g. {"S": "abc"}."""
    ((type_name, content),) = value.items()
    if type_name in SCALAR_SIZES:
        return SCALAR_SIZES[type_name](content)
    if type_name in SET_ELEMENT_TYPES:
        element_size = SCALAR_SIZES[SET_ELEMENT_TYPES[type_name]]
        return sum(element_size(element) for element in content)
    if type_name == "L":
        return _document_size(value_size(element) for element in content)
    if type_name == "M":
        return _document_size(
            _utf8_length(name) + value_size(element) for name, element in content.items()
        )
    raise ValueError(f"unknown DynamoDB type {type_name!r}")


def number_size(text: str) -> int:
    """One byte per two significant digits, plus one."""
    digits = Decimal(text).normalize().as_tuple().digits
    significant = len(digits) if any(digits) else 1
    return math.ceil(significant / 2) + 1


def write_units(size: int) -> int:
    """Standard write units of writing an item of ``size`` bytes."""
    return max(1, math.ceil(size / WRITE_UNIT_BYTES))


def transactional_write_units(sizes: Iterable[int]) -> int:
    """What AWS bills a TransactWriteItems: two units per KB of each item it writes or checks."""
    return sum(2 * write_units(size) for size in sizes)


def eventually_consistent_read_units(total_bytes: int) -> float:
    """Read units of reading ``total_bytes`` in one eventually consistent request."""
    return max(1, math.ceil(total_bytes / READ_UNIT_BYTES)) / 2


def _document_size(element_sizes: Iterable[int]) -> int:
    sizes = list(element_sizes)
    return DOCUMENT_OVERHEAD_BYTES + sum(sizes) + DOCUMENT_ELEMENT_BYTES * len(sizes)


def _utf8_length(text: str) -> int:
    return len(text.encode("utf-8"))


SCALAR_SIZES: dict[str, Callable[[Any], int]] = {
    "S": _utf8_length,
    "N": number_size,
    "B": len,
    "BOOL": lambda _: 1,
    "NULL": lambda _: 1,
}
SET_ELEMENT_TYPES = {"SS": "S", "NS": "N", "BS": "B"}
