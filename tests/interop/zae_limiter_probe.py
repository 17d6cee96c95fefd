"""Drive a released zae-limiter package through its public API, JSON in and JSON out.

Run by the python of a zae-limiter virtualenv (``.venv-zae-limiter/<version>/bin/python``),
never by the project's: it imports nothing from this repository and works on zae-limiter
0.6.0, 0.9.1 and 0.17.0. It reads one request, or a list of requests, from stdin and prints
one result, or a list of results in the same order, on stdout:

    {"op": "set_resource_defaults", "resource": "openai/gpt-4", "namespace": "default",
     "limits": [{"name": "rpm", "capacity": 100, "refill_amount": 100,
                 "refill_period_seconds": 60}]}
    -> {"result": null}   or   {"error": "InvalidNameError", "message": "..."}

With ``--lines`` it stays up instead: each line of stdin is one such document, answered by one
line on stdout as soon as it is done, until stdin closes (one interpreter start for a whole test).

Connection: ``endpoint_url``, ``region`` and ``table_name`` in a request, else the environment
(``AWS_ENDPOINT_URL_DYNAMODB``, ``AWS_REGION``, ``TABLE_NAME``). zae-limiter 0.6 names the table
``ZAEL-{name}``: give a table name that starts with ``ZAEL-`` to use one name on every version.

Operations (``OPERATIONS`` below): version, create_table, open, get_version_record,
set_version_record, register_namespace, list_namespaces, delete_namespace, purge_namespace,
set_system_defaults, delete_system_defaults, set_resource_defaults, get_resource_defaults,
delete_resource_defaults, list_resources_with_defaults, get_resource_disabled,
get_resource_cascade, get_audit_events, set_audit_retention_days, create_entity, set_limits,
set_entity_disabled, set_entity_cascade, list_resources_with_entity_configs, resolve (its own
resolution of an entity's limits and access on a resource), time_set_resource_defaults and
time_resolve (for benchmarks).
A limit is ``{name, capacity, burst?, refill_amount?, refill_period_seconds}``; on 0.17 also
``schedule``, ``reset_schedule``, ``reset_after_seconds`` and ``soft`` as zae-limiter's own
``Limit.to_dict`` spells them. ``set_resource_defaults`` and ``delete_resource_defaults`` take
``"interrupted": true``: the write stops before its registry update, as a crash between
zae-limiter's calls leaves it (the answer is the error InterruptedWriteError). Numbers arrive as
JSON gives them to Python, as an application
passes them: ``1.5`` is a float, stored by zae-limiter as ``str(1.5)``. Versions before 0.10 have
one namespace, ``default``, and no ``disabled`` or ``cascade``.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import os
import sys
import warnings
from importlib import metadata
from typing import Any

import zae_limiter
from zae_limiter import Limit, RateLimiter, Repository

# zae-limiter 0.17 warns that Repository(...) is deprecated in favour of open()/builder(); the
# probe needs a repository over a table it did not deploy, which only the constructor gives.
warnings.simplefilter("ignore", DeprecationWarning)

# The distribution's version: zae-limiter 0.6.0's own __version__ says "0.0.0+unknown".
VERSION = metadata.version("zae-limiter")
NAMESPACED = tuple(int(part) for part in VERSION.split(".")[:2]) >= (0, 10)
HAS_BURST = "burst" in inspect.signature(Limit).parameters
DEFAULT_NAMESPACE = "default"


class ProbeError(Exception):
    """A request the probe cannot carry out on this zae-limiter version."""


class UnsupportedOperationError(ProbeError):
    """The operation does not exist in this zae-limiter version."""


class Session:
    """Repositories over one endpoint, opened once per process and closed at the end."""

    def __init__(self) -> None:
        self._bases: dict[tuple[str | None, str | None, str], Any] = {}

    @staticmethod
    def connection(request: dict[str, Any]) -> tuple[str | None, str | None, str]:
        endpoint = request.get("endpoint_url") or os.environ.get("AWS_ENDPOINT_URL_DYNAMODB")
        region = (
            request.get("region")
            or os.environ.get("AWS_REGION")
            or os.environ.get("AWS_DEFAULT_REGION")
        )
        table = request.get("table_name") or os.environ.get("TABLE_NAME")
        if not table:
            raise ProbeError("no table: give table_name in the request or TABLE_NAME")
        return endpoint, region, table

    def base(self, request: dict[str, Any]) -> Any:
        """The unscoped repository of the request's table (0.17: namespace id ``default``)."""
        key = self.connection(request)
        if key not in self._bases:
            endpoint, region, table = key
            self._bases[key] = Repository(name=table, region=region, endpoint_url=endpoint)
        return self._bases[key]

    async def repository(self, request: dict[str, Any]) -> Any:
        """The repository for the request's namespace, resolved as zae-limiter resolves it."""
        namespace = request.get("namespace") or DEFAULT_NAMESPACE
        base = self.base(request)
        if not NAMESPACED:
            if namespace != DEFAULT_NAMESPACE:
                raise UnsupportedOperationError(
                    f"zae-limiter {VERSION} has no namespaces (asked for {namespace!r})"
                )
            return base
        # Repository.namespace() resolves the name through `_/SYSTEM#` `#NAMESPACE#{name}`
        # and raises NamespaceNotFoundError for unknown, deleted or purging namespaces.
        return await base.namespace(namespace)

    async def close(self) -> None:
        for repository in self._bases.values():
            await repository.close()


def to_limit(data: dict[str, Any]) -> Any:
    """A zae-limiter Limit from the probe's JSON form."""
    fields = dict(data)
    fields.setdefault("refill_amount", fields.get("capacity"))
    if HAS_BURST:
        fields.setdefault("burst", fields.get("capacity"))
        return Limit(
            name=fields["name"],
            capacity=fields["capacity"],
            burst=fields["burst"],
            refill_amount=fields["refill_amount"],
            refill_period_seconds=fields["refill_period_seconds"],
        )
    burst = fields.pop("burst", fields["capacity"])
    if burst != fields["capacity"]:
        raise ProbeError(f"zae-limiter {VERSION} has no burst: got burst {burst}")
    return Limit.from_dict(fields)


def from_limit(limit: Any) -> dict[str, Any]:
    return dict(limit.to_dict())


async def op_version(session: Session, request: dict[str, Any]) -> Any:
    return {"version": VERSION, "module_version": zae_limiter.__version__, "pid": os.getpid()}


async def op_create_table(session: Session, request: dict[str, Any]) -> Any:
    """Repository.create_table(): the table and its indexes, and no items."""
    await session.base(request).create_table()
    return session.base(request).table_name


async def op_open(session: Session, request: dict[str, Any]) -> Any:
    """What a first application start writes into an existing table.

    0.6-0.9: entering ``RateLimiter`` (version check, which writes the version record when
    missing). 0.10+: ``Repository.open()`` (registers ``default``, writes the version record).
    """
    endpoint, region, table = session.connection(request)
    if NAMESPACED:
        # On a table without a version record, open() asks Lambda whether the stack's functions
        # exist; against DynamoDB Local that question fails and botocore retries it with backoff
        # for about 12 s before open() records the Lambda version as unknown. One attempt gives
        # the same answer at once.
        chosen_by_caller = "AWS_MAX_ATTEMPTS" in os.environ
        os.environ.setdefault("AWS_MAX_ATTEMPTS", "1")
        try:
            repository = await Repository.open(
                request.get("namespace"), stack=table, region=region, endpoint_url=endpoint
            )
        finally:
            if not chosen_by_caller:
                del os.environ["AWS_MAX_ATTEMPTS"]
        try:
            return {"namespace_id": repository.namespace_id}
        finally:
            await repository.close()
    async with RateLimiter(repository=session.base(request)):
        pass
    return None


async def op_get_version_record(session: Session, request: dict[str, Any]) -> Any:
    return await session.base(request).get_version_record()


async def op_set_version_record(session: Session, request: dict[str, Any]) -> Any:
    """Repository.set_version_record(): e.g. to claim Lambdas new enough for soft limits."""
    await session.base(request).set_version_record(
        schema_version=request["schema_version"],
        lambda_version=request.get("lambda_version"),
        client_min_version=request.get("client_min_version", "0.0.0"),
        updated_by=request.get("updated_by"),
    )


async def op_register_namespace(session: Session, request: dict[str, Any]) -> Any:
    if not NAMESPACED:
        raise UnsupportedOperationError(f"zae-limiter {VERSION} has no namespaces")
    return await session.base(request).register_namespace(request["name"])


async def op_list_namespaces(session: Session, request: dict[str, Any]) -> Any:
    if not NAMESPACED:
        raise UnsupportedOperationError(f"zae-limiter {VERSION} has no namespaces")
    return await session.base(request).list_namespaces()


async def op_delete_namespace(session: Session, request: dict[str, Any]) -> Any:
    """Repository.delete_namespace(): a soft delete (forward item gone, reverse ``deleted``)."""
    if not NAMESPACED:
        raise UnsupportedOperationError(f"zae-limiter {VERSION} has no namespaces")
    await session.base(request).delete_namespace(request["name"])


async def op_purge_namespace(session: Session, request: dict[str, Any]) -> Any:
    """Repository.purge_namespace(id): deletes what GSI4 finds under a deleted namespace's id."""
    if not NAMESPACED:
        raise UnsupportedOperationError(f"zae-limiter {VERSION} has no namespaces")
    await session.base(request).purge_namespace(request["namespace_id"])


async def op_set_system_defaults(session: Session, request: dict[str, Any]) -> Any:
    """Repository.set_system_defaults(): limits for every resource, in the system config."""
    repository = await session.repository(request)
    options = {}
    if request.get("on_unavailable") is not None:
        options["on_unavailable"] = request["on_unavailable"]
    await repository.set_system_defaults(
        [to_limit(limit) for limit in request["limits"]],
        principal=request.get("principal"),
        **options,
    )


class InterruptedWriteError(Exception):
    """The probe stopped zae-limiter's write before its registry update (``interrupted``)."""


async def interrupting(repository: Any, request: dict[str, Any]) -> Any:
    """With ``"interrupted": true``, the repository's client fails zae-limiter's update of the
    registry item before it is sent, as a crash, a throttle or a timeout between its calls
    would: the write stops after its own item, as zae-limiter leaves it. Returns an undo."""
    if not request.get("interrupted"):
        return lambda: None
    client = await repository._get_client()

    def stop_at_the_registry(params: dict[str, Any], **_: Any) -> None:
        if params.get("Key", {}).get("SK", {}).get("S") == "#RESOURCES":
            raise InterruptedWriteError("stopped before the registry update")

    client.meta.events.register("provide-client-params.dynamodb.UpdateItem", stop_at_the_registry)
    return lambda: client.meta.events.unregister(
        "provide-client-params.dynamodb.UpdateItem", stop_at_the_registry
    )


async def op_delete_system_defaults(session: Session, request: dict[str, Any]) -> Any:
    repository = await session.repository(request)
    await repository.delete_system_defaults()


async def op_create_entity(session: Session, request: dict[str, Any]) -> Any:
    """Repository.create_entity(): an entity's META item, with its parent and cascade flag."""
    repository = await session.repository(request)
    await repository.create_entity(
        request["entity_id"],
        parent_id=request.get("parent_id"),
        cascade=request.get("cascade", False),
    )


async def op_set_limits(session: Session, request: dict[str, Any]) -> Any:
    """Repository.set_limits(): an entity's config for one resource (``_default_``: all)."""
    repository = await session.repository(request)
    options: dict[str, Any] = {}
    for flag in ("disabled", "cascade"):
        if flag in request:
            if not NAMESPACED:
                raise UnsupportedOperationError(f"zae-limiter {VERSION} has no {flag} flag")
            options[flag] = request[flag]
    await repository.set_limits(
        request["entity_id"],
        [to_limit(limit) for limit in request["limits"]],
        resource=request.get("resource", "_default_"),
        **options,
    )


async def op_set_entity_disabled(session: Session, request: dict[str, Any]) -> Any:
    """An entity's access flag for one resource (none: ``_default_``) through the method an
    operator calls: disable_entity (true), enable_entity (false), bypass_entity ("bypass")."""
    if not NAMESPACED:
        raise UnsupportedOperationError(f"zae-limiter {VERSION} has no disabled flag")
    repository = await session.repository(request)
    method = {True: "disable_entity", False: "enable_entity", "bypass": "bypass_entity"}
    await getattr(repository, method[request["value"]])(
        request["entity_id"], resource=request.get("resource")
    )


async def op_set_entity_cascade(session: Session, request: dict[str, Any]) -> Any:
    if not NAMESPACED:
        raise UnsupportedOperationError(f"zae-limiter {VERSION} has no cascade policy")
    repository = await session.repository(request)
    await repository.set_entity_cascade(
        request["entity_id"], request["cascade"], resource=request.get("resource")
    )


async def op_list_resources_with_entity_configs(session: Session, request: dict[str, Any]) -> Any:
    repository = await session.repository(request)
    return await repository.list_resources_with_entity_configs()


def resolved_limit(limit: Any) -> dict[str, Any]:
    """A resolved limit as to_dict gives it, its schedules also in their compact stored form."""
    shown = dict(limit.to_dict())
    if getattr(limit, "schedule", ()):
        from zae_limiter import schedule

        shown["schedule_compact"] = schedule.encode(limit.schedule)[0]
        shown["schedule_tz"] = limit.schedule[0].tz
    if getattr(limit, "reset_schedule", ()):
        from zae_limiter import schedule

        shown["reset_schedule_compact"] = schedule.encode_reset(limit.reset_schedule)[0]
        shown["schedule_tz"] = limit.reset_schedule[0].tz
    return shown


async def op_resolve(session: Session, request: dict[str, Any]) -> Any:
    """zae-limiter's own resolution for an entity on a resource, read fresh: resolve_limits
    (limits, on_unavailable, the deciding level) and, from 0.17, resolve_access."""
    repository = await session.repository(request)
    await repository.invalidate_config_cache()
    entity, resource = request["entity_id"], request["resource"]
    limits, on_unavailable, source = await repository.resolve_limits(entity, resource)
    answer: dict[str, Any] = {
        "limits": None if limits is None else [resolved_limit(limit) for limit in limits],
        "on_unavailable": on_unavailable,
        "source": source,
    }
    if hasattr(repository, "resolve_access"):
        access = await repository.resolve_access(entity, resource, consistent_read=True)
        answer["access"] = {
            "disabled": access.disabled,
            "disabled_level": access.disabled_level,
            "bypass": access.bypass,
            "cascade": access.cascade,
            "cascade_level": access.cascade_level,
        }
    return answer


async def op_time_resolve(session: Session, request: dict[str, Any]) -> Any:
    """Milliseconds of each of ``count`` resolutions (resolve_limits then resolve_access, both
    uncached), after ``warmup`` untimed ones, and the DynamoDB calls and read units one costs.

    For benchmarks: the config cache is emptied before each, outside the timing, so every
    resolution reads DynamoDB as the effective view does.
    """
    import time

    repository = await session.repository(request)
    entity, resource = request["entity_id"], request["resource"]
    warmup = request.get("warmup", 0)
    timings: list[float] = []
    calls: list[str] = []
    read_units: list[float] = []

    def ask_for_capacity(params: dict[str, Any], **_: Any) -> None:
        params.setdefault("ReturnConsumedCapacity", "TOTAL")

    def add_capacity(parsed: dict[str, Any], **_: Any) -> None:
        consumed = parsed.get("ConsumedCapacity", [])
        entries = consumed if isinstance(consumed, list) else [consumed]
        read_units.extend(entry.get("CapacityUnits", 0.0) for entry in entries)

    for index in range(warmup + request["count"]):
        if index == warmup:
            client = await repository._get_client()
            events = client.meta.events
            events.register("before-call.dynamodb.*", lambda model, **_: calls.append(model.name))
            events.register("provide-client-params.dynamodb.BatchGetItem", ask_for_capacity)
            events.register("after-call.dynamodb.BatchGetItem", add_capacity)
        await repository.invalidate_config_cache()
        start = time.perf_counter()
        await repository.resolve_limits(entity, resource)
        await repository.resolve_access(entity, resource)
        if index >= warmup:
            timings.append((time.perf_counter() - start) * 1000)
    return {
        "timings_ms": timings,
        "calls_per_resolution": len(calls) / request["count"],
        "read_units_per_resolution": sum(read_units) / request["count"],
    }


async def op_set_resource_defaults(session: Session, request: dict[str, Any]) -> Any:
    repository = await session.repository(request)
    limits = [to_limit(limit) for limit in request["limits"]]
    options: dict[str, Any] = {}
    for flag in ("disabled", "cascade"):
        if flag in request:
            if not NAMESPACED:
                raise UnsupportedOperationError(f"zae-limiter {VERSION} has no {flag} flag")
            options[flag] = request[flag]
    undo = await interrupting(repository, request)
    try:
        await repository.set_resource_defaults(
            request["resource"], limits, principal=request.get("principal"), **options
        )
    finally:
        undo()


async def op_time_set_resource_defaults(session: Session, request: dict[str, Any]) -> Any:
    """Milliseconds of each of ``count`` sets in this process, after ``warmup`` untimed ones,
    and the DynamoDB calls a set makes.

    For benchmarks: the same call as set_resource_defaults, timed around the library call only.
    """
    import time

    repository = await session.repository(request)
    limits = [to_limit(limit) for limit in request["limits"]]
    warmup = request.get("warmup", 0)
    timings: list[float] = []
    calls: list[str] = []
    for index in range(warmup + request["count"]):
        if index == warmup:
            # Count the DynamoDB calls of one set, on the repository's own (private) client.
            client = await repository._get_client()
            client.meta.events.register(
                "before-call.dynamodb.*", lambda model, **_: calls.append(model.name)
            )
        start = time.perf_counter()
        await repository.set_resource_defaults(request["resource"], limits)
        if index >= warmup:
            timings.append((time.perf_counter() - start) * 1000)
    return {"timings_ms": timings, "calls_per_set": len(calls) / request["count"]}


async def op_get_resource_defaults(session: Session, request: dict[str, Any]) -> Any:
    repository = await session.repository(request)
    return [
        from_limit(limit) for limit in await repository.get_resource_defaults(request["resource"])
    ]


async def op_delete_resource_defaults(session: Session, request: dict[str, Any]) -> Any:
    repository = await session.repository(request)
    undo = await interrupting(repository, request)
    try:
        await repository.delete_resource_defaults(
            request["resource"], principal=request.get("principal")
        )
    finally:
        undo()


async def op_list_resources_with_defaults(session: Session, request: dict[str, Any]) -> Any:
    repository = await session.repository(request)
    return await repository.list_resources_with_defaults()


async def op_get_resource_disabled(session: Session, request: dict[str, Any]) -> Any:
    if not NAMESPACED:
        raise UnsupportedOperationError(f"zae-limiter {VERSION} has no disabled flag")
    repository = await session.repository(request)
    return await repository.get_resource_disabled(request["resource"])


async def op_get_resource_cascade(session: Session, request: dict[str, Any]) -> Any:
    if not NAMESPACED:
        raise UnsupportedOperationError(f"zae-limiter {VERSION} has no cascade flag")
    repository = await session.repository(request)
    return await repository.get_resource_cascade(request["resource"])


async def op_get_audit_events(session: Session, request: dict[str, Any]) -> Any:
    repository = await session.repository(request)
    events = await repository.get_audit_events(
        request["entity_id"], limit=request.get("limit", 100)
    )
    return [event.to_dict() for event in events]


async def op_set_audit_retention_days(session: Session, request: dict[str, Any]) -> Any:
    """Write the retention the way ``zae-limiter deploy`` does (0.9+; 0.6 has a fixed 90 days).

    ``_write_audit_retention_config`` is what ``ensure_infrastructure()`` calls after deploying
    the stack; calling it directly writes the same system config attribute without a stack.
    """
    repository = await session.repository(request)
    if not hasattr(repository, "_write_audit_retention_config"):
        raise UnsupportedOperationError(f"zae-limiter {VERSION} keeps no audit retention setting")
    from zae_limiter import StackOptions

    repository._stack_options = StackOptions(audit_retention_days=request["days"])
    try:
        await repository._write_audit_retention_config()
    finally:
        repository._stack_options = None
        repository._audit_retention_days_cache = None


OPERATIONS = {
    name.removeprefix("op_"): function
    for name, function in globals().items()
    if name.startswith("op_") and callable(function)
}


async def run_one(session: Session, request: Any) -> dict[str, Any]:
    try:
        if not isinstance(request, dict) or "op" not in request:
            raise ProbeError('a request is an object with an "op"')
        operation = OPERATIONS.get(request["op"])
        if operation is None:
            raise ProbeError(f"unknown op {request['op']!r}; known: {sorted(OPERATIONS)}")
        return {"result": await operation(session, request)}
    except Exception as error:
        answer: dict[str, Any] = {"error": type(error).__name__, "message": str(error)}
        response = getattr(error, "response", None)
        if isinstance(response, dict) and "Error" in response:
            answer["code"] = response["Error"].get("Code")
        return answer


async def answer(session: Session, requests: Any) -> Any:
    if isinstance(requests, list):
        return [await run_one(session, request) for request in requests]
    return await run_one(session, requests)


async def run(requests: Any) -> Any:
    session = Session()
    try:
        return await answer(session, requests)
    finally:
        await session.close()


async def serve_lines() -> None:
    """Answer each line of stdin on one line of stdout, over one session, until stdin closes."""
    session = Session()
    try:
        # Blocking reads are fine: nothing else runs on this loop between requests.
        for line in sys.stdin:
            try:
                requests = json.loads(line)
            except ValueError as error:
                result: Any = {"error": "JSONDecodeError", "message": str(error)}
            else:
                result = await answer(session, requests)
            print(json.dumps(result, default=str), flush=True)
    finally:
        await session.close()


def main() -> int:
    if sys.argv[1:] == ["--lines"]:
        asyncio.run(serve_lines())
        return 0
    try:
        requests = json.loads(sys.stdin.read())
    except ValueError as error:
        print(json.dumps({"error": "JSONDecodeError", "message": str(error)}))
        return 2
    print(json.dumps(asyncio.run(run(requests)), default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
