"""A concurrency harness: writers drive the API handlers on a small pool of resources while
backfill and prune run, and checkpoints check the table while it is quiescent.

Each writer is a process of its own, as each Lambda execution environment is: Powertools keeps the
event being resolved in class attributes, so one process runs one invocation at a time. Every
write's limits encode its writer and a per-write nonce, so a mix of two writes is detectable. At
each checkpoint the writers and reconcilers drain, and the full table must show: the registry
equals the resources with limit items; each resource's limits are exactly one write's set, at the
version that write was answered with. Every answer must be a 2xx or a documented 4xx/409/412/503.

`make bench` calls main(); by hand: `python -m devtools.concurrency_harness --seconds 60`. Uses
AWS_ENDPOINT_URL_DYNAMODB (with a fresh table, deleted afterwards) or starts an in-memory DynamoDB
Local. Exits 1 when it finds a violation.
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing
import os
import queue
import random
import re
import sys
import threading
import time
import uuid
import warnings
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager, redirect_stdout
from dataclasses import dataclass, field
from multiprocessing.context import BaseContext
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3

from devtools.local_server import LocalContext, RouteTable, build_event
from handlers import routes
from resource_registry import schema, service
from resource_registry.backfill.reconciler import RegistryReconciler
from resource_registry.backfill.request import BackfillRequest, Mode
from resource_registry.clients import CLIENT_CONFIG, dynamodb_client, table_name
from resource_registry.dynamodb import all_items
from resource_registry.errors import RegistryError
from resource_registry.layouts.base import Layout, StoredResource
from resource_registry.model import SOLE_NAMESPACE, Namespace
from resource_registry.table import Table

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

JSON = "application/json"
LIMIT_NAME = re.compile(r"(?P<writer>w\d+)-n(?P<nonce>\d+)-(?P<index>\d+)of(?P<count>\d+)")
# What each operation may answer under concurrency (docs/contract.md section 3); anything else is a
# violation. 409 is ConcurrentUpdate here: the pool is far too small to fill the registry.
ALLOWED_STATUSES = {
    "set": {200, 409, 412, 503},
    "delete": {204, 404, 409, 412, 503},
    "get": {200, 404, 503},
    "list": {200, 503},
}
OPERATION_WEIGHTS = {"set": 45, "delete": 20, "get": 20, "list": 15}
STARTUP_TIMEOUT_SECONDS = 120


@dataclass(frozen=True)
class HarnessConfig:
    """How long and how hard to run."""

    seconds: float = 30.0
    writers: int = 8
    resources: int = 6
    checkpoint_every_seconds: float = 2.0
    if_match_probability: float = 0.3
    max_limits: int = 4
    reconciler_page_size: int = 3
    seed: int = 0


@dataclass
class HarnessReport:
    """What the run did and what it found; ``violations`` should be empty."""

    operations: Counter[str] = field(default_factory=Counter)
    transactions: int = 0
    transactions_cancelled: int = 0
    cancellation_reasons: Counter[str] = field(default_factory=Counter)
    botocore_retries: int = 0
    retries_ran_out: int = 0
    reconciler_runs: Counter[str] = field(default_factory=Counter)
    reconciler_changes: Counter[str] = field(default_factory=Counter)
    checkpoints: int = 0
    torn_reads: int = 0
    violations: list[str] = field(default_factory=list)
    elapsed_seconds: float = 0.0

    @property
    def total_operations(self) -> int:
        return sum(self.operations.values())

    @property
    def conflicts_retried(self) -> int:
        """Cancelled transactions the store tried again (the rest ended in a 409)."""
        return self.transactions_cancelled - self.retries_ran_out

    def to_dict(self) -> dict[str, Any]:
        return {
            "operations": self.total_operations,
            "by_outcome": dict(sorted(self.operations.items())),
            "transactions": self.transactions,
            "transactions_cancelled": self.transactions_cancelled,
            "cancellation_reasons": dict(self.cancellation_reasons),
            "conflicts_retried": self.conflicts_retried,
            "retries_ran_out": self.retries_ran_out,
            "botocore_retries": self.botocore_retries,
            "reconciler_runs": dict(self.reconciler_runs),
            "reconciler_changes": dict(self.reconciler_changes),
            "checkpoints": self.checkpoints,
            "torn_reads": self.torn_reads,
            "violations": self.violations,
            "elapsed_seconds": round(self.elapsed_seconds, 1),
        }

    def render(self) -> str:
        """A short human-readable report."""
        rate = self.total_operations / self.elapsed_seconds if self.elapsed_seconds else 0.0
        outcomes = ", ".join(f"{name}: {count}" for name, count in sorted(self.operations.items()))
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(self.cancellation_reasons.items()))
        runs = ", ".join(f"{k} {v}" for k, v in sorted(self.reconciler_runs.items()))
        changes = ", ".join(f"{k} {v}" for k, v in sorted(self.reconciler_changes.items()))
        lines = [
            f"concurrency harness: {self.elapsed_seconds:.1f} s",
            f"  operations          {self.total_operations} ({rate:.0f}/s)",
            f"    by outcome        {outcomes}",
            f"  transactions        {self.transactions}, cancelled {self.transactions_cancelled}"
            f" ({reasons or 'none'})",
            f"  conflicts retried   {self.conflicts_retried}"
            f" (retries ran out, answered 409: {self.retries_ran_out})",
            f"  botocore retries    {self.botocore_retries}",
            f"  reconciler runs     {runs or 'none'} (changes: {changes or 'none'})",
            f"  checkpoints         {self.checkpoints}",
            f"  torn reads          {self.torn_reads} (a GET whose limits mixed two writes)",
            f"  violations          {len(self.violations)}",
        ]
        lines += [f"    - {violation}" for violation in self.violations[:20]]
        return "\n".join(lines)


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


class TransactionObserver:
    """Counts a client's transactions, their cancellations, and botocore's own resends."""

    def __init__(self, client: Any) -> None:
        self._lock = threading.Lock()
        self._client = client
        self.calls = 0
        self.sends = 0
        self.transactions = 0
        self.cancelled = 0
        self.reasons: Counter[str] = Counter()
        self._handlers: list[tuple[str, Callable[..., None]]] = [
            ("before-call.dynamodb", self._call),
            ("before-send.dynamodb", self._send),
            ("after-call.dynamodb.TransactWriteItems", self._transaction),
        ]
        for event, handler in self._handlers:
            client.meta.events.register(event, handler)

    def close(self) -> None:
        for event, handler in self._handlers:
            self._client.meta.events.unregister(event, handler)

    def counts(self) -> dict[str, Any]:
        return {
            "transactions": self.transactions,
            "cancelled": self.cancelled,
            "reasons": dict(self.reasons),
            "botocore_retries": self.sends - self.calls,
        }

    def _call(self, **_: Any) -> None:
        with self._lock:
            self.calls += 1

    def _send(self, **_: Any) -> None:
        with self._lock:
            self.sends += 1

    def _transaction(self, parsed: dict[str, Any], **_: Any) -> None:
        with self._lock:
            self.transactions += 1
            if parsed.get("Error", {}).get("Code") != "TransactionCanceledException":
                return
            self.cancelled += 1
            for reason in parsed.get("CancellationReasons", []):
                if reason.get("Code", "None") != "None":
                    self.reasons[reason["Code"]] += 1


class WriteLog:
    """The sets the API answered 200 to, by resource and version: two claims of one version is a
    lost update. Sets answered 503 may or may not have committed, so they are kept apart.

    Where versions start again after a delete (a composite item goes with its defaults), two
    writes may rightly share a version: there the log is keyed by the whole ETag instead, which
    still ties each state of the table to the one write answered with it.
    """

    def __init__(self, by_version: bool = True) -> None:
        self._lock = threading.Lock()
        self._by_version = by_version
        self.committed: dict[tuple[str, int | str], str] = {}
        self.uncertain: set[tuple[str, str]] = set()

    def key(self, etag: str) -> int | str:
        """What identifies a state of a resource: its version, or its whole ETag."""
        return int(etag.split("-", maxsplit=1)[0]) if self._by_version else etag

    def record(self, resource: str, etag: str, tag: str) -> str | None:
        """Record a 200; a violation message if another write already claimed that version."""
        key = self.key(etag)
        with self._lock:
            earlier = self.committed.setdefault((resource, key), tag)
        if earlier != tag:
            return f"{resource}: writes {earlier} and {tag} were both answered as version {key}"
        return None

    def record_uncertain(self, resource: str, tag: str) -> None:
        with self._lock:
            self.uncertain.add((resource, tag))


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: Any


ROUTES = RouteTable()


def invoke(
    route: routes.Route,
    resource: str | None = None,
    *,
    body: Any = None,
    if_match: str | None = None,
    query: str = "",
) -> Answer:
    """Call a route's handler in-process with an API Gateway event, as Lambda would."""
    path = route.path if resource is None else route.path.replace("{resource}", resource)
    headers = [("Content-Type", JSON)] if body is not None else []
    if if_match is not None:
        headers.append(("If-Match", if_match))
    event = build_event(
        route,
        path,
        query=query,
        headers=headers,
        body=None if body is None else json.dumps(body),
        path_parameters=None if resource is None else {"resource": resource},
    )
    context = LocalContext(route.function_id, event["requestContext"]["requestId"])
    answer = ROUTES.handler_of(route)(event, context)
    answer_headers = {name: values[-1] for name, values in answer["multiValueHeaders"].items()}
    text = answer.get("body")
    return Answer(answer["statusCode"], answer_headers, json.loads(text) if text else None)


def limits_for(tag: str, count: int) -> list[dict[str, int | str]]:
    """A write's limits: names carry the tag, numbers derive from the nonce and the index."""
    match = LIMIT_NAME.fullmatch(f"{tag}-1of{count}")
    assert match is not None
    nonce, writer = int(match["nonce"]), int(match["writer"][1:])
    return [
        {
            "name": f"{tag}-{index}of{count}",
            "capacity": nonce * 100 + index,
            "refill_period_seconds": writer + 1,
        }
        for index in range(1, count + 1)
    ]


def tag_of(limits: Sequence[dict[str, Any]]) -> tuple[str | None, str]:
    """The tag of the one write these limits all come from, or None and why they do not."""
    parsed = [(LIMIT_NAME.fullmatch(str(limit.get("name", ""))), limit) for limit in limits]
    if not parsed or any(match is None for match, _ in parsed):
        return None, f"limits {[limit.get('name') for limit in limits]} are not one write's"
    tags = {f"{match['writer']}-n{match['nonce']}" for match, _ in parsed if match}
    counts = {int(match["count"]) for match, _ in parsed if match}
    indexes = sorted(int(match["index"]) for match, _ in parsed if match)
    if len(tags) != 1 or len(counts) != 1 or indexes != list(range(1, counts.pop() + 1)):
        return None, f"limits mix writes: {sorted(str(limit['name']) for limit in limits)}"
    tag = tags.pop()
    expected = {str(limit["name"]): limit for limit in limits_for(tag, len(limits))}
    for _, limit in parsed:
        wanted = expected[str(limit["name"])]
        if (limit["capacity"], limit["refill_period_seconds"]) != (
            wanted["capacity"],
            wanted["refill_period_seconds"],
        ):
            return None, f"limit {limit['name']} carries another write's numbers: {limit}"
    return tag, ""


def check_table(
    items: list[dict[str, Any]],
    writes: WriteLog,
    layout: Layout,
    namespace: Namespace = SOLE_NAMESPACE,
) -> list[str]:
    """Violations in a full dump of a quiescent table (see the module docstring)."""
    registry_key = layout.registry_key(namespace)
    registry: set[str] = set()
    partitions: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        key = {name: item[name] for name in (schema.PARTITION_KEY, schema.SORT_KEY)}
        if key == registry_key:
            registry = set(item.get(schema.ATTR_RESOURCES, {}).get("SS", []))
            continue
        resource = schema.resource_from_pk(item[schema.PARTITION_KEY]["S"], namespace.prefix)
        if resource is not None:
            partitions.setdefault(resource, []).append(item)
    stored = {resource: layout.parse(found) for resource, found in partitions.items()}
    with_defaults = {resource for resource, state in stored.items() if state.has_defaults}
    violations = [f"{name} is registered but has no defaults" for name in registry - with_defaults]
    violations += [
        f"{name} has defaults but is not registered" for name in with_defaults - registry
    ]
    for resource in sorted(with_defaults):
        violations += _check_resource(resource, stored[resource], writes)
    return violations


def _check_resource(resource: str, stored: StoredResource, writes: WriteLog) -> list[str]:
    limits = [
        {
            "name": limit.name,
            "capacity": limit.capacity,
            "refill_period_seconds": limit.refill_period_seconds,
        }
        for limit in stored.limits
    ]
    tag, why = tag_of(limits)
    if tag is None:
        return [f"{resource}: {why}"]
    version = stored.version
    # Flat limit items carry the version of the write that put them; all must agree.
    config_versions = {
        int(item[schema.ATTR_CONFIG_VERSION]["N"])
        for item in stored.items.values()
        if schema.ATTR_CONFIG_VERSION in item
    }
    if config_versions != {version}:
        return [f"{resource}: limits at config_version {config_versions}, version {version}"]
    answered = writes.committed.get((resource, writes.key(stored.etag)))
    if answered != tag and (resource, tag) not in writes.uncertain:
        return [f"{resource}: holds {tag} at version {version}, but the API answered {answered}"]
    return []


def full_dump(client: Any, name: str) -> list[dict[str, Any]]:
    """Every item of the table, strongly consistent."""
    return all_items(client.scan, TableName=name, ConsistentRead=True)


@dataclass
class _Shared:
    """What the writer processes and the main process share."""

    gate: Gate
    stop: Any  # a multiprocessing Event
    ready: Any  # a multiprocessing Barrier: the writers and the main process
    writes: Any  # a managed list of (resource, version, tag): the sets answered 200
    uncertain: Any  # a managed list of (resource, tag): the sets answered 503
    results: Any  # a multiprocessing Queue: each writer's summary at its end


class _Writer:
    """One writer's random operations and what it saw of them."""

    def __init__(self, index: int, config: HarnessConfig, shared: _Shared) -> None:
        self.name = f"w{index:02}"
        self._config, self._shared = config, shared
        self._rng = random.Random(config.seed * 10_007 + index)
        self._pool = resource_pool(config)
        self._etags: dict[str, str] = {}
        self._nonce = 0
        self.outcomes: Counter[str] = Counter()
        self.violations: list[str] = []
        self.torn_reads = 0
        self.retries_ran_out = 0

    def run(self) -> None:
        while not self._shared.stop.is_set():
            operation = self._rng.choices(
                list(OPERATION_WEIGHTS), weights=list(OPERATION_WEIGHTS.values())
            )[0]
            resource = self._rng.choice(self._pool)
            if_match = None
            if (
                operation in ("set", "delete")
                and self._rng.random() < self._config.if_match_probability
            ):
                if_match = self._etags.get(resource, "*") if self._rng.random() < 0.8 else "*"
            self._nonce += 1
            tag = f"{self.name}-n{self._nonce}"
            with self._shared.gate.operation():
                answer = self._call(operation, resource, tag, if_match)
                self.outcomes[f"{operation} {answer.status}"] += 1
                self._check_answer(operation, resource, tag, answer)

    def _call(self, operation: str, resource: str, tag: str, if_match: str | None) -> Answer:
        if operation == "set":
            count = self._rng.randint(1, self._config.max_limits)
            body = {"limits": limits_for(tag, count)}
            return invoke(routes.SET_DEFAULTS, resource, body=body, if_match=if_match)
        if operation == "delete":
            return invoke(routes.DELETE_DEFAULTS, resource, if_match=if_match)
        if operation == "get":
            return invoke(routes.GET_DEFAULTS, resource)
        return invoke(routes.LIST_RESOURCES, query=self._rng.choice(["", "consistent=true"]))

    def _check_answer(self, operation: str, resource: str, tag: str, answer: Answer) -> None:
        """Record the answer, and any way it breaks the contract."""
        where = f"{operation} {resource} -> {answer.status}"
        if answer.status not in ALLOWED_STATUSES[operation]:
            self.violations.append(f"{where}: undocumented status, body {answer.body}")
        elif answer.status >= 400:
            self._check_refusal(operation, resource, tag, answer, where)
        elif operation == "set":
            self._etags[resource] = answer.headers["ETag"]
            if tag_of(answer.body["limits"])[0] != tag:
                self.violations.append(f"{where}: answered {answer.body['limits']}, not {tag}'s")
            self._shared.writes.append((resource, answer.headers["ETag"].strip('"'), tag))
        elif operation == "get":
            self._etags[resource] = answer.headers["ETag"]
            self.torn_reads += tag_of(answer.body["limits"])[0] is None
        elif operation == "list":
            names = answer.body["resources"]
            if names != sorted(names) or not set(names) <= set(self._pool):
                self.violations.append(f"{where}: list answered {names}")

    def _check_refusal(
        self, operation: str, resource: str, tag: str, answer: Answer, where: str
    ) -> None:
        if not isinstance(answer.body, dict) or not answer.body.get("message"):
            self.violations.append(f"{where}: error without a JSON message")
        elif answer.status == 409 and answer.body.get("code") != "ConcurrentUpdate":
            self.violations.append(f"{where}: 409 with code {answer.body.get('code')}")
        self.retries_ran_out += answer.status == 409
        if answer.status == 503:
            if "Retry-After" not in answer.headers:
                self.violations.append(f"{where}: 503 without Retry-After")
            if operation == "set":  # it may have committed: the table may hold it
                self._shared.uncertain.append((resource, tag))

    def summary(self, observer: TransactionObserver) -> dict[str, Any]:
        return {
            "outcomes": dict(self.outcomes),
            "violations": self.violations,
            "torn_reads": self.torn_reads,
            "retries_ran_out": self.retries_ran_out,
            **observer.counts(),
        }


def _writer_process(index: int, config: HarnessConfig, shared: _Shared) -> None:
    """A writer process: the handlers in-process, one invocation at a time, like Lambda."""
    with _quiet_handlers():
        writer = _Writer(index, config, shared)
        observer = TransactionObserver(dynamodb_client())
        try:
            shared.ready.wait()
            writer.run()
        except Exception as error:  # a crash is a finding, not a harness failure
            writer.violations.append(f"{writer.name} crashed: {error!r}")
        finally:
            shared.results.put(writer.summary(observer))


def resource_pool(config: HarnessConfig) -> list[str]:
    return [f"res-{index}" for index in range(config.resources)]


class _Main:
    """The main process: reconciler threads, checkpoints, and the report."""

    def __init__(self, config: HarnessConfig, shared: _Shared, name: str) -> None:
        self.config, self.shared, self.name = config, shared, name
        self.report = HarnessReport()
        self.lock = threading.Lock()
        self._writes_seen = self._uncertain_seen = 0
        self._checker = new_client()
        served = service.store_over(self._checker, name)
        self.table, self.namespace = served.table, served.namespace
        self.writes = WriteLog(by_version=self.table.layout.versions_survive_deletes)

    def violation(self, message: str) -> None:
        with self.lock:
            self.report.violations.append(message)

    def reconcile(self, mode: Mode) -> None:
        """Run backfill or prune over and over until stopped."""
        reconciler = RegistryReconciler(
            Table(new_client(), self.name, self.table.layout),
            page_size=self.config.reconciler_page_size,
        )
        runs = 0
        changes: Counter[str] = Counter()
        try:
            while not self.shared.stop.is_set():
                with self.shared.gate.operation():
                    try:
                        summary = reconciler.run(BackfillRequest(mode))
                    except RegistryError as error:  # gave up on a race: safe, counted
                        changes[f"{mode.value} gave up ({type(error).__name__})"] += 1
                        continue
                runs += 1
                changes[f"{mode.value} added"] += summary.total("added")
                changes[f"{mode.value} removed"] += summary.total("removed")
        except Exception as error:
            self.violation(f"{mode.value} crashed: {error!r}")
        with self.lock:
            self.report.reconciler_runs[mode.value] += runs
            self.report.reconciler_changes.update(+changes)

    def checkpoint(self) -> None:
        """Drain the writers and reconcilers, then check a full dump of the table."""
        with self.shared.gate.closed():
            self._collect_writes()
            items = full_dump(self._checker, self.name)
        number = self.report.checkpoints + 1
        for violation in check_table(items, self.writes, self.table.layout, self.namespace):
            self.violation(f"checkpoint {number}: {violation}")
        self.report.checkpoints = number

    def _collect_writes(self) -> None:
        writes = self.shared.writes[self._writes_seen :]
        uncertain = self.shared.uncertain[self._uncertain_seen :]
        self._writes_seen += len(writes)
        self._uncertain_seen += len(uncertain)
        for resource, etag, tag in writes:
            lost_update = self.writes.record(resource, etag, tag)
            if lost_update:
                self.violation(lost_update)
        for resource, tag in uncertain:
            self.writes.record_uncertain(resource, tag)

    def merge(self, summary: dict[str, Any]) -> None:
        report = self.report
        report.operations.update(summary["outcomes"])
        report.violations += summary["violations"]
        report.torn_reads += summary["torn_reads"]
        report.retries_ran_out += summary["retries_ran_out"]
        report.transactions += summary["transactions"]
        report.transactions_cancelled += summary["cancelled"]
        report.cancellation_reasons.update(summary["reasons"])
        report.botocore_retries += summary["botocore_retries"]


def new_client() -> DynamoDBClient:
    """A client like the handlers' own, for the reconcilers and the checks."""
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    client: DynamoDBClient = boto3.client("dynamodb", region_name=region, config=CLIENT_CONFIG)
    return client


def run_harness(config: HarnessConfig) -> HarnessReport:
    """Run the harness against the handlers' configured table (TABLE_NAME and the endpoint)."""
    context = multiprocessing.get_context("spawn")  # no fork of a process with live clients
    with context.Manager() as manager:
        shared = _Shared(
            gate=Gate(context),
            stop=context.Event(),
            ready=context.Barrier(config.writers + 1),
            writes=manager.list(),
            uncertain=manager.list(),
            results=context.Queue(),
        )
        main = _Main(config, shared, table_name())
        writers = [
            context.Process(target=_writer_process, args=(index, config, shared), daemon=True)
            for index in range(config.writers)
        ]
        reconcilers = [
            threading.Thread(target=main.reconcile, args=(mode,), name=mode)
            for mode in (Mode.BACKFILL, Mode.PRUNE)
        ]
        for process in writers:
            process.start()
        try:
            shared.ready.wait(timeout=STARTUP_TIMEOUT_SECONDS)
            started = time.monotonic()
            for thread in reconcilers:
                thread.start()
            _checkpoints_until(main, started + config.seconds)
            main.report.elapsed_seconds = time.monotonic() - started
        finally:
            shared.stop.set()
            for thread in reconcilers:
                if thread.is_alive():
                    thread.join()
            for index in range(len(writers)):
                try:
                    main.merge(shared.results.get(timeout=STARTUP_TIMEOUT_SECONDS))
                except queue.Empty:
                    main.violation(f"writer {index} never reported")
            for process in writers:
                process.join(timeout=STARTUP_TIMEOUT_SECONDS)
        main.checkpoint()
    verifier = RegistryReconciler(Table(new_client(), main.name, main.table.layout))
    verified = verifier.run(BackfillRequest(Mode.VERIFY))
    if verified.drift:
        main.violation(f"verify after the run found drift: {verified.drift}")
    return main.report


def _checkpoints_until(main: _Main, deadline: float) -> None:
    pacing = threading.Event()  # never set: its wait() paces the checkpoints
    while (remaining := deadline - time.monotonic()) > 0:
        pacing.wait(min(main.config.checkpoint_every_seconds, remaining))
        main.checkpoint()


@contextmanager
def _quiet_handlers() -> Iterator[None]:
    """No per-request log lines, metrics or warnings on the terminal while the harness runs."""
    from resource_registry.observability import logger

    level = logger.log_level
    logger.setLevel(logging.WARNING)
    # Powertools prints metrics whenever 100 accumulate, whatever POWERTOOLS_METRICS_DISABLED says.
    with (
        Path(os.devnull).open("w") as devnull,
        redirect_stdout(devnull),
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("ignore", UserWarning)
        try:
            yield
        finally:
            logger.setLevel(level)


@contextmanager
def _harness_table() -> Iterator[str]:
    """A fresh table on AWS_ENDPOINT_URL_DYNAMODB, or on an in-memory DynamoDB Local we start."""
    from devtools.dynamodb_local import LOCAL_CREDENTIALS, create_table, running
    from devtools.environment import ENDPOINT_VARIABLE, LOCAL_REGION

    os.environ.setdefault("AWS_REGION", LOCAL_REGION)
    name = f"harness-{uuid.uuid4().hex[:12]}"
    previous_table = os.environ.get("TABLE_NAME")
    with ExitStack() as stack:
        if not os.environ.get(ENDPOINT_VARIABLE):
            os.environ.setdefault("AWS_ACCESS_KEY_ID", LOCAL_CREDENTIALS["aws_access_key_id"])
            os.environ.setdefault(
                "AWS_SECRET_ACCESS_KEY", LOCAL_CREDENTIALS["aws_secret_access_key"]
            )
            local = stack.enter_context(running())
            os.environ[ENDPOINT_VARIABLE] = local.endpoint
            stack.callback(os.environ.pop, ENDPOINT_VARIABLE, None)
        os.environ["TABLE_NAME"] = name
        service.reset()
        client = new_client()
        create_table(client, name)
        try:
            yield name
        finally:
            client.delete_table(TableName=name)
            service.reset()
            if previous_table is None:
                os.environ.pop("TABLE_NAME", None)
            else:
                os.environ["TABLE_NAME"] = previous_table


def main(argv: Sequence[str] | None = None) -> int:
    """Run the harness with the command line's settings, print the report; 1 on violations."""
    defaults = HarnessConfig()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--writers", type=int, default=defaults.writers)
    parser.add_argument("--resources", type=int, default=defaults.resources)
    parser.add_argument("--checkpoint-seconds", type=float, default=5.0)
    parser.add_argument("--if-match", type=float, default=defaults.if_match_probability)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    options = parser.parse_args(argv)
    config = HarnessConfig(
        seconds=options.seconds,
        writers=options.writers,
        resources=options.resources,
        checkpoint_every_seconds=options.checkpoint_seconds,
        if_match_probability=options.if_match,
        seed=options.seed,
    )
    with _harness_table(), _quiet_handlers():
        report = run_harness(config)
    print(json.dumps(report.to_dict(), indent=2) if options.json else report.render())
    return 1 if report.violations else 0


if __name__ == "__main__":
    sys.exit(main())
