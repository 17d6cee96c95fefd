"""The API's paths (docs/contract.md section 3), built from names: each name is one percent-encoded
segment, so ``openai/gpt-4`` travels as ``openai%2Fgpt-4``.
"""

from __future__ import annotations

from urllib.parse import quote

DEFAULT_NAMESPACE = "default"

# The server's route templates; a test checks them against the server's own route table.
NAMESPACES = "/namespaces"
RESOURCES = "/resources"
DEFAULTS = "/resources/{resource}/defaults"
HISTORY = "/resources/{resource}/history"
EFFECTIVE = "/entities/{entity}/resources/{resource}/effective"
NAMESPACE_PREFIX = "/namespaces/{namespace}"


def segment(name: str) -> str:
    """``name`` as one path segment: every character but unreserved ones percent-encoded."""
    return quote(name, safe="")


def in_namespace(template: str, namespace: str, **names: str) -> str:
    """The path of a ``/resources`` route in ``namespace``; ``default`` needs no prefix, which
    the contract gives the same meaning (and every server version serves)."""
    path = template.format(**{key: segment(value) for key, value in names.items()})
    if namespace == DEFAULT_NAMESPACE:
        return path
    return NAMESPACE_PREFIX.format(namespace=segment(namespace)) + path


def resources_path(namespace: str) -> str:
    return in_namespace(RESOURCES, namespace)


def defaults_path(namespace: str, resource: str) -> str:
    return in_namespace(DEFAULTS, namespace, resource=resource)


def history_path(namespace: str, resource: str) -> str:
    return in_namespace(HISTORY, namespace, resource=resource)


def effective_path(namespace: str, entity: str, resource: str) -> str:
    return in_namespace(EFFECTIVE, namespace, entity=entity, resource=resource)
