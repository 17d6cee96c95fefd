"""The writer processes: each drives random operations through the handlers, one at a time as a
Lambda execution environment does, and checks every answer against the contract."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from typing import Any

from devtools.concurrency_harness.config import HarnessConfig, resource_pool
from devtools.concurrency_harness.gate import Gate
from devtools.concurrency_harness.invocation import Answer, invoke, quiet_handlers
from devtools.concurrency_harness.tags import limits_for, tag_of
from devtools.concurrency_harness.transactions import TransactionObserver
from handlers import routes
from resource_registry.clients import dynamodb_client

# What each operation may answer under concurrency (docs/contract.md section 3); anything else is a
# violation. 409 is ConcurrentUpdate here: the pool is far too small to fill the registry.
ALLOWED_STATUSES = {
    "set": {200, 409, 412, 503},
    "delete": {204, 404, 409, 412, 503},
    "get": {200, 404, 503},
    "list": {200, 503},
}
OPERATION_WEIGHTS = {"set": 45, "delete": 20, "get": 20, "list": 15}


@dataclass
class Shared:
    """What the writer processes and the main process share."""

    gate: Gate
    stop: Any  # a multiprocessing Event
    ready: Any  # a multiprocessing Barrier: the writers and the main process
    writes: Any  # a managed list of (resource, version, tag): the sets answered 200
    uncertain: Any  # a managed list of (resource, tag): the sets answered 503
    results: Any  # a multiprocessing Queue: each writer's summary at its end


class _Writer:
    """One writer's random operations and what it saw of them."""

    def __init__(self, index: int, config: HarnessConfig, shared: Shared) -> None:
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


def writer_process(index: int, config: HarnessConfig, shared: Shared) -> None:
    """A writer process: the handlers in-process, one invocation at a time, like Lambda."""
    with quiet_handlers():
        writer = _Writer(index, config, shared)
        observer = TransactionObserver(dynamodb_client())
        try:
            shared.ready.wait()
            writer.run()
        except Exception as error:  # a crash is a finding, not a harness failure
            writer.violations.append(f"{writer.name} crashed: {error!r}")
        finally:
            shared.results.put(writer.summary(observer))
