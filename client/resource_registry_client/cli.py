"""``resource-registry``: the API from a shell, and plan/apply of a declarative file.

Exit status: 0 success (``plan``: no changes), 2 ``plan`` found changes, 1 any error, including
a change ``apply`` could not make. Click's own usage errors exit 1 too, so that 2 always means
"changes pending".
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import click

from resource_registry_client import render
from resource_registry_client.client import (
    DEFAULT_ENDPOINT,
    ENDPOINT_VARIABLE,
    RegistryClient,
)
from resource_registry_client.desired import (
    DesiredFileError,
    DesiredState,
    dump_desired,
    load_desired,
)
from resource_registry_client.errors import NotFoundError, RegistryClientError
from resource_registry_client.limits import (
    Limit,
    LimitSyntaxError,
    check_resource_name,
    parse_named,
)
from resource_registry_client.paths import DEFAULT_NAMESPACE
from resource_registry_client.plan import Outcome, apply_plan, assess_impact, make_plan

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


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--endpoint",
    metavar="URL",
    default=None,
    help=f"The API's base URL, e.g. the stack's ApiUrl [env {ENDPOINT_VARIABLE}; "
    f"default {DEFAULT_ENDPOINT}, the local server of make run, on PORT when it is set].",
)
@NAMESPACE_OPTION
@JSON_OPTION
@click.pass_context
def cli(ctx: click.Context, endpoint: str | None, namespace: str | None, as_json: bool) -> None:
    """Read and change the resource registry's default limits, or make them match a file.

    Requests are signed with SigV4 (service execute-api) whenever the AWS credential chain finds
    credentials. A limit is NAME=CAPACITY/PERIOD[,burst=N][,refill=N], e.g. rpm=500/1m or
    tpm=100000/1m,burst=150000 (PERIOD in s, m, h or d).
    """
    ctx.obj = Settings(endpoint, namespace, as_json)


@cli.command("namespaces")
@shared_options
@pass_settings
def namespaces_command(settings: Settings) -> None:
    """List the active namespaces."""
    names = settings.client.list_namespaces()
    _print(settings, {"namespaces": names}, "\n".join(names) or "(none)")


@cli.command("list")
@click.option("--consistent", is_flag=True, help="A strongly consistent read.")
@shared_options
@pass_settings
def list_command(settings: Settings, consistent: bool) -> None:
    """List the resources that have defaults."""
    names = settings.client.list_resources(settings.chosen_namespace, consistent=consistent)
    _print(settings, {"resources": names}, "\n".join(names) or "(none)")


@cli.command("get")
@click.argument("resource")
@click.option(
    "--etag",
    "etag_only",
    is_flag=True,
    help="Print only the ETag, for --if-match: etag=$(resource-registry get NAME --etag).",
)
@shared_options
@pass_settings
def get_command(settings: Settings, resource: str, etag_only: bool) -> None:
    """Show a resource's default limits and ETag."""
    defaults = settings.client.get_defaults(resource, settings.chosen_namespace)
    if etag_only:
        if defaults.etag is None:
            raise click.ClickException(f"the API sent no ETag for {resource}")
        click.echo(defaults.etag)
        return
    _print(settings, render.defaults_json(defaults), render.defaults_text(defaults))


@cli.command("set")
@click.argument("resource")
@click.option(
    "--limit",
    "-l",
    "limits",
    multiple=True,
    required=True,
    metavar="NAME=CAPACITY/PERIOD[,burst=N][,refill=N]",
    help="A limit; repeat for each. The given set replaces the resource's whole set.",
)
@click.option("--if-match", metavar="ETAG", help="Only if the resource is still at this ETag.")
@click.option("--create-only", is_flag=True, help="Only if the resource has no defaults yet.")
@shared_options
@pass_settings
def set_command(
    settings: Settings,
    resource: str,
    limits: tuple[str, ...],
    if_match: str | None,
    create_only: bool,
) -> None:
    """Replace a resource's default limits, e.g. set gpt-4 -l rpm=500/1m -l tpm=100000/1m."""
    if if_match is not None and create_only:
        raise click.UsageError("--if-match and --create-only exclude each other")
    parsed = _parse_limits(resource, limits)
    defaults = settings.client.set_defaults(
        resource, parsed, settings.chosen_namespace, if_match=if_match, create_only=create_only
    )
    _print(settings, render.defaults_json(defaults), render.defaults_text(defaults))


@cli.command("delete")
@click.argument("resource")
@click.option("--if-match", metavar="ETAG", help="Only if the resource is still at this ETag.")
@shared_options
@pass_settings
def delete_command(settings: Settings, resource: str, if_match: str | None) -> None:
    """Delete a resource's default limits."""
    settings.client.delete_defaults(resource, settings.chosen_namespace, if_match=if_match)
    _print(settings, {"resource": resource, "deleted": True}, f"deleted {resource}")


@cli.command("history")
@click.argument("resource")
@click.option("--page-size", type=click.IntRange(1, 100), help="Events per page (API default 20).")
@click.option("--cursor", help="Continue from a previous page's cursor.")
@click.option("--all", "every_page", is_flag=True, help="Follow the cursor to the last event.")
@shared_options
@pass_settings
def history_command(
    settings: Settings,
    resource: str,
    page_size: int | None,
    cursor: str | None,
    every_page: bool,
) -> None:
    """Show who changed a resource's defaults and how, newest first."""
    client, namespace = settings.client, settings.chosen_namespace
    if every_page:
        events = list(client.iter_history(resource, namespace, page_size=page_size))
        next_cursor = None
    else:
        page = client.history(resource, namespace, limit=page_size, cursor=cursor)
        events, next_cursor = list(page.events), page.next_cursor
    text = render.history_table(events)
    if next_cursor:
        text += f"\nmore: history {resource} --cursor {next_cursor}"
    document = {
        "resource": resource,
        "events": [render.event_json(event) for event in events],
        "next_cursor": next_cursor,
    }
    _print(settings, document, text)


@cli.command("explain")
@click.argument("entity")
@click.argument("resource")
@shared_options
@pass_settings
def explain_command(settings: Settings, entity: str, resource: str) -> None:
    """Show the limits zae-limiter applies to ENTITY on RESOURCE, and why.

    Each limit with the level that decided it (entity, entity_default, resource or system),
    disabled and cascade with theirs, and what every level holds; --json prints the API's
    answer."""
    effective = settings.client.explain(entity, resource, settings.chosen_namespace)
    if settings.as_json:
        click.echo(effective.text)  # as the API sent it: numbers exactly as stored
    else:
        click.echo(render.effective_text(effective))


@cli.command("plan")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--prune", is_flag=True, help="Also delete resources the file leaves out.")
@shared_options
@pass_settings
def plan_command(settings: Settings, file: str, prune: bool) -> None:
    """Show what apply would change and who each change reaches; exit 2 if anything, 0 if
    nothing.

    Only the file's namespaces are read (with --namespace, only that one of them). Each change is
    also sent as a dry run, guarded as apply guards it, which writes nothing: it says which
    entities the change reaches (all but those with a config of their own) and, for a delete,
    whether system defaults take over."""
    client = settings.client  # a bad endpoint is told before anything is read
    desired = _load(file)
    plan = make_plan(client, desired, prune=prune, namespaces=_only(settings, desired))
    impacts = assess_impact(client, plan)
    _print(settings, render.plan_json(plan, impacts), render.plan_text(plan, impacts))
    if plan.has_changes:
        raise click.exceptions.Exit(EXIT_CHANGES)


@cli.command("apply")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--prune", is_flag=True, help="Also delete resources the file leaves out.")
@click.option("--yes", "-y", is_flag=True, help="Apply without asking.")
@shared_options
@pass_settings
def apply_command(settings: Settings, file: str, prune: bool, yes: bool) -> None:
    """Plan, ask, then make exactly the planned changes.

    Each change is guarded by the ETag the plan read: a resource changed in the meantime is
    refused and left as it is (exit 1); the others are still applied."""
    client = settings.client  # a bad endpoint is told before anything is read
    desired = _load(file)
    plan = make_plan(client, desired, prune=prune, namespaces=_only(settings, desired))
    if not settings.as_json:
        click.echo(render.plan_text(plan))
    if not plan.has_changes:
        if settings.as_json:
            _print(settings, {"plan": render.plan_json(plan), "results": []}, "")
        return
    if not yes and not _can_ask():
        raise click.ClickException(
            f"not applied; nothing changed: apply asks before {len(plan.changes)} change(s), "
            "and there is no terminal to answer on; pass --yes to apply without asking"
        )
    question = f"Apply these {len(plan.changes)} change(s) to {client.endpoint}?"
    if not yes and not click.confirm(question, err=True):
        raise click.ClickException("not applied; nothing changed")

    def report(result: Any) -> None:
        if not settings.as_json:
            click.echo(render.result_line(result))

    results = apply_plan(client, plan, report)
    if settings.as_json:
        document = {
            "plan": render.plan_json(plan),
            "results": [render.result_json(result) for result in results],
        }
        _print(settings, document, "")
    done = sum(result.outcome is Outcome.APPLIED for result in results)
    if done < len(results):
        raise click.ClickException(f"{done} of {len(results)} change(s) applied")
    if not settings.as_json:
        click.echo(f"Applied {done} change(s).")


@cli.command("export")
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False), help="Write to FILE instead of stdout."
)
@click.option("--all-namespaces", is_flag=True, help="Every active namespace, not just one.")
@shared_options
@pass_settings
def export_command(settings: Settings, output: str | None, all_namespaces: bool) -> None:
    """Write the current defaults as a file that plan and apply read."""
    client = settings.client
    names = client.list_namespaces() if all_namespaces else [settings.chosen_namespace]
    namespaces = {}
    for namespace in names:
        resources = {}
        for resource in client.list_resources(namespace, consistent=True):
            try:
                resources[resource] = client.get_defaults(resource, namespace).limits
            except NotFoundError:
                continue  # deleted since it was listed
        namespaces[namespace] = resources
    text = dump_desired(DesiredState(namespaces))
    if output is None or output == "-":
        click.echo(text, nl=False)
        return
    target = Path(output)
    partial = target.with_name(f".{target.name}.partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(target)  # a reader never sees half a file
    count = sum(len(resources) for resources in namespaces.values())
    click.echo(f"wrote {count} resource(s) in {len(namespaces)} namespace(s) to {output}", err=True)


def _parse_limits(resource: str, texts: Sequence[str]) -> list[Limit]:
    try:
        check_resource_name(resource)
        return [parse_named(text) for text in texts]
    except LimitSyntaxError as error:
        raise click.UsageError(str(error)) from None


def _load(file: str) -> DesiredState:
    try:
        text = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise click.ClickException(f"cannot read {file}: {error}") from None
    return load_desired(text, "<stdin>" if file == "-" else file)


def _can_ask() -> bool:
    """Whether a question can be answered: stdin is a terminal (a pipe may hold the file)."""
    return sys.stdin.isatty()


def _only(settings: Settings, desired: DesiredState) -> list[str] | None:
    """The one namespace --namespace names, which the file must have; None: all of the file's."""
    if settings.namespace is None:
        return None
    if settings.namespace not in desired.namespaces:
        raise click.ClickException(f"the file has no namespace {settings.namespace!r}")
    return [settings.namespace]


def _print(settings: Settings, document: Any, text: str) -> None:
    if settings.as_json:
        click.echo(json.dumps(document, indent=2))
    elif text:
        click.echo(text)


def run(argv: Sequence[str] | None = None) -> int:
    """Run the command with ``argv``; the exit status, every error reported in one line."""
    try:
        status = cli.main(args=argv, prog_name="resource-registry", standalone_mode=False)
    except click.exceptions.Exit as done:
        return done.exit_code
    except click.exceptions.Abort:
        click.echo("aborted", err=True)  # changes already reported as applied stay applied
        return EXIT_ERROR
    except click.UsageError as error:
        error.show()  # with the usage line and where to find help
        return EXIT_ERROR
    except click.ClickException as error:
        click.echo(f"error: {error.format_message()}", err=True)
        return EXIT_ERROR
    except (DesiredFileError, RegistryClientError) as error:
        click.echo(f"error: {_describe(error)}", err=True)
        return EXIT_ERROR
    return status if isinstance(status, int) else EXIT_OK


def main() -> NoReturn:
    """The console script's entry point."""
    sys.exit(run(sys.argv[1:]))


def _describe(error: Exception) -> str:
    if isinstance(error, DesiredFileError):
        return f"the file does not follow the schema:\n{error}"
    return str(error)
