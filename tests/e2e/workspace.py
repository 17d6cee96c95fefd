"""What a journey works with: a namespace of its own on the target, names for its resources, and
the three ways a user reaches the API (the client library, the command line, raw HTTP)."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from resource_registry_client import NotFoundError, RegistryClient, RequestSigner
from tests.e2e.targets import Target

# The command a user runs, from the virtualenv this suite runs in (make deps installs it there).
RESOURCE_REGISTRY = Path(sys.executable).parent / "resource-registry"
DEFAULT_NAMESPACE = "default"


@dataclass(frozen=True)
class Answer:
    """A raw HTTP answer: status, headers (lower-case names) and body."""

    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


class Workspace:
    """One journey's part of the target, removed when the journey ends.

    On a table with namespaces (every local run) the journey gets a namespace of its own, and
    ``name()`` hands its names out unchanged. On a deployed table without namespaces (zae-limiter
    0.6 to 0.9) it works in ``default`` beside other people's resources, so names carry a unique
    suffix and only those names are deleted at the end; journeys assert only about their names.
    """

    def __init__(self, target: Target, directory: Path) -> None:
        self.target = target
        self.directory = directory
        self.client = RegistryClient(target.url)
        self._signer = RequestSigner()
        self._made: list[str] = []
        self._named: set[tuple[str, str]] = set()
        self.own_namespace = target.namespaced
        self.namespace = self.new_namespace() if target.namespaced else DEFAULT_NAMESPACE
        self._suffix = "" if target.namespaced else f"-e2e-{uuid.uuid4().hex[:8]}"

    def name(self, base: str) -> str:
        """A resource name for this journey: ``base``, unique on a shared namespace."""
        name = base + self._suffix
        self._named.add((self.namespace, name))
        return name

    def mine(self, names: list[str]) -> list[str]:
        """The names of a listing that this journey handed out, in the listing's order."""
        ours = {name for _, name in self._named}
        return [name for name in names if name in ours]

    def new_namespace(self) -> str:
        """Another namespace of this journey's own (skips the journey without namespaces)."""
        if not self.target.namespaced:
            pytest.skip(f"{self.target.label}: its table has no namespaces (zae-limiter < 0.10)")
        namespace = self.target.make_namespace()
        self._made.append(namespace)
        return namespace

    def cli(
        self, *arguments: str, namespace: str | None = None, expect: int = 0
    ) -> subprocess.CompletedProcess[str]:
        """``resource-registry --endpoint URL --namespace NS ARGUMENTS``, run in the journey's
        directory; fails the journey unless it exits with ``expect``."""
        command = [
            str(RESOURCE_REGISTRY),
            "--endpoint",
            self.target.url,
            "--namespace",
            namespace or self.namespace,
            *arguments,
        ]
        done = subprocess.run(
            command,
            cwd=self.directory,
            env=dict(self.target.environment),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        shown = " ".join(["resource-registry", *command[1:]])
        assert done.returncode == expect, (
            f"{shown} exited {done.returncode}, not {expect}\n{done.stdout}{done.stderr}"
        )
        return done

    def cli_json(self, *arguments: str, namespace: str | None = None) -> Any:
        """The ``--json`` answer of a command that succeeds."""
        return json.loads(self.cli("--json", *arguments, namespace=namespace).stdout)

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        """One HTTP request to the API (signed as the client signs), no retry: ``path`` is
        percent-encoded already; ``body`` is sent as JSON unless it is bytes."""
        url = self.target.url + path
        payload = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
        all_headers = dict(headers or {})
        if payload is not None:
            all_headers.setdefault("Content-Type", "application/json")
        signed = self._signer.sign(method, url, all_headers, payload)
        request = urllib.request.Request(url, data=payload, headers=signed, method=method)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return Answer(response.status, _lower(response.headers), response.read())
        except urllib.error.HTTPError as error:
            with error:
                return Answer(error.code, _lower(error.headers), error.read())

    def clean_up(self) -> None:
        """Delete what the journey made: its namespaces with everything in them, or, in a
        shared namespace, the defaults of the names it handed out."""
        for namespace in self._made:
            for resource in self.client.list_resources(namespace, consistent=True):
                with contextlib.suppress(NotFoundError):
                    self.client.delete_defaults(resource, namespace)
            self.target.purge_namespace(namespace)
        if not self.own_namespace:
            for namespace, resource in sorted(self._named):
                with contextlib.suppress(NotFoundError):
                    self.client.delete_defaults(resource, namespace)


def _lower(headers: Any) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}
