"""``explain`` and the reach lines of ``plan``: against the local server over a zae-limiter 0.17
style table whose entity configs are written as zae-limiter writes them, and the requests they
send, against a scripted stub."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from devtools.dynamodb_local import DynamoDBLocal
from resource_registry import schema
from resource_registry_client import NoSigner, RegistryClient, parse_named
from resource_registry_client.cli import run
from resource_registry_client.desired import load_desired
from resource_registry_client.plan import Action, assess_impact, make_plan
from tests.client.support import StubApi

pytestmark = pytest.mark.integration

PROD = "pRoD0000001/"  # the prod namespace's id in the namespaced_api_url table


def cli(url: str, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    status = run(["--endpoint", url, *args])
    out, err = capsys.readouterr()
    out = "".join(line for line in out.splitlines(True) if not line.startswith('{"_aws"'))
    return status, out, err


def put(dynamodb_local: DynamoDBLocal, key: dict[str, Any], **attributes: Any) -> None:
    dynamodb_local.client().put_item(TableName=os.environ["TABLE_NAME"], Item={**key, **attributes})


def test_explain_prints_each_limit_with_its_level_and_every_level(
    namespaced_api_url: str, dynamodb_local: DynamoDBLocal, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given prod's gpt-4 defaults (through the API), alice's _default_ bypassed, system defaults
    client = RegistryClient(namespaced_api_url, signer=NoSigner())
    client.set_defaults("gpt-4", [parse_named("rpm=500/1m"), parse_named("tpm=9000/1m")], "prod")
    put(
        dynamodb_local,
        schema.entity_config_key("alice", "_default_", PROD),
        disabled={"S": "bypass"},
    )
    put(
        dynamodb_local,
        schema.system_config_key(PROD),
        l_rpm_cp={"N": "1"},
        l_rpm_ra={"N": "1"},
        l_rpm_rp={"N": "1"},
        on_unavailable={"S": "allow"},
    )

    status, out, _ = cli(namespaced_api_url, capsys, "-n", "prod", "explain", "alice", "gpt-4")

    assert status == 0, out
    lines = out.splitlines()
    assert lines[0].startswith('alice on gpt-4 (namespace prod)  ETag "e-')
    assert lines[1] == "limits: from resource"
    assert lines[2].split() == ["LIMIT", "CAPACITY", "BURST", "REFILL", "PERIOD", "LEVEL", "ALSO"]
    assert lines[3].split() == ["rpm", "500", "-", "500", "1m", "resource", "-"]
    assert "disabled: bypass (set by entity_default)" in out
    assert "cascade: no level sets it (the entity's own cascade flag decides)" in out
    assert "on_unavailable: allow" in out
    levels = {line.split()[0]: " ".join(line.split()[1:]) for line in lines[-4:]}
    assert levels == {
        "entity": "(empty)",
        "entity_default": "0 limits, disabled bypass",
        "resource": "2 limits",
        "system": "1 limit, on_unavailable allow",
    }

    # and --json prints the API's own answer
    status, out, _ = cli(namespaced_api_url, capsys, "--json", "explain", "alice", "gpt-4")
    answer = json.loads(out)
    assert status == 0 and answer["namespace"] == "default" and answer["limits"] is None
    assert answer["levels"]["resource"] is None


def test_explain_refuses_a_bad_entity_with_the_apis_message(
    namespaced_api_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, err = cli(namespaced_api_url, capsys, "explain", "not#valid", "gpt-4")
    assert status == 1 and "400 InvalidInput" in err and "entity id" in err


def test_plan_says_who_each_change_reaches(
    namespaced_api_url: str,
    dynamodb_local: DynamoDBLocal,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    # Given zae-limiter's counts: two entities configure gpt-4, one has a _default_
    client = RegistryClient(namespaced_api_url, signer=NoSigner())
    client.set_defaults("old", [parse_named("rpm=1/1s")], "prod")
    put(
        dynamodb_local,
        schema.entity_config_counts_key(PROD),
        **{"gpt-4": {"N": "2"}, "_default_": {"N": "1"}},
    )
    file = tmp_path / "limits.yaml"
    file.write_text("namespaces:\n  prod:\n    gpt-4:\n      rpm: 500/1m\n")

    status, out, _ = cli(namespaced_api_url, capsys, "plan", str(file), "--prune")

    assert status == 2
    assert "reaches every entity of the namespace except at most 3: 2 with a config" in out
    assert "without this resource's defaults they get no limits" in out
    # and the dry runs wrote nothing
    assert client.list_resources("prod", consistent=True) == ["old"]
    status, out, _ = cli(namespaced_api_url, capsys, "--json", "plan", str(file), "--prune")
    reach = {change["resource"]: change["reach"] for change in json.loads(out)["changes"]}
    assert reach["gpt-4"]["entity_configs"] == 2
    assert reach["old"]["entity_default_configs"] == 1 and reach["old"]["system_defaults"] is False


def test_a_dry_run_refused_says_why_and_the_requests_carry_the_guard(stub_api: StubApi) -> None:
    stub_api.answer(200, {"resources": ["a", "b"]})
    stub_api.answer(
        200, {"resource": "a", "limits": [limit("rpm", 1)]}, {"ETag": '"3-0123456789ab"'}
    )
    stub_api.answer(
        200, {"resource": "b", "limits": [limit("rpm", 1)]}, {"ETag": '"4-0123456789ab"'}
    )
    client = RegistryClient(stub_api.url, signer=NoSigner())
    desired = load_desired(
        "namespaces:\n  default:\n    a:\n      rpm: 2/1s\n    c:\n      rpm: 1/1s\n"
    )
    plan = make_plan(client, desired, prune=True)
    assert [change.action for change in plan.changes] == [
        Action.UPDATE,
        Action.DELETE,
        Action.CREATE,
    ]
    stub_api.received.clear()
    stub_api.answer(412, {"message": "moved", "code": "PreconditionFailed"})
    reach = {"entity_configs": 0, "entity_default_configs": 0, "system_defaults": True, "note": "n"}
    stub_api.answer(200, {"resource": "b", "limits": None, "dry_run": True, "reach": reach})
    stub_api.answer(400, {"message": "unknown query parameter(s): dry_run", "code": "InvalidInput"})

    update, delete, create = assess_impact(client, plan)

    assert update.reach is None and update.problem == "it changed after the plan read it"
    assert delete.reach is not None and delete.reach.system_defaults is True
    assert create.reach is None and create.problem is not None and "dry_run" in create.problem
    sent = [
        (r.method, r.path, r.headers.get("If-Match"), r.headers.get("If-None-Match"))
        for r in stub_api.received
    ]
    assert sent == [
        ("PUT", "/resources/a/defaults?dry_run=true", '"3-0123456789ab"', None),
        ("DELETE", "/resources/b/defaults?dry_run=true", '"4-0123456789ab"', None),
        ("PUT", "/resources/c/defaults?dry_run=true", None, "*"),
    ]


def test_explain_sends_one_encoded_path(stub_api: StubApi) -> None:
    stub_api.answer(200, {"levels": {}, "limits": None})
    RegistryClient(stub_api.url, signer=NoSigner()).explain("a@b.c", "openai/gpt-4", "team a")
    assert stub_api.received[0].path == (
        "/namespaces/team%20a/entities/a%40b.c/resources/openai%2Fgpt-4/effective"
    )


def limit(name: str, capacity: int) -> dict[str, Any]:
    return {
        "name": name,
        "capacity": capacity,
        "refill_amount": capacity,
        "refill_period_seconds": 1,
    }
