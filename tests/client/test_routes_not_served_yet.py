"""Plan, apply, export and history in other namespaces, against a scripted stub: the requests
they send for routes the local server does not serve yet (namespaces, history, If-None-Match)."""

from __future__ import annotations

import pytest

from resource_registry_client import NoSigner, RegistryClient, parse_named
from resource_registry_client.cli import run
from resource_registry_client.desired import DesiredState, load_desired
from resource_registry_client.plan import Action, Outcome, apply_plan, make_plan
from tests.client.support import StubApi


def limits_body(resource: str, *texts: str) -> dict[str, object]:
    limits = [parse_named(text).to_api() for text in texts]
    return {"resource": resource, "limits": limits}


def test_plan_and_apply_in_a_namespace_send_guarded_writes(stub_api: StubApi) -> None:
    desired = DesiredState(
        {"team-a": {"new": (parse_named("rpm=1/1s"),), "changed": (parse_named("rpm=2/1s"),)}}
    )
    stub_api.answer(200, {"resources": ["changed", "gone"]})
    stub_api.answer(200, limits_body("changed", "rpm=1/1s"), {"ETag": '"3"'})
    stub_api.answer(200, limits_body("gone", "rpm=1/1s"), {"ETag": '"8"'})
    client = RegistryClient(stub_api.url, signer=NoSigner())
    plan = make_plan(client, desired, prune=True)
    assert [(c.resource, c.action, c.etag) for c in plan.changes] == [
        ("changed", Action.UPDATE, '"3"'),
        ("gone", Action.DELETE, '"8"'),
        ("new", Action.CREATE, None),
    ]
    reads = [(r.method, r.path) for r in stub_api.received]
    assert reads == [
        ("GET", "/namespaces/team-a/resources?consistent=true"),
        ("GET", "/namespaces/team-a/resources/changed/defaults"),
        ("GET", "/namespaces/team-a/resources/gone/defaults"),
    ]

    stub_api.received.clear()
    stub_api.answer(200, limits_body("changed", "rpm=2/1s"), {"ETag": '"4"'})
    stub_api.answer(204)
    stub_api.answer(412, {"message": "defaults exist", "code": "PreconditionFailed"})
    results = apply_plan(client, plan)
    writes = [
        (r.method, r.path, r.headers.get("If-Match"), r.headers.get("If-None-Match"))
        for r in stub_api.received
    ]
    assert writes == [
        ("PUT", "/namespaces/team-a/resources/changed/defaults", '"3"', None),
        ("DELETE", "/namespaces/team-a/resources/gone/defaults", '"8"', None),
        ("PUT", "/namespaces/team-a/resources/new/defaults", None, "*"),
    ]
    assert [result.outcome for result in results] == [
        Outcome.APPLIED,
        Outcome.APPLIED,
        Outcome.REFUSED,
    ]
    assert "not created: it changed after the plan read it (it had no defaults then)" in (
        results[2].message
    )


def test_an_unknown_namespace_stops_the_plan(stub_api: StubApi) -> None:
    stub_api.answer(404, {"message": "no namespace 'nope'", "code": "NamespaceNotFound"})
    desired = load_desired("namespaces:\n  nope:\n    a:\n      rpm: 1/1s\n")
    client = RegistryClient(stub_api.url, signer=NoSigner())
    with pytest.raises(Exception, match="no namespace 'nope'"):
        make_plan(client, desired)
    assert len(stub_api.received) == 1


def test_export_of_every_namespace(stub_api: StubApi, capsys: pytest.CaptureFixture[str]) -> None:
    stub_api.answer(200, {"namespaces": ["default", "team-a"]})
    stub_api.answer(200, {"resources": ["gpt-4"]})
    stub_api.answer(200, limits_body("gpt-4", "rpm=500/1m"), {"ETag": '"1"'})
    stub_api.answer(200, {"resources": ["openai/gpt-4"]})
    stub_api.answer(200, limits_body("openai/gpt-4", "tpm=100/1s,burst=200"), {"ETag": '"1"'})
    assert run(["--endpoint", stub_api.url, "export", "--all-namespaces"]) == 0
    text = capsys.readouterr().out
    assert load_desired(text) == DesiredState(
        {
            "default": {"gpt-4": (parse_named("rpm=500/1m"),)},
            "team-a": {"openai/gpt-4": (parse_named("tpm=100/1s,burst=200"),)},
        }
    )
    assert [r.path for r in stub_api.received] == [
        "/namespaces",
        "/resources?consistent=true",
        "/resources/gpt-4/defaults",
        "/namespaces/team-a/resources?consistent=true",
        "/namespaces/team-a/resources/openai%2Fgpt-4/defaults",
    ]


def test_history_follows_every_page_and_prints_a_table(
    stub_api: StubApi, capsys: pytest.CaptureFixture[str]
) -> None:
    event = {
        "event_id": "01JABC",
        "timestamp": "2026-11-26T17:00:00Z",
        "action": "limits_set",
        "principal": "arn:aws:iam::123456789012:user/alice",
        "limits": [
            {"name": "rpm", "capacity": 500, "refill_amount": 500, "refill_period_seconds": 60}
        ],
    }
    deleted = {**event, "event_id": "01JABD", "action": "limits_deleted", "limits": []}
    stub_api.answer(200, {"resource": "a:b", "events": [deleted], "next_cursor": "c1"})
    stub_api.answer(200, {"resource": "a:b", "events": [event], "next_cursor": None})
    assert run(["--endpoint", stub_api.url, "-n", "prod", "history", "a:b", "--all"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["TIME", "ACTION", "PRINCIPAL", "LIMITS", "EVENT"]
    assert lines[1].split() == [
        "2026-11-26T17:00:00Z",
        "limits_deleted",
        "arn:aws:iam::123456789012:user/alice",
        "-",
        "01JABD",
    ]
    assert lines[2].split()[3] == "rpm=500/1m"
    assert [r.path for r in stub_api.received] == [
        "/namespaces/prod/resources/a%3Ab/history",
        "/namespaces/prod/resources/a%3Ab/history?cursor=c1",
    ]


def test_namespaces_command(stub_api: StubApi, capsys: pytest.CaptureFixture[str]) -> None:
    stub_api.answer(200, {"namespaces": ["default", "team-a"]})
    assert run(["--endpoint", stub_api.url, "namespaces"]) == 0
    assert capsys.readouterr().out == "default\nteam-a\n"


def test_an_update_without_an_etag_to_guard_it_is_not_sent(stub_api: StubApi) -> None:
    stub_api.answer(200, {"resources": ["a"]})
    stub_api.answer(200, limits_body("a", "rpm=1/1s"))  # no ETag header
    client = RegistryClient(stub_api.url, signer=NoSigner())
    plan = make_plan(client, load_desired("namespaces:\n  default:\n    a:\n      rpm: 2/1s\n"))
    (result,) = apply_plan(client, plan)
    assert result.outcome is Outcome.FAILED and "no ETag" in result.message
    assert [r.method for r in stub_api.received] == ["GET", "GET"]
