"""Issue 6.4: how long a fresh interpreter takes to import each handler and make its client.

Each figure is the median of fresh processes, run round-robin so that machine noise spreads
evenly. The children run as Lambda would run them: LAMBDA_TASK_ROOT set (the X-Ray SDK then
skips the sampling clients it makes elsewhere) and tracing on, as the stack deploys it.

The goal is on a handler's extra import cost over boto3 plus a DynamoDB client. Subtracting two
medians of whole cold starts would leave that small difference at the mercy of machine noise, so
it is measured directly: a child first imports boto3 and makes a client, then imports the handler.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from benchmarks.environment import REGION
from benchmarks.report import Figure, Goal, Section
from benchmarks.stats import median
from devtools.dynamodb_local import ROOT
from handlers import routes

RUNS = 9
IMPORTTIME_RUNS = 3
MAX_EXTRA_MS = 100.0
HANDLER_MODULES = (
    *(f"handlers.{route.module}" for route in routes.API_ROUTES),
    routes.BACKFILL_HANDLER.rsplit(".", 1)[0],
)
AFTER_CLIENT_MARKER = "--- boto3 and a DynamoDB client are ready ---"
# Arguments: a module, and how to make the client: "boto3", "service" (the handlers' own), "none",
# or "first" to make a boto3 client before importing the module and time the import alone.
CHILD = f"""
import importlib, sys, time
module, client = sys.argv[1], sys.argv[2]
if client == "first":
    import boto3
    boto3.client("dynamodb")
    print({AFTER_CLIENT_MARKER!r}, file=sys.stderr)
start = time.perf_counter()
importlib.import_module(module)
imported = time.perf_counter()
if client == "boto3":
    import boto3
    boto3.client("dynamodb")
elif client == "service":
    from resource_registry.clients import dynamodb_client
    dynamodb_client()
ready = time.perf_counter()
import json
print(json.dumps({{"import_ms": (imported - start) * 1000, "ready_ms": (ready - start) * 1000}}))
"""


@dataclass(frozen=True)
class Variant:
    name: str
    module: str
    client: str

    @property
    def arguments(self) -> list[str]:
        return [self.module, self.client]


@dataclass(frozen=True)
class Timing:
    import_ms: float
    ready_ms: float


BOTO3_ALONE = Variant("boto3 alone", "boto3", "none")
BOTO3_WITH_CLIENT = Variant("boto3 + DynamoDB client", "boto3", "boto3")


def run() -> Section:
    section = Section(4, f"Cold start (fresh interpreter, median of {RUNS})")
    cold = [Variant(module.rsplit(".", 1)[1], module, "service") for module in HANDLER_MODULES]
    extra = [Variant(variant.name, variant.module, "first") for variant in cold]
    with tempfile.TemporaryDirectory() as task_root:
        environment = lambda_environment(task_root)
        timings = _median_timings([BOTO3_ALONE, BOTO3_WITH_CLIENT, *cold, *extra], environment)
        heaviest = max(extra, key=lambda variant: timings[variant].import_ms)
        packages = _extra_import_by_package(heaviest, environment)
    for handler, after_client in zip(cold, extra, strict=True):
        section.figures.append(_figure(handler, timings, timings[after_client].import_ms))
    biggest = ", ".join(f"{name} {ms:.0f} ms" for name, ms in packages)
    section.notes += [
        "Measured: a fresh interpreter imports the handler module and makes its DynamoDB client; "
        "baseline: it imports boto3 and makes a DynamoDB client. '+N extra' is the handler's "
        "import measured on its own after boto3 and a client (the goal's figure).",
        f"Where {heaviest.name}'s extra import time goes (python -X importtime, self time of the "
        f"modules it adds to boto3 + client, by top-level package): {biggest}.",
    ]
    return section


def lambda_environment(task_root: str) -> dict[str, str]:
    """The benchmark's environment, changed to look like a traced Lambda function's."""
    environment = dict(os.environ)
    environment.pop("POWERTOOLS_TRACE_DISABLED", None)
    search_path = (ROOT, ROOT / "lambdas" / "layer" / "python", ROOT / "lambdas")
    environment.update(
        {
            "LAMBDA_TASK_ROOT": task_root,
            "AWS_LAMBDA_FUNCTION_NAME": "resource-registry-benchmark",
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "PYTHONPATH": os.pathsep.join(str(path) for path in search_path),
        }
    )
    return environment


def _figure(handler: Variant, timings: Mapping[Variant, Timing], extra_ms: float) -> Figure:
    baseline = timings[BOTO3_WITH_CLIENT]
    return Figure(
        f"{handler.name}: import + client",
        timings[handler].ready_ms,
        baseline.ready_ms,
        "ms",
        goal=Goal(f"extra ≤ {MAX_EXTRA_MS:g} ms", lambda _: extra_ms <= MAX_EXTRA_MS),
        measured_note=f"+{extra_ms:.0f} extra; import {timings[handler].import_ms:.0f}",
        baseline_note=f"boto3 alone {timings[BOTO3_ALONE].import_ms:.0f}",
    )


def _median_timings(
    variants: Sequence[Variant], environment: Mapping[str, str]
) -> dict[Variant, Timing]:
    samples: dict[Variant, list[Timing]] = defaultdict(list)
    for variant in variants:
        _run_child(variant, environment)  # writes any missing bytecode caches
    for _ in range(RUNS):
        for variant in variants:
            samples[variant].append(_run_child(variant, environment))
    return {
        variant: Timing(
            median([timing.import_ms for timing in timings]),
            median([timing.ready_ms for timing in timings]),
        )
        for variant, timings in samples.items()
    }


def _run_child(variant: Variant, environment: Mapping[str, str]) -> Timing:
    reported = json.loads(_child(variant, environment).stdout.strip().splitlines()[-1])
    return Timing(reported["import_ms"], reported["ready_ms"])


def _child(
    variant: Variant, environment: Mapping[str, str], *interpreter_options: str
) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, *interpreter_options, "-c", CHILD, *variant.arguments]
    result = subprocess.run(command, env=environment, capture_output=True, text=True, check=False)
    if result.returncode:
        raise RuntimeError(f"{variant.name} failed: {result.stderr.strip()[-500:]}")
    return result


def _extra_import_by_package(
    variant: Variant, environment: Mapping[str, str], top: int = 6
) -> list[tuple[str, float]]:
    """The packages that make up most of the import time ``variant`` adds to boto3 + client."""
    runs: list[dict[str, float]] = []
    for _ in range(IMPORTTIME_RUNS):
        stderr = _child(variant, environment, "-X", "importtime").stderr
        runs.append(_self_time_by_package(stderr.split(AFTER_CLIENT_MARKER, 1)[1]))
    packages = {package for run in runs for package in run}
    medians = {package: median([run.get(package, 0.0) for run in runs]) for package in packages}
    return sorted(medians.items(), key=lambda entry: entry[1], reverse=True)[:top]


def _self_time_by_package(importtime: str) -> dict[str, float]:
    """Summed self time in ms per top-level package, from `-X importtime` lines (in µs)."""
    totals: dict[str, float] = defaultdict(float)
    for line in importtime.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, _cumulative, module = line.removeprefix("import time:").split("|")
        totals[module.strip().split(".")[0]] += int(self_us) / 1000
    return dict(totals)
