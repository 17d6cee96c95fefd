"""Issue 11.6: a cold start measured as Lambda starts one, against boto3 and a DynamoDB client.

Each sample is a whole fresh process, from its start until it is ready to serve: the
interpreter the functions run on (python3.13 when the venv is built on it), its standard library,
and on the path only what Lambda gives a function: boto3 (the runtime's), Powertools with the
X-Ray SDK (the layer's, at requirements.txt's pins, installed once into .venv/lambda-runtime-*)
and the function's code and shared layer exactly as the stack zips them (infra/lambda_assets.py:
the sources with their python3.13 bytecode; no other cache of ours is read or written, as on
Lambda's read-only filesystem). LAMBDA_TASK_ROOT is set and tracing is on, as the stack deploys
it. A handler's process imports the handler module and makes its DynamoDB client (what its first
request needs); the baseline's imports boto3 and makes a DynamoDB client. Samples run round-robin
so machine noise spreads evenly; the figure is the ratio of the medians.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from benchmarks.environment import REGION
from benchmarks.frame_chunks import REPORT_REUSES, FrameChunkCacheError, frame_chunk_cache
from benchmarks.report import Figure, Section, ratio_at_most
from benchmarks.stats import median
from devtools.dynamodb_local import ROOT
from handlers import routes
from infra.lambda_assets import build_assets

# Rounds per figure. The same process's CPU time varies by up to a fifth from run to run here, so
# a median of 31 moves by about 5% between runs; the row the goal is held to takes 101 rounds
# (about 3%), the row shown beside it 31.
GOAL_RUNS, SHOWN_RUNS = 101, 31
IMPORTTIME_RUNS = 3
MAX_RATIO = 1.15
LAMBDA_PYTHON = (3, 13)
HANDLER_MODULES = (
    *(f"handlers.{route.module}" for route in routes.API_ROUTES),
    routes.BACKFILL_HANDLER.rsplit(".", 1)[0],
)
RUNTIME_REQUIREMENTS = ROOT / "requirements.txt"
BASELINE = "boto3 + DynamoDB client"
CALLGRIND_TOTAL = re.compile(r"Collected : (\d+)")
# Arguments: a handler module, or "boto3" for the baseline.
# Once ready it reports the CPU time its process has used since it started, and leaves without
# tearing down: a Lambda process that is ready serves on, so exiting is not part of a cold start.
CHILD = (
    """
import sys
if sys.argv[1] == "boto3":
    import boto3
    boto3.client("dynamodb")
else:
    import importlib
    importlib.import_module(sys.argv[1])
    from resource_registry.clients import dynamodb_client
    dynamodb_client()
import os, time
print(time.process_time() * 1000, flush=True)
"""
    + REPORT_REUSES
    + "os._exit(0)\n"
)


@dataclass(frozen=True)
class Runtime:
    """An interpreter and a search path holding only what a Lambda function has."""

    python: str
    environment: dict[str, str]

    @property
    def version(self) -> str:
        return ".".join(map(str, sys.version_info[:3]))


# The two ways the processes run: as Lambda's python3.13 runs frames, and as this interpreter does.
AS_LAMBDA = "as Lambda's 3.13"
AS_IS = "as is"


def run() -> Section:
    section = Section(
        4,
        "Cold start (whole process, as Lambda starts one; medians of "
        f"{GOAL_RUNS} rounds where a goal is shown, {SHOWN_RUNS} elsewhere)",
    )
    with tempfile.TemporaryDirectory() as task_root:
        as_is = lambda_runtime(Path(task_root))
        runtimes = {AS_IS: as_is}
        try:
            runtimes[AS_LAMBDA] = with_frame_chunk_cache(as_is)
        except FrameChunkCacheError as unavailable:
            section.notes.append(
                f"The frame-chunk cache could not be built ({unavailable}): the goal is held "
                "to the interpreter as is."
            )
        held_to = AS_LAMBDA if AS_LAMBDA in runtimes else AS_IS
        variants = [BASELINE, *HANDLER_MODULES]
        rounds = {label: GOAL_RUNS if label == held_to else SHOWN_RUNS for label in runtimes}
        timings = median_process_ms(variants, runtimes, rounds)
        heaviest = max(HANDLER_MODULES, key=lambda module: timings[held_to, module].cpu_ms)
        packages = extra_import_by_package(heaviest, runtimes[held_to])
        # As is: the churn is kernel work, which callgrind does not count, and the cache's zeroing
        # of each chunk it hands out again (which the fix does not do) would be counted.
        counted = instructions_by_variant(variants, as_is)
    for label in (held_to, *(label for label in runtimes if label != held_to)):
        baseline = timings[label, BASELINE]
        for module in HANDLER_MODULES:
            timing = timings[label, module]
            section.figures.append(
                Figure(
                    f"{module.rsplit('.', 1)[1]}: process CPU, {label}",
                    timing.cpu_ms,
                    baseline.cpu_ms,
                    "ms",
                    goal=ratio_at_most(MAX_RATIO) if label == held_to else None,
                    measured_note=_note(timing, baseline),
                    baseline_note=_note(baseline),
                )
            )
    if counted is None:
        section.notes.append("valgrind is not on PATH: no instruction counts.")
    else:
        for module in HANDLER_MODULES:
            section.figures.append(
                Figure(
                    f"{module.rsplit('.', 1)[1]}: instructions, {AS_IS}",
                    counted[module] / 1e6,
                    counted[BASELINE] / 1e6,
                    "M",
                    measured_note=f"+{(counted[module] - counted[BASELINE]) / 1e6:.0f}M",
                )
            )
    biggest = ", ".join(f"{name} {ms:.0f} ms" for name, ms in packages)
    section.notes += [
        f"Measured: a fresh python {as_is.version} process that imports the handler and makes "
        "its DynamoDB client, with only boto3, Powertools and the X-Ray SDK installed "
        "(requirements.txt), LAMBDA_TASK_ROOT set and tracing on; baseline: the same interpreter "
        "importing boto3 and making a DynamoDB client. Each is timed from its start until it "
        "is ready (teardown is no part of a cold start). Our code is loaded from the assets the "
        "stack deploys, with the bytecode they ship. The figure is the process's CPU time "
        "(user + system), with the wall time (from the parent) beside it. On this shared "
        "machine the same process's CPU time can vary by a fifth from one run to the next, "
        "so every figure is a median over rounds that run each process in turn, "
        f"{GOAL_RUNS} of them for the figures held to the goal.",
        f"'{AS_LAMBDA}': CPython 3.13.0 maps and unmaps a 16 KiB frame chunk each time calls "
        "cross its edge (gh-142183, fixed in the 3.13 releases Lambda runs); every process of "
        "this row ran with benchmarks/frame_chunk_cache.c preloaded, which keeps the freed chunk "
        "as the fix does and counts the maps it saved ('chunks'). The goal is held to it; "
        f"'{AS_IS}' is the same processes on this interpreter unchanged, in the same rounds "
        "(docs/decisions/0009-cold-start-on-lambdas-interpreter.md).",
        "Instructions: the same processes once each under valgrind's callgrind, which counts "
        "the instructions a process runs in user space, the same on every run whatever else "
        "the machine does. It leaves out the kernel's share (system calls, page faults: the "
        f"frame-chunk churn), so they are counted '{AS_IS}'. "
        "Shown without a goal, beside the CPU times, which are what the goal is about and "
        "which vary on a shared machine by more than the differences they measure.",
        f"Where {heaviest}'s extra time goes (python -X importtime, self time of the modules "
        f"it imports beyond boto3 + client, by top-level package): {biggest}.",
    ]
    if sys.version_info[:2] != LAMBDA_PYTHON:
        section.notes.append(
            f"Note: measured on python {as_is.version}, not the functions' "
            f"{'.'.join(map(str, LAMBDA_PYTHON))}."
        )
    return section


def _note(timing: Sample, baseline: Sample | None = None) -> str:
    parts = [f"+{timing.cpu_ms - baseline.cpu_ms:.0f}"] if baseline else []
    parts.append(f"wall {timing.wall_ms:.0f}")
    if timing.chunk_reuses >= 0:
        parts.append(f"{timing.chunk_reuses:,.0f} chunks")
    return "; ".join(parts)


def with_frame_chunk_cache(runtime: Runtime) -> Runtime:
    """The same runtime, with the frame-chunk cache preloaded into every process."""
    environment = {**runtime.environment, "LD_PRELOAD": str(frame_chunk_cache())}
    return Runtime(runtime.python, environment)


def lambda_runtime(task_root: Path) -> Runtime:
    """The venv's base interpreter with boto3, Powertools and the deployed function code on its
    path, writing no bytecode caches: what our code loads is only what its assets ship."""
    packages = runtime_packages()
    # In Lambda's order: the function code (/var/task), the layers (/opt/python), the runtime's.
    search_path = (*build_assets().search_path, packages)
    environment = {
        "PYTHONDONTWRITEBYTECODE": "1",
        "PATH": os.environ.get("PATH", ""),
        "LAMBDA_TASK_ROOT": str(task_root),
        "AWS_LAMBDA_FUNCTION_NAME": "resource-registry-benchmark",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "benchmark",
        "AWS_SECRET_ACCESS_KEY": "benchmark",
        "TABLE_NAME": "resource-registry-benchmark",
        "POWERTOOLS_SERVICE_NAME": "resource-registry",
        "POWERTOOLS_METRICS_NAMESPACE": "ResourceRegistry",
        "PYTHONPATH": os.pathsep.join(str(path) for path in search_path),
    }
    # The base interpreter, not the venv's: its site-packages hold the whole dev toolchain.
    return Runtime(getattr(sys, "_base_executable", sys.executable), environment)


def runtime_packages() -> Path:
    """A directory with requirements.txt installed (once per interpreter version)."""
    version = "".join(map(str, sys.version_info[:2]))
    target = ROOT / ".venv" / f"lambda-runtime-{version}"
    stamp = target / ".installed"
    if stamp.exists() and stamp.stat().st_mtime >= RUNTIME_REQUIREMENTS.stat().st_mtime:
        return target
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--upgrade",
        "--target",
        str(target),
        "-r",
        str(RUNTIME_REQUIREMENTS),
        "-c",
        str(ROOT / "constraints.txt"),
    ]
    installed = subprocess.run(command, capture_output=True, text=True, check=False)
    if installed.returncode:
        raise RuntimeError(f"pip could not install {RUNTIME_REQUIREMENTS}: {installed.stderr}")
    # Lambda's runtime and layers ship compiled bytecode; so does this.
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(target)], check=True)
    stamp.touch()
    return target


@dataclass(frozen=True)
class Sample:
    """One process: its wall time, the CPU time (user + system) it used, and the frame chunks the
    preloaded cache saved it (-1 without the cache)."""

    wall_ms: float
    cpu_ms: float
    chunk_reuses: float = -1


def median_process_ms(
    variants: Sequence[str], runtimes: Mapping[str, Runtime], rounds: Mapping[str, int]
) -> dict[tuple[str, str], Sample]:
    """Each variant on each runtime for its number of rounds, round-robin (machine noise spreads
    over all of them alike); the medians, by (runtime label, variant)."""
    samples: dict[tuple[str, str], list[Sample]] = defaultdict(list)
    for variant in variants:
        _run(variant, next(iter(runtimes.values())))  # reads every file once, into memory
    for round_number in range(max(rounds.values())):
        for variant in variants:
            for label, runtime in runtimes.items():
                if round_number < rounds[label]:
                    samples[label, variant].append(_run(variant, runtime))
    return {
        key: Sample(
            median([sample.wall_ms for sample in values]),
            median([sample.cpu_ms for sample in values]),
            median([sample.chunk_reuses for sample in values]),
        )
        for key, values in samples.items()
    }


def _run(variant: str, runtime: Runtime) -> Sample:
    """Start one process and wait until it is ready (its report), not until it has exited."""
    argument = "boto3" if variant == BASELINE else variant
    command = [runtime.python, "-s", "-c", CHILD, argument]
    start = time.perf_counter()
    process = subprocess.Popen(
        command,
        env=runtime.environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stderr is not None
    report = process.stdout.readline()
    wall_ms = (time.perf_counter() - start) * 1000
    reuses = process.stdout.readline()
    errors = process.stderr.read()
    if process.wait() or not report or not reuses:
        raise RuntimeError(f"{argument} failed: {errors[-500:]}")
    return Sample(wall_ms, float(report), float(reuses))


def instructions_by_variant(variants: Sequence[str], runtime: Runtime) -> dict[str, int] | None:
    """Each variant's instruction count under callgrind, one process at a time per core (the
    count does not depend on what else runs); None without valgrind."""
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        return None
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        counts = pool.map(lambda variant: _instructions(valgrind, variant, runtime), variants)
        return dict(zip(variants, counts, strict=True))


def _instructions(valgrind: str, variant: str, runtime: Runtime) -> int:
    argument = "boto3" if variant == BASELINE else variant
    with tempfile.TemporaryDirectory() as output:
        command = [
            valgrind,
            "--tool=callgrind",
            f"--callgrind-out-file={output}/callgrind.out",
            runtime.python,
            "-s",
            "-c",
            CHILD,
            argument,
        ]
        result = subprocess.run(
            command, env=runtime.environment, capture_output=True, text=True, check=False
        )
    collected = CALLGRIND_TOTAL.search(result.stderr)
    if result.returncode or collected is None:
        raise RuntimeError(f"callgrind of {argument} failed: {result.stderr.strip()[-500:]}")
    return int(collected.group(1))


def _child(argument: str, runtime: Runtime, *options: str) -> subprocess.CompletedProcess[str]:
    command = [runtime.python, "-s", *options, "-c", CHILD, argument]
    result = subprocess.run(
        command, env=runtime.environment, capture_output=True, text=True, check=False
    )
    if result.returncode:
        raise RuntimeError(f"{argument} failed: {result.stderr.strip()[-500:]}")
    return result


def extra_import_by_package(module: str, runtime: Runtime, top: int = 6) -> list[tuple[str, float]]:
    """The packages that make up most of the import time ``module`` adds to boto3 + client."""
    runs: list[dict[str, float]] = []
    for _ in range(IMPORTTIME_RUNS):
        baseline = _self_time_by_module(_child("boto3", runtime, "-X", "importtime").stderr)
        handler = _self_time_by_module(_child(module, runtime, "-X", "importtime").stderr)
        totals: dict[str, float] = defaultdict(float)
        for name, ms in handler.items():
            if name not in baseline:
                totals[name.split(".")[0]] += ms
        runs.append(totals)
    packages = {package for run in runs for package in run}
    medians = {package: median([run.get(package, 0.0) for run in runs]) for package in packages}
    return sorted(medians.items(), key=lambda entry: entry[1], reverse=True)[:top]


def _self_time_by_module(importtime: str) -> Mapping[str, float]:
    """Self time in ms per module, from `-X importtime` lines (in µs)."""
    times: dict[str, float] = {}
    for line in importtime.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, _cumulative, name = line.removeprefix("import time:").split("|")
        times[name.strip()] = int(self_us) / 1000
    return times
