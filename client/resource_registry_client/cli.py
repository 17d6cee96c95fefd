"""``resource-registry``: the API from a shell, and plan/apply of a declarative file.

Exit status: 0 success (``plan``: no changes), 2 ``plan`` found changes, 1 any error, including
a change ``apply`` could not make. Click's own usage errors exit 1 too, so that 2 always means
"changes pending".
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import NoReturn

import click

from resource_registry_client import render
from resource_registry_client.cli_desired import apply_command, export_command, plan_command
from resource_registry_client.cli_settings import (
    EXIT_ERROR,
    EXIT_OK,
    JSON_OPTION,
    NAMESPACE_OPTION,
    Settings,
    pass_settings,
    print_result,
    shared_options,
)
from resource_registry_client.client import DEFAULT_ENDPOINT, ENDPOINT_VARIABLE
from resource_registry_client.desired import DesiredFileError
from resource_registry_client.errors import RegistryClientError
from resource_registry_client.limits import (
    Limit,
    LimitSyntaxError,
    check_resource_name,
    parse_named,
)


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
    print_result(settings, {"namespaces": names}, "\n".join(names) or "(none)")


@cli.command("list")
@click.option("--consistent", is_flag=True, help="A strongly consistent read.")
@shared_options
@pass_settings
def list_command(settings: Settings, consistent: bool) -> None:
    """List the resources that have defaults."""
    names = settings.client.list_resources(settings.chosen_namespace, consistent=consistent)
    print_result(settings, {"resources": names}, "\n".join(names) or "(none)")


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
    print_result(settings, render.defaults_json(defaults), render.defaults_text(defaults))


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
    print_result(settings, render.defaults_json(defaults), render.defaults_text(defaults))


@cli.command("delete")
@click.argument("resource")
@click.option("--if-match", metavar="ETAG", help="Only if the resource is still at this ETag.")
@shared_options
@pass_settings
def delete_command(settings: Settings, resource: str, if_match: str | None) -> None:
    """Delete a resource's default limits."""
    settings.client.delete_defaults(resource, settings.chosen_namespace, if_match=if_match)
    print_result(settings, {"resource": resource, "deleted": True}, f"deleted {resource}")


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
    print_result(settings, document, text)


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


# The commands of a declarative file (cli_desired.py), on the same group.
cli.add_command(plan_command)
cli.add_command(apply_command)
cli.add_command(export_command)


def _parse_limits(resource: str, texts: Sequence[str]) -> list[Limit]:
    try:
        check_resource_name(resource)
        return [parse_named(text) for text in texts]
    except LimitSyntaxError as error:
        raise click.UsageError(str(error)) from None


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
