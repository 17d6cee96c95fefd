"""Issue 21: the effective view, next to zae-limiter 0.17.0's own resolution on the same table.

On a table zae-limiter 0.17.0 made, with all four levels configured (system defaults, the
resource's defaults, the entity's ``_default_`` and its config for the resource, three limits
each, flags set), the view is one strongly consistent BatchGetItem of the four items: its round
trips and the read units DynamoDB Local reports, and its median latency beside zae-limiter's
``resolve_limits`` plus ``resolve_access`` (what an application calls to learn the same), timed
inside zae-limiter's own process, in alternating rounds.

``python -m benchmarks.effective [--quick]`` runs this section alone.
"""

from __future__ import annotations

import argparse
import io
import sys
import uuid
from collections.abc import Callable, Sequence
from contextlib import redirect_stdout
from typing import Any

import boto3

from benchmarks.environment import (
    REGION,
    configure_process,
    handler_of,
    lambda_context,
    point_handlers_at,
)
from benchmarks.metering import DynamoDBMeter
from benchmarks.report import Figure, Goal, Section, measured_equals, ratio_at_most, text_table
from benchmarks.stats import elapsed_ms, median
from devtools.dynamodb_local import LOCAL_CREDENTIALS, DynamoDBLocal
from devtools.local_server import build_event
from handlers.routes import GET_EFFECTIVE_LIMITS
from resource_registry import service
from resource_registry.clients import CLIENT_CONFIG
from resource_registry.effective import EffectiveView
from resource_registry.namespaces import NamespaceDirectory
from tests.support.zae_limiter import ZaeLimiter

SAMPLES, QUICK_SAMPLES = 300, 40
WARMUP = 30
ROUNDS = 5
NAMESPACE = "tenant-a"
ENTITY, RESOURCE = "alice", "openai/gpt-4"
# Four items read consistently: DynamoDB bills 1 RCU per item of up to 4 KB (0.5 eventually
# consistent), so the four levels, each a few hundred bytes, cost 4.
MAX_READ_UNITS = 4.0


def limits(capacity: int) -> list[dict[str, Any]]:
    """Three limits as zae-limiter 0.17's Limit.from_dict takes them."""
    return [
        {"name": name, "capacity": capacity * scale, "refill_amount": capacity * scale}
        | {"refill_period_seconds": period}
        for name, scale, period in (("rpm", 1, 60), ("tpm", 1000, 60), ("rpd", 10, 86_400))
    ]


def run(local: DynamoDBLocal, quick: bool, progress: Callable[[str], None]) -> Section:
    section = Section(
        10, "Effective view (vs zae-limiter 0.17.0's resolve_limits + resolve_access)"
    )
    progress("the effective view next to zae-limiter 0.17.0's resolution, on a table it made")
    zae = _configured_table(local)
    # The client the functions make (resource_registry.clients), pointed at DynamoDB Local.
    client = boto3.client(
        "dynamodb",
        endpoint_url=local.endpoint,
        region_name=REGION,
        config=CLIENT_CONFIG,
        **LOCAL_CREDENTIALS,
    )
    meter = DynamoDBMeter(client)
    table = service.table_over(client, zae.table_name)
    view = EffectiveView(table, NamespaceDirectory(table).resolve(NAMESPACE))
    answer = view.explain(ENTITY, RESOURCE)
    if answer.body["source"] != "entity" or any(
        level is None for level in answer.body["levels"].values()
    ):
        raise RuntimeError(f"the table is not configured at all four levels: {answer.body}")
    for _ in range(WARMUP):
        view.explain(ENTITY, RESOURCE)
    meter.take()
    view.explain(ENTITY, RESOURCE)
    one = meter.take()

    samples = QUICK_SAMPLES if quick else SAMPLES
    through_handler = _handler_call(local, zae.table_name)
    for _ in range(WARMUP):
        through_handler()
    ours: list[float] = []
    handler: list[float] = []
    theirs: list[float] = []
    their_calls = their_units = 0.0
    # Rounds that alternate between them, so a drift in the machine's speed hits all alike.
    for _ in range(ROUNDS):
        timed = zae.call(
            "time_resolve",
            entity_id=ENTITY,
            resource=RESOURCE,
            namespace=NAMESPACE,
            count=samples // ROUNDS,
            warmup=WARMUP // ROUNDS,
        )
        theirs += timed["timings_ms"]
        their_calls = timed["calls_per_resolution"]
        their_units = timed["read_units_per_resolution"]
        ours += [
            elapsed_ms(lambda: view.explain(ENTITY, RESOURCE)) for _ in range(samples // ROUNDS)
        ]
        handler += [elapsed_ms(through_handler) for _ in range(samples // ROUNDS)]
    section.figures += [
        Figure(
            "effective view round trips",
            one.total_calls,
            their_calls,
            "",
            goal=measured_equals(1, ""),
            measured_note=one.describe_calls(),
            baseline_note="zae-limiter 0.17.0: resolve_limits + resolve_access",
        ),
        Figure(
            "effective view read units (four levels, consistent)",
            one.read_units,
            their_units,
            "RCU",
            goal=Goal(
                f"≤ {MAX_READ_UNITS:g} RCU",
                lambda figure: figure.measured <= MAX_READ_UNITS,
            ),
            measured_note="one consistent BatchGetItem of 4 items",
            baseline_note="zae-limiter 0.17.0, eventually consistent",
        ),
        Figure(
            "effective view median latency",
            median(ours),
            median(theirs),
            "ms",
            goal=ratio_at_most(1.0),
            measured_note="EffectiveView.explain",
            baseline_note=f"resolve_limits + resolve_access, n={len(theirs)}",
        ),
        Figure(
            "effective view through its handler, median latency",
            median(handler),
            median(theirs),
            "ms",
            measured_note="the Lambda handler in-process",
            baseline_note="as above",
        ),
    ]
    section.notes += [
        "The effective view: a table zae-limiter 0.17.0 made (create_table, open, a namespace), "
        "configured through its own API at all four levels for one entity and resource, three "
        "limits each, with disabled and cascade set. Ours is EffectiveView.explain in this "
        "process on the client the functions make: one strongly consistent BatchGetItem of the "
        "four items and the walk; theirs is Repository.resolve_limits then resolve_access in "
        "zae-limiter's own process (its probe, in its own virtualenv), the config cache emptied "
        "before each outside the timing, as an application calls them (eventually consistent "
        "reads: 2 + 1.5 RCU). Read units are what DynamoDB Local reports: a consistent read "
        "costs 1 RCU per item of up to 4 KB, so 4 RCU for the four levels (2 RCU is the "
        "eventually consistent price of four items; the view reads consistently, so that an "
        "answer is one state of the table).",
    ]
    return section


def _configured_table(local: DynamoDBLocal) -> ZaeLimiter:
    """A 0.17.0 table with every level of one entity's resolution configured, by zae-limiter."""
    zae = ZaeLimiter("0.17.0", local.endpoint, f"ZAEL-bench-effective-{uuid.uuid4().hex[:8]}")
    request = zae.request
    requests = [
        request("create_table"),
        request("open"),
        request("set_version_record", schema_version="0.10.0", lambda_version="0.17.0"),
        request("register_namespace", name=NAMESPACE),
        request(
            "set_system_defaults", limits=limits(10), on_unavailable="allow", namespace=NAMESPACE
        ),
        request(
            "set_resource_defaults",
            resource=RESOURCE,
            limits=limits(100),
            cascade=True,
            namespace=NAMESPACE,
        ),
        request("create_entity", entity_id=ENTITY, namespace=NAMESPACE),
        request(
            "set_limits",
            entity_id=ENTITY,
            resource="_default_",
            limits=limits(50),
            disabled=False,
            namespace=NAMESPACE,
        ),
        request(
            "set_limits",
            entity_id=ENTITY,
            resource=RESOURCE,
            limits=limits(500),
            disabled="bypass",
            namespace=NAMESPACE,
        ),
    ]
    for answer in zae.many(requests):
        if "error" in answer:
            raise RuntimeError(f"zae-limiter 0.17.0 refused to set up the table: {answer}")
    return zae


def _handler_call(local: DynamoDBLocal, table: str) -> Callable[[], None]:
    """One request of the view through its Lambda handler, in this process."""
    point_handlers_at(local.endpoint, table)
    handler = handler_of(GET_EFFECTIVE_LIMITS)
    path = f"/namespaces/{NAMESPACE}/entities/{ENTITY}/resources/openai%2Fgpt-4/effective"
    parameters = {"namespace": NAMESPACE, "entity": ENTITY, "resource": RESOURCE}

    def call() -> None:
        event = build_event(GET_EFFECTIVE_LIMITS, path, path_parameters=parameters)
        with redirect_stdout(io.StringIO()):
            answer = handler(event, lambda_context(GET_EFFECTIVE_LIMITS))
        if answer["statusCode"] != 200:
            raise RuntimeError(f"the effective view answered {answer}")

    return call


def main(arguments: Sequence[str] | None = None) -> int:
    """This section alone, on a DynamoDB Local of its own; prints its rows."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.effective", description=__doc__)
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_SAMPLES} samples a side")
    options = parser.parse_args(arguments)
    configure_process()
    local = DynamoDBLocal()
    local.start()
    try:
        section = run(local, options.quick, lambda message: print(message, file=sys.stderr))
    finally:
        local.stop()
    print(text_table([section]))
    for note in section.notes:
        print(f"\n{note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
