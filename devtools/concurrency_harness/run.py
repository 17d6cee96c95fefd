"""The run: writer processes and reconciler threads at once, checkpoints while it lasts, and a
verify at its end."""

from __future__ import annotations

import multiprocessing
import queue
import threading
import time
from collections import Counter

from devtools.concurrency_harness.config import HarnessConfig
from devtools.concurrency_harness.foreign import ForeignWriter, HealerLoop
from devtools.concurrency_harness.fresh_table import new_client
from devtools.concurrency_harness.gate import Gate
from devtools.concurrency_harness.invariants import WriteLog, check_table, full_dump
from devtools.concurrency_harness.report import HarnessReport
from devtools.concurrency_harness.writers import Shared, writer_process
from resource_registry import service
from resource_registry.backfill.reconciler import RegistryReconciler
from resource_registry.backfill.request import BackfillRequest, Mode
from resource_registry.clients import table_name
from resource_registry.errors import RegistryError
from resource_registry.table import Table

STARTUP_TIMEOUT_SECONDS = 120


class _Main:
    """The main process: reconciler threads, checkpoints, and the report."""

    def __init__(self, config: HarnessConfig, shared: Shared, name: str) -> None:
        self.config, self.shared, self.name = config, shared, name
        self.report = HarnessReport()
        self.lock = threading.Lock()
        self._writes_seen = self._uncertain_seen = 0
        self._checker = new_client()
        served = service.store_over(self._checker, name)
        self.table, self.namespace = served.table, served.namespace
        self.writes = WriteLog(by_version=self.table.layout.versions_survive_deletes)
        self.healer: HealerLoop | None = None
        self.foreign: list[ForeignWriter] = []
        if config.foreign_writers:
            self.healer = HealerLoop(self.table)
            self.foreign = [
                ForeignWriter(index, config, self.table, self.namespace, self.writes)
                for index in range(config.foreign_writers)
            ]

    def actors(self, stop: threading.Event) -> list[threading.Thread]:
        """The foreign writers and the healer, each a thread until ``stop``."""
        threads = [
            threading.Thread(target=writer.run, args=(self.shared.gate, stop), name=writer.name)
            for writer in self.foreign
        ]
        if self.healer is not None:
            threads.append(
                threading.Thread(
                    target=self.healer.run, args=(self.shared.gate, stop), name="healer"
                )
            )
        return threads

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
        """Drain the writers and reconcilers (and the healer: the stream read to its end), then
        check a full dump of the table."""
        with self.shared.gate.closed():
            if self.healer is not None:
                self.healer.drain()
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


def run_harness(config: HarnessConfig) -> HarnessReport:
    """Run the harness against the handlers' configured table (TABLE_NAME and the endpoint)."""
    context = multiprocessing.get_context("spawn")  # no fork of a process with live clients
    with context.Manager() as manager:
        shared = Shared(
            gate=Gate(context),
            stop=context.Event(),
            ready=context.Barrier(config.writers + 1),
            writes=manager.list(),
            uncertain=manager.list(),
            results=context.Queue(),
        )
        main = _Main(config, shared, table_name())
        writers = [
            context.Process(target=writer_process, args=(index, config, shared), daemon=True)
            for index in range(config.writers)
        ]
        reconcilers = [
            threading.Thread(target=main.reconcile, args=(mode,), name=mode)
            for mode in (Mode.BACKFILL, Mode.PRUNE)
        ]
        stop_actors = threading.Event()
        reconcilers += main.actors(stop_actors)
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
            stop_actors.set()
            for thread in reconcilers:
                if thread.is_alive():
                    thread.join()
            for index in range(len(writers)):
                try:
                    main.report.merge_writer(shared.results.get(timeout=STARTUP_TIMEOUT_SECONDS))
                except queue.Empty:
                    main.violation(f"writer {index} never reported")
            for process in writers:
                process.join(timeout=STARTUP_TIMEOUT_SECONDS)
        main.checkpoint()
        main.report.foreign_writes = sum(writer.writes for writer in main.foreign)
        if main.healer is not None:
            main.report.healer_events = main.healer.events
            if main.healer.failures:
                main.violation(f"the healer failed {main.healer.failures} batches")
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
