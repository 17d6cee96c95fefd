"""Issue 19.8: a set's latency when each round trip costs what a network adds, next to theirs.

Over loopback a round trip to DynamoDB Local costs nothing, so section 8 compares what DynamoDB
Local does for each set, not what a set costs in AWS, where every call crosses a network. Here
both clients reach the same DynamoDB Local through a LatencyProxy that holds each round trip for
0, 1 or 5 ms, one proxy per added latency, and the proxies count the round trips. Ours makes two
(a consistent GetItem, one TransactWriteItems of four items); zae-limiter 0.17.0's makes four
(GetItem, PutItem, UpdateItem of the registry, audit PutItem), not atomic. The proxies run in
threads of this process, sharing our client's interpreter lock and not zae-limiter's: if
anything, that costs ours.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import ExitStack
from functools import partial
from statistics import LinearRegression, linear_regression

from benchmarks.latency_proxy import LatencyProxy
from benchmarks.metering import DynamoDBMeter
from benchmarks.report import Figure, Section, format_number, ratio_at_most
from benchmarks.stats import elapsed_ms, median, percentile
from benchmarks.zae_limiter_sets import (
    SET_LIMITS,
    SET_ROUNDS,
    THEIRS,
    SetTimings,
    alternate_sets,
    functions_client,
    our_set,
    warm_up,
    zae_limiter_table,
)
from devtools.dynamodb_local import DynamoDBLocal
from resource_registry import service
from resource_registry.store import RegistryStore
from tests.support.zae_limiter import ZaeLimiter

ADDED_MS = (0, 1, 5)
GOAL_ADDED_MS, GOAL_RATIO = 1, 0.75
SAMPLES, QUICK_SAMPLES = 300, 40  # sets per side at each added latency
COUNTED_SETS = 5
FORWARDING_SAMPLES = 200


def run(local: DynamoDBLocal, quick: bool, progress: Callable[[str], None]) -> Section:
    section = Section(9, "Set latency with a network's round trips added (vs zae-limiter 0.17.0)")
    zae = zae_limiter_table(local, "ZAEL-bench-latency")
    samples = QUICK_SAMPLES if quick else SAMPLES
    with ExitStack() as proxies_open:
        proxies = {
            added: proxies_open.enter_context(LatencyProxy(local.endpoint, added))
            for added in ADDED_MS
        }
        stores = {
            proxy.endpoint: service.store_over(functions_client(proxy.endpoint), zae.table_name)
            for proxy in proxies.values()
        }
        for store in stores.values():
            warm_up(store)
        no_delay = proxies[0]
        progress("round trips of one set, counted at the proxy")
        section.figures.append(_round_trips(zae, no_delay))
        section.figures.append(_forwarding(local, no_delay, stores[no_delay.endpoint]))
        progress(f"sets at {', '.join(map(str, ADDED_MS))} ms added per round trip")
        timings = alternate_sets(zae, stores, samples)
        for added, proxy in proxies.items():
            section.figures += _latency_figures(added, proxy, timings[proxy.endpoint])
    section.notes += _notes(proxies, timings, samples)
    return section


def _round_trips(zae: ZaeLimiter, proxy: LatencyProxy) -> Figure:
    """One warm set of ours, and theirs from the difference between probes of 1 and 1 + n sets."""
    # A client of its own: the meter's hooks stay off the clients that are timed.
    client = functions_client(proxy.endpoint)
    meter = DynamoDBMeter(client)
    store = service.store_over(client, zae.table_name)
    our_set(store)  # the first set of a process also reads what it then keeps
    before = proxy.round_trips
    meter.take()
    our_set(store)
    ours = proxy.round_trips - before
    calls = meter.take()

    def theirs(count: int) -> int:
        before = proxy.round_trips
        zae.call(
            "time_set_resource_defaults",
            endpoint_url=proxy.endpoint,
            resource=THEIRS,
            limits=SET_LIMITS,
            count=count,
            warmup=1,
        )
        return proxy.round_trips - before

    # A probe also opens its repository and resolves the namespace: the difference leaves that out.
    their_trips = (theirs(1 + COUNTED_SETS) - theirs(1)) / COUNTED_SETS
    return Figure(
        "set round trips, counted at the proxy",
        ours,
        their_trips,
        "",
        measured_note=calls.describe_calls(),
        baseline_note="zae-limiter 0.17.0, not atomic",
    )


def _forwarding(local: DynamoDBLocal, proxy: LatencyProxy, store: RegistryStore) -> Figure:
    """What the proxy itself adds to a round trip: one GetItem through it at 0 ms and direct."""
    request = {
        "TableName": store.table.name,
        "Key": store.table.layout.registry_key(store.namespace),
    }
    clients = {"through": store.table.client, "direct": functions_client(local.endpoint)}
    timed: dict[str, list[float]] = {name: [] for name in clients}
    for _ in range(FORWARDING_SAMPLES):
        for name, client in clients.items():
            timed[name].append(elapsed_ms(partial(client.get_item, **request)))
    return Figure(
        "one GetItem through the proxy at +0 ms",
        median(timed["through"]),
        median(timed["direct"]),
        "ms",
        measured_note=f"n={FORWARDING_SAMPLES}",
        baseline_note="the same GetItem, direct",
    )


def _latency_figures(added: int, proxy: LatencyProxy, timed: SetTimings) -> list[Figure]:
    goal = ratio_at_most(GOAL_RATIO) if added == GOAL_ADDED_MS else None
    where = f"+{added} ms per round trip"
    if added:
        # A sleep overshoots (the timer's wake-up, the machine's load): say by how much.
        where += f" ({format_number(proxy.mean_delay_ms)} slept)"
    return [
        Figure(
            f"set median latency, {where}",
            median(timed.ours),
            median(timed.theirs),
            "ms",
            goal=goal,
            measured_note=f"n={len(timed.ours)}",
            baseline_note=f"zae-limiter 0.17.0, n={len(timed.theirs)}",
        ),
        Figure(
            f"set p90 latency, {where}",
            percentile(timed.ours, 90),
            percentile(timed.theirs, 90),
            "ms",
        ),
    ]


def _notes(
    proxies: Mapping[int, LatencyProxy], timings: Mapping[str, SetTimings], samples: int
) -> list[str]:
    return [
        "Both clients reach DynamoDB Local through benchmarks/latency_proxy.py, a loopback TCP "
        "proxy (asyncio, in this process) that holds the first bytes of each request, that is "
        "each round trip, for the added latency before forwarding it; one proxy per latency. "
        "'slept' is what its sleeps took per round trip on average. A round trip's whole cost "
        "is that, the proxy's own forwarding (the GetItem row) and DynamoDB Local's work.",
        "Ours is RegistryStore.set_defaults on the client the functions make (CLIENT_CONFIG), "
        "warm, in this process; theirs is zae-limiter 0.17.0's Repository.set_resource_defaults "
        "timed inside its own process (its probe, its own virtualenv), on the same 0.17 table, "
        f"three limits each, {samples} sets each per latency in {SET_ROUNDS} alternating rounds. "
        "Their round trips: the proxy's count over a probe of six sets less one of one, over "
        "five.",
        _lines(proxies, timings),
    ]


def _lines(proxies: Mapping[int, LatencyProxy], timings: Mapping[str, SetTimings]) -> str:
    """Straight lines through the medians against what the proxy slept, and where they cross."""
    slept = [proxy.mean_delay_ms for proxy in proxies.values()]
    ours = linear_regression(slept, [median(timings[p.endpoint].ours) for p in proxies.values()])
    theirs = linear_regression(
        slept, [median(timings[p.endpoint].theirs) for p in proxies.values()]
    )

    def at(line: LinearRegression, added: float) -> float:
        return line.intercept + line.slope * added

    def crossing(ratio: float) -> str:
        # ours.intercept + ours.slope·d = ratio · (theirs.intercept + theirs.slope·d)
        gain = ratio * theirs.slope - ours.slope
        if gain <= 0:
            return "never"
        added = (ours.intercept - ratio * theirs.intercept) / gain
        return "from 0 ms" if added <= 0 else f"from {format_number(added)} ms"

    exact = at(ours, GOAL_ADDED_MS) / at(theirs, GOAL_ADDED_MS)
    return (
        "Lines fitted to the medians against what the proxy slept per round trip: ours "
        f"{format_number(ours.intercept)} ms + {format_number(ours.slope)}·d, theirs "
        f"{format_number(theirs.intercept)} ms + {format_number(theirs.slope)}·d per set. On "
        f"them ours is {format_number(exact)}x theirs at exactly {GOAL_ADDED_MS} ms a round "
        f"trip, faster {crossing(1.0)}, and at {GOAL_RATIO}x or less {crossing(GOAL_RATIO)}."
    )
