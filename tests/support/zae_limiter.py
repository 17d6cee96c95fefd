"""Drive a released zae-limiter package from the tests, through its probe in its own virtualenv.

Each version lives in ``.venv-zae-limiter/<version>/`` (built by ``make interop-venvs``, which
``make test`` runs): its boto3 pins differ from ours, so it never shares our interpreter. A call
runs ``tests/interop/zae_limiter_probe.py`` with that virtualenv's python and exchanges JSON over
stdin/stdout; one call may carry many requests, to pay for one process start.

    limiter = ZaeLimiter("0.17.0", endpoint_url, "ZAEL-example")
    limiter.create_table()
    limiter.open()
    limiter.set_resource_defaults("openai/gpt-4", [{"name": "rpm", "capacity": 100,
                                                    "refill_period_seconds": 60}])
    limiter.get_resource_defaults("openai/gpt-4")   # -> [{"name": "rpm", ...}]
    limiter.many([limiter.request("list_resources_with_defaults"), ...])  # one process
    with limiter.running():  # one process for every call inside (a start costs seconds)
        ...
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parents[2]
VENVS = ROOT / ".venv-zae-limiter"
PROBE = ROOT / "tests" / "interop" / "zae_limiter_probe.py"
# The releases the interop tests cover: flat (0.6), composite (0.8-0.9), namespaced (0.10+).
VERSIONS = ("0.6.0", "0.9.1", "0.17.0")
PROBE_TIMEOUT_SECONDS = 120
# Our own Python path points into this repository; the probe must see only its virtualenv.
HIDDEN_VARIABLES = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")


def venv_python(version: str) -> Path:
    return VENVS / version / "bin" / "python"


def venv_problem(version: str) -> str | None:
    """None when the version's virtualenv is ready, else one line that says what to run."""
    if version not in VERSIONS:
        return f"zae-limiter {version} is not one of the versions under test {VERSIONS}"
    if not (VENVS / version / ".installed").exists() or not venv_python(version).exists():
        return (
            f"the zae-limiter {version} virtualenv is missing: run 'make interop-venvs' "
            f"(make test does it) to build {VENVS.name}/{version}/"
        )
    return None


class ZaeLimiterError(Exception):
    """zae-limiter (or the probe) refused a request: its exception's type name and message."""

    def __init__(self, answer: dict[str, Any]) -> None:
        self.error: str = answer["error"]
        self.message: str = answer.get("message", "")
        self.code: str | None = answer.get("code")
        super().__init__(f"{self.error}: {self.message}")


class ZaeLimiter:
    """One zae-limiter release over one table, each method one probe process."""

    def __init__(
        self, version: str, endpoint_url: str, table_name: str, region: str = "us-east-1"
    ) -> None:
        problem = venv_problem(version)
        if problem is not None:
            raise RuntimeError(problem)
        self.version = version
        self.endpoint_url = endpoint_url
        self.table_name = table_name
        self.region = region
        self._process: subprocess.Popen[str] | None = None
        self._process_errors: IO[str] | None = None

    @property
    def namespaced(self) -> bool:
        """True from 0.10 on: namespaces exist and keys carry a namespace id."""
        major, minor = (int(part) for part in self.version.split(".")[:2])
        return (major, minor) >= (0, 10)

    @property
    def has_burst(self) -> bool:
        """True before 0.10 (0.17.0 has no burst)."""
        return not self.namespaced

    def request(self, op: str, **arguments: Any) -> dict[str, Any]:
        """One request for ``many``; None-valued arguments are left out."""
        request = {name: value for name, value in arguments.items() if value is not None}
        return {"op": op, **request}

    def many(self, requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Run requests in order in one process; each answer is {"result"} or {"error", ...}."""
        connection = {
            "endpoint_url": self.endpoint_url,
            "region": self.region,
            "table_name": self.table_name,
        }
        answers = self._run([{**connection, **request} for request in requests])
        assert isinstance(answers, list) and len(answers) == len(requests), answers
        return answers

    def call(self, op: str, **arguments: Any) -> Any:
        """Run one request; its result, or ZaeLimiterError."""
        return result_of(self.many([self.request(op, **arguments)])[0])

    @contextmanager
    def running(self) -> Iterator[ZaeLimiter]:
        """One probe process (``--lines``) answers every call made inside the block."""
        if self._process is not None:
            raise RuntimeError("this ZaeLimiter already has a running probe")
        with tempfile.TemporaryFile("w+") as errors:
            self._process_errors = errors
            self._process = subprocess.Popen(
                [str(venv_python(self.version)), str(PROBE), "--lines"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=errors,
                text=True,
                env=probe_environment(),
            )
            try:
                yield self
            finally:
                process, self._process, self._process_errors = self._process, None, None
                if process.stdin is not None:
                    process.stdin.close()
                try:
                    process.wait(timeout=PROBE_TIMEOUT_SECONDS)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
                if process.stdout is not None:
                    process.stdout.close()

    def _run(self, payload: Any) -> Any:
        if self._process is not None:
            return self._run_in_process(self._process, payload)
        completed = subprocess.run(
            [str(venv_python(self.version)), str(PROBE)],
            input=json.dumps(payload),
            capture_output=True,
            text=True,
            env=probe_environment(),
            timeout=PROBE_TIMEOUT_SECONDS,
            check=False,
        )
        if completed.returncode != 0 or not completed.stdout.strip():
            raise RuntimeError(
                f"zae-limiter {self.version} probe exited {completed.returncode}: "
                f"{completed.stderr.strip()[-2000:]}"
            )
        return json.loads(completed.stdout)

    def _run_in_process(self, process: subprocess.Popen[str], payload: Any) -> Any:
        assert process.stdin is not None and process.stdout is not None
        try:
            process.stdin.write(json.dumps(payload) + "\n")
            process.stdin.flush()
        except BrokenPipeError:
            pass  # it exited: the empty read below says so, with its stderr
        # One line answers one line, so nothing is ever left in the reader's buffer: waiting on
        # the pipe itself is safe.
        ready, _, _ = select.select([process.stdout], [], [], PROBE_TIMEOUT_SECONDS)
        line = process.stdout.readline() if ready else ""
        if not line:
            if ready:
                process.wait(timeout=PROBE_TIMEOUT_SECONDS)
            raise RuntimeError(
                f"zae-limiter {self.version} probe "
                + (f"exited {process.returncode}" if ready else "did not answer in time")
                + f": {self._errors_so_far()[-2000:]}"
            )
        return json.loads(line)

    def _errors_so_far(self) -> str:
        if self._process_errors is None:
            return ""
        self._process_errors.seek(0)
        return self._process_errors.read().strip()

    # One method per probe operation, named as zae-limiter names them.

    def version_info(self) -> dict[str, str]:
        return dict(self.call("version"))

    def create_table(self) -> None:
        self.call("create_table")

    def open(self, namespace: str | None = None) -> dict[str, str] | None:
        """What an application's first start writes (version record; 0.10+: namespace)."""
        result = self.call("open", namespace=namespace)
        return dict(result) if result is not None else None

    def get_version_record(self) -> dict[str, Any] | None:
        result = self.call("get_version_record")
        return dict(result) if result is not None else None

    def set_version_record(self, schema_version: str, lambda_version: str | None = None) -> None:
        self.call(
            "set_version_record", schema_version=schema_version, lambda_version=lambda_version
        )

    def register_namespace(self, name: str) -> str:
        return str(self.call("register_namespace", name=name))

    def list_namespaces(self) -> list[dict[str, str]]:
        return list(self.call("list_namespaces"))

    def set_resource_defaults(
        self,
        resource: str,
        limits: list[dict[str, Any]],
        *,
        namespace: str | None = None,
        principal: str | None = None,
        disabled: bool | str | None = None,
        cascade: bool | None = None,
    ) -> None:
        self.call(
            "set_resource_defaults",
            resource=resource,
            limits=limits,
            namespace=namespace,
            principal=principal,
            disabled=disabled,
            cascade=cascade,
        )

    def get_resource_defaults(
        self, resource: str, namespace: str | None = None
    ) -> list[dict[str, Any]]:
        return list(self.call("get_resource_defaults", resource=resource, namespace=namespace))

    def delete_resource_defaults(
        self, resource: str, namespace: str | None = None, principal: str | None = None
    ) -> None:
        self.call(
            "delete_resource_defaults", resource=resource, namespace=namespace, principal=principal
        )

    def list_resources_with_defaults(self, namespace: str | None = None) -> list[str]:
        return list(self.call("list_resources_with_defaults", namespace=namespace))

    def get_resource_disabled(self, resource: str, namespace: str | None = None) -> Any:
        return self.call("get_resource_disabled", resource=resource, namespace=namespace)

    def get_resource_cascade(self, resource: str, namespace: str | None = None) -> Any:
        return self.call("get_resource_cascade", resource=resource, namespace=namespace)

    def get_audit_events(
        self, entity_id: str, namespace: str | None = None, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """Newest first; ``entity_id`` is ``$RESOURCE:{name}`` for a resource's defaults."""
        return list(
            self.call("get_audit_events", entity_id=entity_id, namespace=namespace, limit=limit)
        )

    def set_audit_retention_days(self, days: int, namespace: str | None = None) -> None:
        self.call("set_audit_retention_days", days=days, namespace=namespace)

    def set_system_defaults(
        self,
        limits: list[dict[str, Any]],
        *,
        on_unavailable: str | None = None,
        namespace: str | None = None,
    ) -> None:
        self.call(
            "set_system_defaults",
            limits=limits,
            on_unavailable=on_unavailable,
            namespace=namespace,
        )

    def create_entity(
        self,
        entity_id: str,
        *,
        parent_id: str | None = None,
        cascade: bool | None = None,
        namespace: str | None = None,
    ) -> None:
        self.call(
            "create_entity",
            entity_id=entity_id,
            parent_id=parent_id,
            cascade=cascade,
            namespace=namespace,
        )

    def set_limits(
        self,
        entity_id: str,
        limits: list[dict[str, Any]],
        resource: str = "_default_",
        *,
        namespace: str | None = None,
        disabled: bool | str | None = None,
        cascade: bool | None = None,
    ) -> None:
        """An entity's config for one resource (``_default_``: every other one)."""
        self.call(
            "set_limits",
            entity_id=entity_id,
            limits=limits,
            resource=resource,
            namespace=namespace,
            disabled=disabled,
            cascade=cascade,
        )

    def resolve(
        self, entity_id: str, resource: str, namespace: str | None = None
    ) -> dict[str, Any]:
        """zae-limiter's own resolution: ``limits`` (None when no level defines one),
        ``on_unavailable``, ``source`` and, from 0.17, ``access`` (resolve_access)."""
        return dict(
            self.call("resolve", entity_id=entity_id, resource=resource, namespace=namespace)
        )


def probe_environment() -> dict[str, str]:
    """Ours without the variables that would point the probe's python at this repository."""
    return {name: value for name, value in os.environ.items() if name not in HIDDEN_VARIABLES}


def result_of(answer: dict[str, Any]) -> Any:
    """The result of one answer from ``many``, or its error raised as ZaeLimiterError."""
    if "error" in answer:
        raise ZaeLimiterError(answer)
    return answer["result"]
