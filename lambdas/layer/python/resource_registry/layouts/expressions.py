"""Placeholders for DynamoDB expressions: attribute names as ``#aN``, values as ``:vN``.

Attribute names of zae-limiter's items hold characters an expression cannot spell (a limit named
``tpm-in`` is ``l_tpm-in_cp``), so every name goes through a placeholder.
"""

from __future__ import annotations

from typing import Any


class Placeholders:
    """The ExpressionAttributeNames and ExpressionAttributeValues of one request, as built."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}
        self.values: dict[str, Any] = {}

    def name(self, attribute: str) -> str:
        """The placeholder of ``attribute``, the same one each time it is asked for."""
        for placeholder, existing in self.names.items():
            if existing == attribute:
                return placeholder
        placeholder = f"#a{len(self.names)}"
        self.names[placeholder] = attribute
        return placeholder

    def value(self, value: Any) -> str:
        """A new placeholder for ``value`` (a typed value: ``{"N": "5"}``)."""
        placeholder = f":v{len(self.values)}"
        self.values[placeholder] = value
        return placeholder

    def equals(self, attribute: str, value: Any) -> str:
        """``#aN = :vN``: a condition term, or an assignment of a SET clause."""
        return f"{self.name(attribute)} = {self.value(value)}"

    def request(self) -> dict[str, Any]:
        """The request's ExpressionAttributeNames and, when any, ExpressionAttributeValues."""
        request: dict[str, Any] = {"ExpressionAttributeNames": self.names}
        if self.values:
            request["ExpressionAttributeValues"] = self.values
        return request
