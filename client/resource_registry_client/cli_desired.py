"""``plan``, ``apply`` and ``export``: the ``resource-registry`` commands of a declarative file."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from resource_registry_client import render
from resource_registry_client.cli_settings import (
    EXIT_CHANGES,
    Settings,
    pass_settings,
    print_result,
    shared_options,
)
from resource_registry_client.desired import DesiredState, dump_desired, load_desired
from resource_registry_client.errors import NotFoundError
from resource_registry_client.plan import Outcome, apply_plan, assess_impact, make_plan


@click.command("plan")
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
    print_result(settings, render.plan_json(plan, impacts), render.plan_text(plan, impacts))
    if plan.has_changes:
        raise click.exceptions.Exit(EXIT_CHANGES)


@click.command("apply")
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
            print_result(settings, {"plan": render.plan_json(plan), "results": []}, "")
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
        print_result(settings, document, "")
    done = sum(result.outcome is Outcome.APPLIED for result in results)
    if done < len(results):
        raise click.ClickException(f"{done} of {len(results)} change(s) applied")
    if not settings.as_json:
        click.echo(f"Applied {done} change(s).")


@click.command("export")
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
