"""The client: one method per API route (docs/contract.md section 3), in any namespace."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from http import HTTPStatus
from typing import Any
from urllib.parse import quote, urlencode

from resource_registry_client import paths
from resource_registry_client.errors import (
    ConfigurationError,
    TransportError,
    UnexpectedResponseError,
)
from resource_registry_client.limits import Limit
from resource_registry_client.paths import DEFAULT_NAMESPACE
from resource_registry_client.signing import RequestSigner
from resource_registry_client.transport import (
    IDEMPOTENCY_KEY_HEADER,
    Response,
    RetryPolicy,
    Transport,
)
from resource_registry_client.urls import MAX_PORT, url_problem

DEFAULT_ENDPOINT = "http://127.0.0.1:3000"  # make run
ENDPOINT_VARIABLE = "RESOURCE_REGISTRY_URL"
# make run serves on 127.0.0.1:${PORT:-3000}: the same PORT finds it.
PORT_VARIABLE = "PORT"
JSON_MEDIA_TYPE = "application/json"


@dataclass(frozen=True)
class Defaults:
    """A resource's default limits, sorted by name, and the ETag they were read or written at."""

    resource: str
    limits: tuple[Limit, ...]
    etag: str | None


@dataclass(frozen=True)
class HistoryEvent:
    """One audit event: a set or a delete of a resource's defaults."""

    event_id: str
    timestamp: str
    action: str
    principal: str | None
    limits: tuple[Limit, ...]


@dataclass(frozen=True)
class HistoryPage:
    """Audit events, newest first, and the cursor of the next page (None on the last)."""

    resource: str
    events: tuple[HistoryEvent, ...]
    next_cursor: str | None


@dataclass(frozen=True)
class Effective:
    """The effective view of an entity on a resource: the API's answer as sent (``text``), the
    same parsed with every number exact (``body``), and its ETag."""

    body: dict[str, Any]
    text: str
    etag: str | None


@dataclass(frozen=True)
class Reach:
    """Who a change of a resource's defaults reaches, as a dry run answers it: entities with a
    config of their own for the resource or a ``_default_`` (None where the table keeps no
    count), whether system defaults take over without the resource's, and all that in words."""

    entity_configs: int | None
    entity_default_configs: int | None
    system_defaults: bool | None
    note: str


@dataclass(frozen=True)
class Preview:
    """A dry run's answer: the limits the write would store (None for a delete), its reach."""

    resource: str
    limits: tuple[Limit, ...] | None
    reach: Reach


def endpoint_from_environment() -> str:
    """RESOURCE_REGISTRY_URL, else the local server of ``make run`` (on PORT when it is set)."""
    return choose_endpoint(None)[0]


def choose_endpoint(endpoint: str | None, named: str = "endpoint") -> tuple[str, bool]:
    """The base URL to call: ``endpoint`` (``named`` so in messages), else RESOURCE_REGISTRY_URL,
    else the local server on PORT or 3000; and whether it is that local default. Checked before
    any request: ConfigurationError says which setting to change and how."""
    if endpoint:
        url, origin = endpoint, f"{named} {endpoint!r}"
    elif configured := os.environ.get(ENDPOINT_VARIABLE):
        url, origin = configured, f"{ENDPOINT_VARIABLE}={configured!r}"
    elif port := os.environ.get(PORT_VARIABLE):
        if not (port.isdigit() and 1 <= int(port) <= MAX_PORT):
            raise ConfigurationError(
                f"{PORT_VARIABLE}={port!r} is not a port number from 1 to {MAX_PORT}: set it "
                f"to the port make run serves on, or give the API's URL with --endpoint or "
                f"{ENDPOINT_VARIABLE}"
            )
        return f"http://127.0.0.1:{int(port)}", True
    else:
        return DEFAULT_ENDPOINT, True
    problem = url_problem(url)
    if problem is not None:
        raise ConfigurationError(
            f"{origin} {problem}: give the API's base URL, e.g. {DEFAULT_ENDPOINT} (make run) "
            "or the stack's ApiUrl"
        )
    return url, False


class RegistryClient:
    """Calls the resource registry API at ``endpoint`` (e.g. the stack's ApiUrl).

    Every request is signed with SigV4 when AWS credentials are found, and retried while the API
    answers that it may succeed later. Errors are the typed exceptions of ``errors``; a URL that
    cannot be called is a ConfigurationError here, before any request.
    """

    def __init__(
        self,
        endpoint: str | None = None,
        *,
        signer: RequestSigner | None = None,
        retry: RetryPolicy | None = None,
        timeout: float = 30.0,
        endpoint_name: str = "endpoint",
    ) -> None:
        # Nothing named an endpoint: a failure to connect most likely means make run is not up.
        url, self.is_local_default = choose_endpoint(endpoint, endpoint_name)
        self.endpoint = url.rstrip("/")
        self.transport = Transport(signer or RequestSigner(), retry, timeout)

    def list_namespaces(self) -> list[str]:
        """The active namespaces, sorted (``["default"]`` on tables without namespaces)."""
        response = self._call("GET", paths.NAMESPACES)
        with reading(response):
            return [str(name) for name in response.json()["namespaces"]]

    def list_resources(
        self, namespace: str = DEFAULT_NAMESPACE, *, consistent: bool = False
    ) -> list[str]:
        """The resources that have defaults in ``namespace``, sorted."""
        query = {"consistent": "true"} if consistent else {}
        response = self._call("GET", paths.resources_path(namespace), query)
        with reading(response):
            return [str(name) for name in response.json()["resources"]]

    def get_defaults(self, resource: str, namespace: str = DEFAULT_NAMESPACE) -> Defaults:
        """The resource's defaults and ETag; NotFoundError when it has none."""
        return _defaults(self._call("GET", paths.defaults_path(namespace, resource)))

    def get_defaults_if_changed(
        self, resource: str, etag: str, namespace: str = DEFAULT_NAMESPACE
    ) -> Defaults | None:
        """The resource's defaults, or None if they are still at ``etag`` (a 304)."""
        path = paths.defaults_path(namespace, resource)
        response = self._call("GET", path, headers={"If-None-Match": etag})
        return None if response.status == HTTPStatus.NOT_MODIFIED else _defaults(response)

    def set_defaults(
        self,
        resource: str,
        limits: Iterable[Limit],
        namespace: str = DEFAULT_NAMESPACE,
        *,
        if_match: str | None = None,
        create_only: bool = False,
        idempotency_key: str | None = None,
    ) -> Defaults:
        """Replace the resource's whole set of limits. ``if_match``: only if still at that ETag;
        ``create_only``: only if it has no defaults (``If-None-Match: *``). Either way a 412
        (PreconditionFailedError) means nothing changed. ``idempotency_key`` (a new one per call
        by default) makes every retry of this change, after a 5xx or a timeout, answer what the
        change did instead of applying it twice."""
        path = paths.defaults_path(namespace, resource)
        headers, body = _set_request(limits, if_match, create_only)
        headers.update(_idempotent(idempotency_key))
        return _defaults(self._call("PUT", path, headers=headers, body=body))

    def preview_set_defaults(
        self,
        resource: str,
        limits: Iterable[Limit],
        namespace: str = DEFAULT_NAMESPACE,
        *,
        if_match: str | None = None,
        create_only: bool = False,
    ) -> Preview:
        """What ``set_defaults`` would write and who it reaches (``?dry_run=true``): the same
        checks and errors, nothing written."""
        path = paths.defaults_path(namespace, resource)
        headers, body = _set_request(limits, if_match, create_only)
        return _preview(self._call("PUT", path, DRY_RUN, headers=headers, body=body))

    def preview_delete_defaults(
        self, resource: str, namespace: str = DEFAULT_NAMESPACE, *, if_match: str | None = None
    ) -> Preview:
        """Who deleting the resource's defaults would reach; nothing deleted."""
        headers = {"If-Match": if_match} if if_match is not None else {}
        path = paths.defaults_path(namespace, resource)
        return _preview(self._call("DELETE", path, DRY_RUN, headers=headers))

    def explain(self, entity: str, resource: str, namespace: str = DEFAULT_NAMESPACE) -> Effective:
        """The limits zae-limiter applies to ``entity`` on ``resource``, and why."""
        response = self._call("GET", paths.effective_path(namespace, entity, resource))
        with reading(response):
            body = json.loads(response.body, parse_float=Decimal)
            if not isinstance(body, dict) or "levels" not in body:
                raise ValueError("no 'levels' in the answer")
            return Effective(body, response.body.decode(), response.headers.get("etag"))

    def delete_defaults(
        self,
        resource: str,
        namespace: str = DEFAULT_NAMESPACE,
        *,
        if_match: str | None = None,
        idempotency_key: str | None = None,
    ) -> None:
        """Delete the resource's defaults; NotFoundError if it has none. ``idempotency_key`` as
        for set_defaults."""
        headers = _idempotent(idempotency_key)
        if if_match is not None:
            headers["If-Match"] = if_match
        self._call("DELETE", paths.defaults_path(namespace, resource), headers=headers)

    def history(
        self,
        resource: str,
        namespace: str = DEFAULT_NAMESPACE,
        *,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> HistoryPage:
        """One page of the resource's audit events, newest first."""
        query: dict[str, str] = {}
        if limit is not None:
            query["limit"] = str(limit)
        if cursor is not None:
            query["cursor"] = cursor
        response = self._call("GET", paths.history_path(namespace, resource), query)
        with reading(response):
            body = response.json()
            return HistoryPage(
                resource=body["resource"],
                events=tuple(_event(event) for event in body["events"]),
                next_cursor=body.get("next_cursor"),
            )

    def iter_history(
        self, resource: str, namespace: str = DEFAULT_NAMESPACE, *, page_size: int | None = None
    ) -> Iterator[HistoryEvent]:
        """Every audit event of the resource, newest first, page by page."""
        cursor: str | None = None
        while True:
            page = self.history(resource, namespace, limit=page_size, cursor=cursor)
            yield from page.events
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def url(self, path: str, query: Mapping[str, str] | None = None) -> str:
        """The full URL of an API path (percent-encoded already) under the endpoint."""
        # %20, not '+', for a space: SigV4's canonical query string encodes it so.
        encoded = urlencode(query, quote_via=quote) if query else ""
        return self.endpoint + path + (f"?{encoded}" if encoded else "")

    def _call(
        self,
        method: str,
        path: str,
        query: Mapping[str, str] | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
    ) -> Response:
        all_headers = {"Accept": JSON_MEDIA_TYPE, **(headers or {})}
        try:
            return self.transport.send(method, self.url(path, query), all_headers, body)
        except TransportError as error:
            if not self.is_local_default:
                raise
            raise TransportError(
                f"{error}; is the local server running (make run)? "
                f"Else give the API's URL with --endpoint or {ENDPOINT_VARIABLE}"
            ) from None


@contextmanager
def reading(response: Response) -> Iterator[None]:
    """Turns a body that is not the API's shape into one clear error."""
    try:
        yield
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise UnexpectedResponseError(
            f"the endpoint answered {response.status} with a body this API never sends "
            f"({type(error).__name__}: {error}); is the endpoint URL right?"
        ) from None


DRY_RUN = {"dry_run": "true"}


def _set_request(
    limits: Iterable[Limit], if_match: str | None, create_only: bool
) -> tuple[dict[str, str], bytes]:
    """The headers and body of a PUT of ``limits``."""
    if if_match is not None and create_only:
        raise ValueError("if_match and create_only exclude each other")
    headers = {"Content-Type": JSON_MEDIA_TYPE}
    if if_match is not None:
        headers["If-Match"] = if_match
    if create_only:
        headers["If-None-Match"] = "*"
    return headers, json.dumps({"limits": [limit.to_api() for limit in limits]}).encode()


def _preview(response: Response) -> Preview:
    with reading(response):
        body = response.json()
        reach = body["reach"]
        limits = body["limits"]
        return Preview(
            resource=body["resource"],
            limits=None
            if limits is None
            else tuple(sorted(Limit.from_api(limit) for limit in limits)),
            reach=Reach(
                entity_configs=reach["entity_configs"],
                entity_default_configs=reach["entity_default_configs"],
                system_defaults=reach["system_defaults"],
                note=str(reach["note"]),
            ),
        )


def _defaults(response: Response) -> Defaults:
    with reading(response):
        body = response.json()
        limits = tuple(sorted(Limit.from_api(limit) for limit in body["limits"]))
        return Defaults(body["resource"], limits, response.headers.get("etag"))


def _event(body: Mapping[str, Any]) -> HistoryEvent:
    return HistoryEvent(
        event_id=body["event_id"],
        timestamp=body["timestamp"],
        action=body["action"],
        principal=body.get("principal"),
        limits=tuple(sorted(Limit.from_api(limit) for limit in body.get("limits") or [])),
    )


def _idempotent(key: str | None) -> dict[str, str]:
    """The Idempotency-Key header of one change: ``key``, or a new one."""
    return {IDEMPOTENCY_KEY_HEADER: key if key is not None else str(uuid.uuid4())}
