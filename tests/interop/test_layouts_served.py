"""The service on tables the released zae-limiter packages wrote, and zae-limiter on ours.

Each test drives a real zae-limiter release (0.6.0 flat, 0.9.1 composite, 0.17.0 namespaced)
through its probe, and the service through its handlers, over the same DynamoDB Local table.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest

from devtools.dynamodb_local import DynamoDBLocal
from handlers import handle_backfill
from resource_registry import schema, service
from resource_registry.detection import detect_table
from tests.conftest import api_call
from tests.interop.serving import served
from tests.support.zae_limiter import VERSIONS, ZaeLimiter

pytestmark = pytest.mark.integration

RPM = {"name": "rpm", "capacity": 100, "refill_amount": 100, "refill_period_seconds": 60}
TPM = {"name": "tpm", "capacity": 5000, "refill_amount": 2500, "refill_period_seconds": 60}
FIELDS = ("name", "capacity", "refill_amount", "refill_period_seconds")
# A resource name each release accepts: '/' from 0.8, ':' from 0.11.
NAMES = {"0.6.0": "gpt-4", "0.9.1": "openai/gpt-4", "0.17.0": "llama3:8b"}


class Context:
    function_name = "Backfill"
    aws_request_id = "interop"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:local:000000000000:function:Backfill"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 900_000


@pytest.fixture(params=VERSIONS)
def zae(
    request: pytest.FixtureRequest,
    zae_limiter_factory: Callable[[str], ZaeLimiter],
    dynamodb_local: DynamoDBLocal,
    monkeypatch: pytest.MonkeyPatch,
) -> ZaeLimiter:
    """A table zae-limiter made and opened, served by the service's handlers."""
    return served(zae_limiter_factory(request.param), dynamodb_local, monkeypatch)


def defaults_path(resource: str, namespace: str | None = None) -> str:
    prefix = f"/namespaces/{quote(namespace, safe='')}" if namespace else ""
    return f"{prefix}/resources/{quote(resource, safe='')}/defaults"


def core(limits: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The fields every release keeps, sorted by name."""
    return sorted(({key: limit[key] for key in FIELDS} for limit in limits), key=str)


def test_each_side_reads_what_the_other_wrote(zae: ZaeLimiter) -> None:
    theirs, ours = NAMES[zae.version], "claude-3"
    burst = {"burst": 150} if zae.has_burst else {}
    # Given defaults zae-limiter set
    zae.set_resource_defaults(theirs, [{**RPM, **burst}, TPM])

    # Then the service lists and reads them
    assert api_call("GET", "/resources")["json"] == {"resources": [theirs]}
    got = api_call("GET", defaults_path(theirs))
    assert got["statusCode"] == 200
    assert core(got["json"]["limits"]) == core([RPM, TPM])
    assert ("burst" in got["json"]["limits"][0]) is zae.has_burst
    if zae.has_burst:
        assert got["json"]["limits"][0]["burst"] == 150

    # When the service sets another resource's defaults and deletes zae-limiter's
    assert api_call("PUT", defaults_path(ours), body={"limits": [TPM]})["statusCode"] == 200
    assert api_call("DELETE", defaults_path(theirs))["statusCode"] == 204

    # Then zae-limiter sees exactly that
    assert zae.list_resources_with_defaults() == [ours]
    assert core(zae.get_resource_defaults(ours)) == core([TPM])
    assert zae.get_resource_defaults(theirs) == []


def test_backfill_restores_a_registry_zae_limiter_lost(zae: ZaeLimiter) -> None:
    names = [NAMES[zae.version], "claude-3"]
    for name in names:
        zae.set_resource_defaults(name, [RPM])
    # Given the registry item gone (as after a crash between zae-limiter's two writes)
    namespace = service.namespaces().resolve(schema.DEFAULT_NAMESPACE)
    table = service.table()
    table.client.delete_item(TableName=table.name, Key=schema.registry_key(namespace.prefix))
    assert api_call("GET", "/resources")["json"] == {"resources": []}

    # When verify, then backfill, run as the state machine runs them
    verify = handle_backfill.handler({"mode": "verify"}, Context())
    backfill = handle_backfill.handler({"mode": "backfill"}, Context())

    # Then verify found both, backfill registered both, and both sides list them
    assert (verify["unregistered"], verify["added"]) == (2, 0)
    assert backfill["added"] == 2
    assert backfill["namespaces"]["default"]["added"] == 2
    assert api_call("GET", "/resources")["json"] == {"resources": sorted(names)}
    assert zae.list_resources_with_defaults() == sorted(names)
    assert handle_backfill.handler({"mode": "verify"}, Context())["drift"] == 0


def test_a_zae_limiter_write_between_a_get_and_an_if_match_put_is_412(zae: ZaeLimiter) -> None:
    name = NAMES[zae.version]
    api_call("PUT", defaults_path(name), body={"limits": [RPM]})
    etag = api_call("GET", defaults_path(name))["headers"]["ETag"]

    # When zae-limiter rewrites the resource (config_version 1, like every one of its writes)
    zae.set_resource_defaults(name, [TPM])

    # Then a PUT conditioned on the ETag read before is refused, and zae-limiter's write stands
    refused = api_call(
        "PUT", defaults_path(name), body={"limits": [RPM]}, headers={"If-Match": etag}
    )
    assert refused["statusCode"] == 412
    assert core(zae.get_resource_defaults(name)) == core([TPM])
    current = api_call("GET", defaults_path(name))["headers"]["ETag"]
    assert current != etag
    accepted = api_call(
        "PUT", defaults_path(name), body={"limits": [RPM]}, headers={"If-Match": current}
    )
    assert accepted["statusCode"] == 200


@pytest.fixture
def zae_017(
    zae_limiter_factory: Callable[[str], ZaeLimiter],
    dynamodb_local: DynamoDBLocal,
    monkeypatch: pytest.MonkeyPatch,
) -> ZaeLimiter:
    return served(zae_limiter_factory("0.17.0"), dynamodb_local, monkeypatch)


def test_disabled_survives_a_put(zae_017: ZaeLimiter) -> None:
    zae_017.set_resource_defaults("openai/gpt-4", [RPM], disabled=True)
    assert (
        api_call("PUT", defaults_path("openai/gpt-4"), body={"limits": [TPM]})["statusCode"] == 200
    )
    assert zae_017.get_resource_disabled("openai/gpt-4") is True
    assert core(zae_017.get_resource_defaults("openai/gpt-4")) == core([TPM])


@pytest.mark.parametrize(
    ("limit", "why"),
    [
        (
            {**TPM, "schedule": [{"cron": "* 9-17 * * 1-5", "tz": "UTC", "capacity": 500}]},
            "scheduled",
        ),
        ({**TPM, "soft": True}, "soft"),
    ],
    ids=["scheduled", "soft"],
)
def test_a_put_that_would_drop_a_limit_it_cannot_represent_is_409(
    zae_017: ZaeLimiter, limit: dict[str, Any], why: str
) -> None:
    # Soft limits need the stack's Lambdas to read them; DynamoDB Local has none to ask.
    zae_017.set_version_record("0.10.0", lambda_version="0.17.0")
    try:
        zae_017.set_resource_defaults("openai/gpt-4", [RPM, limit])
    except Exception as error:  # the probe's schedule syntax is zae-limiter's own
        pytest.fail(f"zae-limiter refused the {why} limit: {error}")
    before = zae_017.get_resource_defaults("openai/gpt-4")

    refused = api_call("PUT", defaults_path("openai/gpt-4"), body={"limits": [RPM]})

    assert (refused["statusCode"], refused["json"]["code"]) == (409, "UnrepresentableLimit")
    assert "'tpm'" in refused["json"]["message"]
    assert why in refused["json"]["message"]
    assert zae_017.get_resource_defaults("openai/gpt-4") == before
    # It can still be read and deleted: everything the backfill registers can be.
    assert api_call("GET", defaults_path("openai/gpt-4"))["statusCode"] == 200
    assert api_call("DELETE", defaults_path("openai/gpt-4"))["statusCode"] == 204
    assert zae_017.get_resource_defaults("openai/gpt-4") == []


def test_each_namespace_is_served_apart(zae_017: ZaeLimiter) -> None:
    zae_017.register_namespace("tenant-a")
    zae_017.set_resource_defaults("openai/gpt-4", [RPM], namespace="tenant-a")

    assert api_call("GET", "/namespaces")["json"] == {"namespaces": ["default", "tenant-a"]}
    assert api_call("GET", defaults_path("openai/gpt-4", "tenant-a"))["statusCode"] == 200
    assert api_call("GET", defaults_path("openai/gpt-4"))["statusCode"] == 404
    put = api_call("PUT", defaults_path("claude-3", "tenant-a"), body={"limits": [TPM]})
    assert put["statusCode"] == 200
    assert api_call("GET", defaults_path("x", "tenant-b"))["statusCode"] == 404

    assert zae_017.list_resources_with_defaults("tenant-a") == ["claude-3", "openai/gpt-4"]
    assert zae_017.list_resources_with_defaults() == []
    summary = handle_backfill.handler({"mode": "verify", "namespace": "tenant-a"}, Context())
    assert (summary["resources_found"], summary["drift"]) == (2, 0)
    assert list(summary["namespaces"]) == ["tenant-a"]


def test_a_schema_the_service_does_not_know_is_refused_naming_it(zae_017: ZaeLimiter) -> None:
    zae_017.set_version_record("0.99.0")
    service.reset()
    answer = api_call("PUT", defaults_path("gpt-4"), body={"limits": [RPM]})
    assert (answer["statusCode"], answer["json"]["code"]) == (503, "UnsupportedTable")
    assert "0.99.0" in answer["json"]["message"]
    assert zae_017.list_resources_with_defaults() == []


def test_zae_limiters_purge_finds_everything_the_service_wrote_in_a_namespace(
    zae_017: ZaeLimiter,
) -> None:
    namespace_id = zae_017.register_namespace("tenant-a")
    for resource in ("openai/gpt-4", "claude-3"):
        put = api_call("PUT", defaults_path(resource, "tenant-a"), body={"limits": [RPM]})
        assert put["statusCode"] == 200
    assert api_call("DELETE", defaults_path("claude-3", "tenant-a"))["statusCode"] == 204
    client = service.table().client

    def items_under(namespace: str) -> list[Any]:
        items = client.scan(TableName=zae_017.table_name, ConsistentRead=True)["Items"]
        return [item for item in items if item["PK"]["S"].startswith(f"{namespace}/")]

    assert items_under(namespace_id)  # the config item and the registry

    # When zae-limiter deletes and purges the namespace
    zae_017.call("delete_namespace", name="tenant-a")
    zae_017.call("purge_namespace", namespace_id=namespace_id)

    # Then nothing the service wrote under it is left: every item carried the GSI4 keys
    assert items_under(namespace_id) == []
    # and a write into it, while this process still holds its id (cached up to 30 s), is
    # refused by the namespace check in the write's own transaction, writing nothing
    late = api_call("PUT", defaults_path("late", "tenant-a"), body={"limits": [RPM]})
    assert (late["statusCode"], late["json"]["code"]) == (404, "NamespaceNotFound")
    assert items_under(namespace_id) == []
    service.reset()  # the cache's 30 s later
    assert api_call("GET", "/namespaces/tenant-a/resources")["statusCode"] == 404


def test_zae_limiter_reads_our_audit_events_and_history_shows_its_own(zae: ZaeLimiter) -> None:
    name = NAMES[zae.version]
    # Given a change by zae-limiter, then a set and a delete through the API
    zae.set_resource_defaults(name, [RPM], principal="alice")
    assert api_call("PUT", defaults_path(name), body={"limits": [TPM]})["statusCode"] == 200
    assert api_call("DELETE", defaults_path(name))["statusCode"] == 204

    # Then zae-limiter's own reader shows ours next to its own, newest first
    events = zae.get_audit_events(f"$RESOURCE:{name}")
    assert [event["action"] for event in events[:3]] == [
        "limits_deleted",
        "limits_set",
        "limits_set",
    ]
    ours = events[1]
    assert ours["resource"] == name
    assert ours["principal"] == "arn:aws:iam::000000000000:user/local-developer"
    assert core(ours["details"]["limits"]) == core([TPM])
    assert events[2]["principal"] == "alice"

    # And the history route pages through both, in the same order
    first = api_call("GET", f"/resources/{quote(name, safe='')}/history", query="limit=2")
    assert first["statusCode"] == 200
    cursor = first["json"]["next_cursor"]
    rest = api_call(
        "GET", f"/resources/{quote(name, safe='')}/history", query=f"limit=2&cursor={cursor}"
    )
    history = first["json"]["events"] + rest["json"]["events"]
    assert [event["event_id"] for event in history] == [event["event_id"] for event in events]
    assert history[2]["principal"] == "alice"
    assert core(history[2]["limits"]) == core([RPM])


def test_our_events_in_a_namespace_carry_its_retention_and_gsi4_keys(zae_017: ZaeLimiter) -> None:
    namespace_id = zae_017.register_namespace("tenant-a")
    zae_017.set_audit_retention_days(7, namespace="tenant-a")
    put = api_call("PUT", defaults_path("openai/gpt-4", "tenant-a"), body={"limits": [RPM]})
    assert put["statusCode"] == 200

    (event,) = zae_017.get_audit_events("$RESOURCE:openai/gpt-4", namespace="tenant-a")
    assert (event["action"], event["resource"]) == ("limits_set", "openai/gpt-4")
    assert zae_017.get_audit_events("$RESOURCE:openai/gpt-4") == []  # not in default
    client = service.table().client
    items = client.scan(TableName=zae_017.table_name, ConsistentRead=True)["Items"]
    (item,) = [i for i in items if i["PK"]["S"] == f"{namespace_id}/AUDIT#$RESOURCE:openai/gpt-4"]
    assert item["GSI4PK"] == {"S": namespace_id}
    assert item["GSI4SK"] == item["PK"]
    # The namespace's 7 days, not the default 90
    assert int(item["ttl"]["N"]) - time.time() == pytest.approx(7 * 86_400, abs=120)


@pytest.mark.parametrize(
    ("version", "layout"), [("0.6.0", "flat"), ("0.9.1", "composite"), ("0.17.0", "namespaced")]
)
def test_a_table_create_table_alone_made_is_served_as_its_release_lays_it_out(
    zae_limiter_factory: Callable[[str], ZaeLimiter],
    dynamodb_local: DynamoDBLocal,
    version: str,
    layout: str,
) -> None:
    # No version record, no namespace, no data: only the indexes zae-limiter's create_table made.
    limiter = zae_limiter_factory(version)
    limiter.create_table()
    client = dynamodb_local.client()
    assert client.scan(TableName=limiter.table_name)["Count"] == 0
    assert detect_table(client, limiter.table_name, None).layout.name == layout
