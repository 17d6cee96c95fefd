"""The settings every ``resource-registry`` command shares: options, exit statuses, printing."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import click

from resource_registry_client.client import RegistryClient
from resource_registry_client.paths import DEFAULT_NAMESPACE

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_CHANGES = 2


@dataclass
class Settings:
    """The options that apply to every command, given before or after the command's name."""

    endpoint: str | None  # None: RESOURCE_REGISTRY_URL, else the local server
    namespace: str | None = None
    as_json: bool = False
    _client: RegistryClient | None = field(default=None, repr=False)

    @property
    def client(self) -> RegistryClient:
        if self._client is None:
            self._client = RegistryClient(self.endpoint, endpoint_name="--endpoint")
        return self._client

    @property
    def chosen_namespace(self) -> str:
        return self.namespace or DEFAULT_NAMESPACE


NAMESPACE_OPTION = click.option(
    "--namespace", "-n", default=None, metavar="NAME", help="Namespace (default: default)."
)
JSON_OPTION = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")


def shared_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--namespace`` and ``--json``, accepted after a command's name as well as before it."""

    @NAMESPACE_OPTION
    @JSON_OPTION
    @functools.wraps(command)
    def with_shared(*args: Any, namespace: str | None, as_json: bool, **kwargs: Any) -> Any:
        settings = click.get_current_context().find_object(Settings)
        assert settings is not None
        if namespace is not None:
            settings.namespace = namespace
        settings.as_json = settings.as_json or as_json
        return command(*args, **kwargs)

    return with_shared


pass_settings = click.make_pass_decorator(Settings)


def print_result(settings: Settings, document: Any, text: str) -> None:
    """``document`` as JSON under --json, else ``text`` (nothing when it is empty)."""
    if settings.as_json:
        click.echo(json.dumps(document, indent=2))
    elif text:
        click.echo(text)
