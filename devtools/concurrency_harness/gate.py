"""The gate that lets a checkpoint drain every writer and reconciler before it reads the table."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing.context import BaseContext


class Gate:
    """Writers pass it per operation; a checkpoint closes it and waits until they have drained.

    Made of multiprocessing primitives, so writer processes and reconciler threads share it.
    """

    def __init__(self, context: BaseContext) -> None:
        self._condition = context.Condition()
        self._open = context.RawValue("b", 1)
        self._active = context.RawValue("i", 0)

    @contextmanager
    def operation(self) -> Iterator[None]:
        with self._condition:
            self._condition.wait_for(lambda: bool(self._open.value))
            self._active.value += 1
        try:
            yield
        finally:
            with self._condition:
                self._active.value -= 1
                self._condition.notify_all()

    @contextmanager
    def closed(self) -> Iterator[None]:
        with self._condition:
            self._open.value = 0
            self._condition.wait_for(lambda: self._active.value == 0)
        try:
            yield
        finally:
            with self._condition:
                self._open.value = 1
                self._condition.notify_all()
