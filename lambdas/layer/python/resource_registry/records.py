"""Value records: what ``@dataclass(frozen=True)`` gave the layer, without its cost at import.

Why not dataclasses: ``@dataclass`` writes each class's ``__init__``, ``__eq__``, ``__hash__``,
``__repr__``, ``__setattr__`` and ``__delattr__`` as source text and compiles it with ``exec``,
about 0.46 ms of CPU per class on CPython 3.13 (a plain class: about 0.01 ms). Every function
defines its layer's records at import, on its cold start: for the set handler, 32M of the 122M
instructions it costs over a bare boto3 client (callgrind; issue 11 allows 1.15x that client).
A record gets the same behaviour from its ``__slots__``, with code defined once, here.

A record class lists its fields in ``__slots__``, annotates each ``Final`` (so that mypy refuses
an assignment outside ``__init__``, as it does for a frozen dataclass) and sets each in its own
typed ``__init__``, which takes them in the same order.
"""

from __future__ import annotations

from typing import Any, ClassVar


class FrozenRecordError(AttributeError):
    """A record's field was assigned twice or deleted (dataclasses' FrozenInstanceError)."""


class Record:
    """A value: equal to a record of the same class with equal fields, hashed on them, and shown
    as ``Limit(name='rpm', capacity=100, ...)``. Each field is set once, by ``__init__``.

    Fields named in ``_uncompared`` are left out of equality and the hash (dataclasses'
    ``compare=False``).
    """

    __slots__: tuple[str, ...] = ()  # the fields, in __init__'s order
    _uncompared: ClassVar[frozenset[str]] = frozenset()

    def _compared(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self.__slots__ if name not in self._uncompared)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Record) and other.__class__ is self.__class__:
            return self._compared() == other._compared()
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._compared())

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"{self.__class__.__qualname__}({shown})"

    def __setattr__(self, name: str, value: object) -> None:
        if hasattr(self, name):  # an unset slot has no value yet: __init__ is setting it
            raise FrozenRecordError(f"cannot assign to field {name!r}")
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        raise FrozenRecordError(f"cannot delete field {name!r}")


class MutableRecord(Record):
    """A record whose fields can change (a running tally): equal as a record, so unhashable.

    Its fields are annotated without ``Final``.
    """

    __slots__ = ()
    __hash__ = None  # type: ignore[assignment]

    def __setattr__(self, name: str, value: object) -> None:
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        object.__delattr__(self, name)
