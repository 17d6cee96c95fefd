"""User journeys through the public HTTP API and the `resource-registry` command, against any
target: make run's program in `make test`, a deployed stack with `make e2e STACK=name`.

Each journey works in a namespace of its own (tests/e2e/workspace.py) and asserts only about the
names it made, so the same journeys run unchanged on a table other people use.
"""

from __future__ import annotations

import uuid
from urllib.parse import quote

import pytest
import yaml

from resource_registry_client import (
    NotFoundError,
    PreconditionFailedError,
    parse_named,
)
from tests.e2e.workspace import Workspace

RPM_500 = [parse_named("rpm=500/1m")]


def defaults_path(namespace: str, resource: str) -> str:
    return f"/namespaces/{namespace}/resources/{quote(resource, safe='')}/defaults"


def limits_of(answer: dict[str, object]) -> dict[str, str]:
    """``{name: "CAPACITY/PERIODs"}`` of a --json answer's limits."""
    limits = answer["limits"]
    assert isinstance(limits, list)
    return {
        limit["name"]: f"{limit['capacity']}/{limit['refill_period_seconds']}s" for limit in limits
    }


def test_a_resource_is_created_read_and_listed(workspace: Workspace) -> None:
    # Given a name with '/' and ':', which travels as one percent-encoded path segment
    name = workspace.name("openai/gpt-4:turbo")
    # When a user sets its limits with the command line
    written = workspace.cli_json("set", name, "-l", "rpm=500/1m", "-l", "tpm=100000/1m")
    # Then the command, the client library and raw HTTP all read them back, with one ETag
    assert limits_of(written) == {"rpm": "500/60s", "tpm": "100000/60s"}
    shown = workspace.cli("get", name).stdout
    assert f"{name}  ETag {written['etag']}" in shown
    assert ["rpm", "500"] in [line.split()[:2] for line in shown.splitlines()]
    read = workspace.client.get_defaults(name, workspace.namespace)
    assert (read.etag, [limit.compact for limit in read.limits]) == (
        written["etag"],
        ["500/1m", "100000/1m"],
    )
    raw = workspace.request("GET", defaults_path(workspace.namespace, name))
    assert (raw.status, raw.headers["etag"], raw.json["resource"]) == (200, read.etag, name)
    # And it is listed, by the command and by the client (one GetItem of the registry)
    assert workspace.mine(workspace.cli_json("list", "--consistent")["resources"]) == [name]
    listed = workspace.client.list_resources(workspace.namespace, consistent=True)
    assert workspace.mine(listed) == [name]


def test_a_conditional_update_applies_only_at_the_etag_it_read(workspace: Workspace) -> None:
    name = workspace.name("gpt-4")
    workspace.client.set_defaults(name, RPM_500, workspace.namespace)
    # Given the ETag of a read
    etag = workspace.cli("get", name, "--etag").stdout.strip()
    assert etag.startswith('"') and etag.endswith('"')
    # When a user updates at that ETag, it goes through and the ETag moves on
    updated = workspace.cli_json("set", name, "-l", "rpm=600/1m", "--if-match", etag)
    assert limits_of(updated) == {"rpm": "600/60s"} and updated["etag"] != etag
    # Then a second update at the old ETag is refused with 412 and changes nothing
    refused = workspace.cli("set", name, "-l", "rpm=700/1m", "--if-match", etag, expect=1)
    assert "412" in refused.stderr
    with pytest.raises(PreconditionFailedError) as error:
        workspace.client.set_defaults(
            name, [parse_named("rpm=800/1m")], workspace.namespace, if_match=etag
        )
    assert error.value.code == "PreconditionFailed"
    current = workspace.client.get_defaults(name, workspace.namespace)
    assert (current.etag, [limit.compact for limit in current.limits]) == (
        updated["etag"],
        ["600/1m"],
    )
    # And a conditional read answers 304 at the current ETag, the limits at the old one
    assert (
        workspace.client.get_defaults_if_changed(name, current.etag or "", workspace.namespace)
        is None
    )
    assert workspace.client.get_defaults_if_changed(name, etag, workspace.namespace) == current
    # And create-only refuses a resource that has defaults, and creates one that has none
    assert "412" in workspace.cli("set", name, "-l", "rpm=1/1s", "--create-only", expect=1).stderr
    fresh = workspace.name("claude")
    workspace.cli("set", fresh, "-l", "rpm=50/1s", "--create-only")
    assert workspace.client.get_defaults(fresh, workspace.namespace).limits == (
        parse_named("rpm=50/1s"),
    )


def test_history_tells_every_change_newest_first(workspace: Workspace) -> None:
    # Given a resource set, updated and deleted
    name = workspace.name("mistral")
    workspace.client.set_defaults(name, RPM_500, workspace.namespace)
    workspace.cli("set", name, "-l", "rpm=600/1m", "-l", "tpm=9000/1m")
    workspace.cli("delete", name)
    # When a user reads its history
    history = workspace.cli_json("history", name)
    # Then every change is there, newest first, with who made it and the limits it set
    events = history["events"]
    assert [event["action"] for event in events] == ["limits_deleted", "limits_set", "limits_set"]
    assert [limits_of(event) for event in events[1:]] == [
        {"rpm": "600/60s", "tpm": "9000/60s"},
        {"rpm": "500/60s"},
    ]
    assert all(event["principal"] for event in events)
    assert history["next_cursor"] is None
    # And page by page (the cursor of each page) it is the same story
    paged = list(workspace.client.iter_history(name, workspace.namespace, page_size=1))
    assert [event.event_id for event in paged] == [event["event_id"] for event in events]
    first_page = workspace.cli("history", name, "--page-size", "1").stdout
    assert f"more: history {name} --cursor " in first_page


def test_namespaces_keep_their_own_defaults(workspace: Workspace) -> None:
    # Given a second namespace, and the same name in both
    other = workspace.new_namespace()
    name = workspace.name("gpt-4")
    workspace.client.set_defaults(name, RPM_500, workspace.namespace)
    workspace.cli("set", name, "-l", "rpm=10/1s", namespace=other)
    # Then both are active, and each keeps its own limits
    active = workspace.cli("namespaces").stdout.split()
    assert {workspace.namespace, other} <= set(active)
    assert workspace.client.get_defaults(name, workspace.namespace).limits == tuple(RPM_500)
    assert limits_of(workspace.cli_json("get", name, namespace=other)) == {"rpm": "10/1s"}
    # When it is deleted in one namespace, the other keeps it
    workspace.cli("delete", name, namespace=other)
    assert workspace.client.list_resources(other, consistent=True) == []
    assert workspace.mine(
        workspace.client.list_resources(workspace.namespace, consistent=True)
    ) == [name]
    # And a namespace nobody registered is 404, named as such
    unknown = f"e2e-none-{uuid.uuid4().hex[:8]}"
    with pytest.raises(NotFoundError) as error:
        workspace.client.list_resources(unknown)
    assert error.value.code == "NamespaceNotFound"
    assert "404" in workspace.cli("list", namespace=unknown, expect=1).stderr


def test_a_delete_is_guarded_by_the_etag_and_final(workspace: Workspace) -> None:
    name = workspace.name("llama3:8b")
    stale = workspace.client.set_defaults(name, RPM_500, workspace.namespace).etag or ""
    current = workspace.cli_json("set", name, "-l", "rpm=600/1m")["etag"]
    # A delete at an ETag someone moved past is refused, and the defaults stay
    assert "412" in workspace.cli("delete", name, "--if-match", stale, expect=1).stderr
    assert workspace.client.get_defaults(name, workspace.namespace).etag == current
    # At the current ETag it goes through
    assert workspace.cli_json("delete", name, "--if-match", current) == {
        "resource": name,
        "deleted": True,
    }
    # Then the resource is gone: 404 to read, not listed, 404 to delete again
    with pytest.raises(NotFoundError) as error:
        workspace.client.get_defaults(name, workspace.namespace)
    assert error.value.code == "ResourceNotFound"
    assert name not in workspace.client.list_resources(workspace.namespace, consistent=True)
    with pytest.raises(NotFoundError):
        workspace.client.delete_defaults(name, workspace.namespace)
    # And it can be created again
    workspace.client.set_defaults(name, RPM_500, workspace.namespace, create_only=True)


def test_plan_apply_and_export_keep_a_file_and_the_api_equal(workspace: Workspace) -> None:
    gpt, claude = workspace.name("gpt-4"), workspace.name("claude")
    limits = workspace.directory / "limits.yaml"

    def write(resources: dict[str, dict[str, str]]) -> None:
        limits.write_text(yaml.safe_dump({"namespaces": {workspace.namespace: resources}}))

    # Given a file that states two resources' limits
    write({gpt: {"rpm": "500/1m", "tpm": "100000/1m,refill=50000"}, claude: {"rpm": "50/1s"}})
    # When a user plans it: two creates, exit 2 while changes are pending
    planned = workspace.cli("plan", "limits.yaml", expect=2).stdout
    assert f"+ create {gpt}" in planned and f"+ create {claude}" in planned
    # Off a terminal apply asks for --yes and changes nothing
    assert "pass --yes" in workspace.cli("apply", "limits.yaml", expect=1).stderr
    assert (
        workspace.mine(workspace.client.list_resources(workspace.namespace, consistent=True)) == []
    )
    # With --yes it applies, and the plan is then empty
    assert "Applied 2 change(s)." in workspace.cli("apply", "limits.yaml", "--yes").stdout
    workspace.cli("plan", "limits.yaml")
    # Then export writes what the API now holds, in the same format
    workspace.cli("export", "--output", "exported.yaml")
    exported = yaml.safe_load((workspace.directory / "exported.yaml").read_text())
    resources = exported["namespaces"][workspace.namespace]
    assert {name: resources[name] for name in workspace.mine(list(resources))} == {
        claude: {"rpm": "50/1s"},
        gpt: {"rpm": "500/1m", "tpm": "100000/1m,refill=50000"},
    }
    workspace.cli("plan", "exported.yaml")
    # When the file changes one limit, the plan shows that limit and apply makes it
    write({gpt: {"rpm": "600/1m", "tpm": "100000/1m,refill=50000"}, claude: {"rpm": "50/1s"}})
    assert "~ rpm  500/1m -> 600/1m" in workspace.cli("plan", "limits.yaml", expect=2).stdout
    workspace.cli("apply", "limits.yaml", "--yes")
    assert workspace.client.get_defaults(gpt, workspace.namespace).limits[0].compact == "600/1m"
    if not workspace.own_namespace:
        return  # --prune deletes what the file leaves out: only in a namespace of the suite's
    # And with --prune, a resource the file leaves out is deleted
    write({gpt: {"rpm": "600/1m", "tpm": "100000/1m,refill=50000"}})
    assert f"- delete {claude}" in workspace.cli("plan", "limits.yaml", "--prune", expect=2).stdout
    workspace.cli("apply", "limits.yaml", "--prune", "--yes")
    assert workspace.client.list_resources(workspace.namespace, consistent=True) == [gpt]


def test_a_retry_with_the_same_idempotency_key_is_answered_not_repeated(
    workspace: Workspace,
) -> None:
    name = workspace.name("gpt-4")
    path = defaults_path(workspace.namespace, name)
    body = {"limits": [{"name": "rpm", "capacity": 500, "refill_period_seconds": 60}]}
    key = {"Idempotency-Key": f"e2e-{uuid.uuid4()}"}
    # Given a PUT with an Idempotency-Key
    first = workspace.request("PUT", path, body, key)
    assert first.status == 200
    # When it is sent again (its answer lost, say), by raw HTTP and by the client
    again = workspace.request("PUT", path, body, key)
    by_client = workspace.client.set_defaults(
        name, RPM_500, workspace.namespace, idempotency_key=key["Idempotency-Key"]
    )
    # Then each retry answers what the first attempt did, and nothing more is written
    assert (again.status, again.headers["etag"], again.json) == (
        200,
        first.headers["etag"],
        first.json,
    )
    assert by_client.etag == first.headers["etag"]
    assert len(workspace.client.history(name, workspace.namespace).events) == 1
    # The same key with another body is 422 and changes nothing
    other = {"limits": [{"name": "rpm", "capacity": 1, "refill_period_seconds": 1}]}
    reused = workspace.request("PUT", path, other, key)
    assert (reused.status, reused.json["code"]) == (422, "IdempotencyKeyReused")
    assert workspace.client.get_defaults(name, workspace.namespace).etag == first.headers["etag"]
    # And a retried DELETE answers 204 again, not 404
    delete_key = {"Idempotency-Key": f"e2e-{uuid.uuid4()}"}
    assert workspace.request("DELETE", path, headers=delete_key).status == 204
    assert workspace.request("DELETE", path, headers=delete_key).status == 204
    actions = [event.action for event in workspace.client.history(name, workspace.namespace).events]
    assert actions == ["limits_deleted", "limits_set"]


def test_refused_requests_say_why_and_change_nothing(workspace: Workspace) -> None:
    # Given a resource with defaults
    name = workspace.name("gpt-4")
    before = workspace.client.set_defaults(name, RPM_500, workspace.namespace)
    limit = {"name": "rpm", "capacity": 1, "refill_period_seconds": 1}
    cases: list[tuple[str, str, object, dict[str, str], int, str]] = [
        ("GET", workspace.name("nobody"), None, {}, 404, "ResourceNotFound"),
        ("GET", "9-starts-with-a-digit", None, {}, 400, "InvalidInput"),
        ("PUT", name, b'{"limits": [', {}, 400, "InvalidInput"),
        ("PUT", name, {"limits": [{**limit, "capacity": 0}]}, {}, 400, "InvalidInput"),
        ("PUT", name, {"limits": [limit], "extra": 1}, {}, 400, "InvalidInput"),
        (
            "PUT",
            name,
            {"limits": [limit]},
            {"If-None-Match": before.etag or ""},
            400,
            "InvalidInput",
        ),
        ("PUT", name, {"limits": [limit]}, {"If-None-Match": "*"}, 412, "PreconditionFailed"),
        (
            "PUT",
            name,
            {"limits": [limit]},
            {"If-Match": '"1-000000000000"'},
            412,
            "PreconditionFailed",
        ),
        ("DELETE", name, None, {"If-Match": '"1-000000000000"'}, 412, "PreconditionFailed"),
    ]
    for method, resource, body, headers, status, code in cases:
        # When a request breaks a rule
        answer = workspace.request(
            method, defaults_path(workspace.namespace, resource), body, headers
        )
        # Then it is refused with the status and code the contract gives, and a message
        case = f"{method} {resource} {body!r} {headers}"
        assert (answer.status, answer.json["code"]) == (status, code), case
        assert answer.json["message"], case
    # And nothing changed: the same ETag, one event in the history
    assert workspace.client.get_defaults(name, workspace.namespace).etag == before.etag
    assert len(workspace.client.history(name, workspace.namespace).events) == 1
