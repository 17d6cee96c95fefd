"""The machine a run measured: figures mean little without it."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import boto3

from devtools.dynamodb_local import DynamoDBLocalError, jar_directory

CPUINFO = Path("/proc/cpuinfo")
MEMINFO = Path("/proc/meminfo")


@dataclass(frozen=True)
class Machine:
    cpu: str
    cores: int
    memory: str
    operating_system: str
    python: str
    java: str
    boto3: str
    dynamodb_local: str
    date: str

    def lines(self) -> list[str]:
        return [
            f"CPU: {self.cpu}, {self.cores} cores",
            f"Memory: {self.memory}",
            f"OS: {self.operating_system}",
            f"Python {self.python}, boto3 {self.boto3}",
            f"Java: {self.java}",
            f"DynamoDB Local: {self.dynamodb_local}",
            f"Date: {self.date}",
        ]


def describe_machine() -> Machine:
    return Machine(
        cpu=_cpu_model(),
        cores=os.cpu_count() or 0,
        memory=_memory(),
        operating_system=platform.platform(),
        python=platform.python_version(),
        java=_java_version(),
        boto3=boto3.__version__,
        dynamodb_local=_dynamodb_local_version(),
        date=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )


def _cpu_model() -> str:
    if CPUINFO.exists():
        for line in CPUINFO.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def _memory() -> str:
    if MEMINFO.exists():
        for line in MEMINFO.read_text().splitlines():
            if line.startswith("MemTotal:"):
                kibibytes = int(line.split()[1])
                return f"{kibibytes / 1024**2:.1f} GiB"
    return "unknown"


def _java_version() -> str:
    java = shutil.which("java")
    if java is None:
        return "not found"
    # `java -version` writes to stderr; its first line names the build.
    result = subprocess.run([java, "-version"], capture_output=True, text=True, check=False)
    return (result.stderr or result.stdout).splitlines()[0].strip()


def _dynamodb_local_version() -> str:
    try:
        return jar_directory().name.removeprefix("dynamodb_local_")
    except DynamoDBLocalError:
        return "not installed"
