"""The interop harness itself: each released zae-limiter, driven through its probe, works.

These prove the harness (virtualenvs, probe, wrapper) rather than the service: every value is
written by zae-limiter and read back by zae-limiter, and each check fails if the probe stops
passing requests or answers through.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from devtools.dynamodb_local import DynamoDBLocal
from tests.support import zae_limiter as zae_limiter_support
from tests.support.zae_limiter import VERSIONS, ZaeLimiter, ZaeLimiterError, result_of

pytestmark = pytest.mark.integration

GPT4 = "openai/gpt-4"
LLAMA = "llama3:8b"
RPM = {"name": "rpm", "capacity": 100, "refill_amount": 100, "refill_period_seconds": 60}
# The schema_version each release writes into its version record (see LAYOUTS.md).
SCHEMA_VERSIONS = {"0.6.0": "1.0.0", "0.9.1": "0.8.0", "0.17.0": "0.10.0"}
TPM = {"name": "tpm", "capacity": 10000, "refill_amount": 5000, "refill_period_seconds": 60}


def names_allowed(version: str) -> tuple[str, ...]:
    """The example names each release accepts: ``/`` came in 0.8 and ``:`` after 0.9."""
    return {"0.6.0": (), "0.9.1": (GPT4,), "0.17.0": (GPT4, LLAMA)}[version]


def by_name(limits: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Limits in name order: a composite item's attributes come back in no set order."""
    return sorted(limits, key=lambda limit: str(limit["name"]))


def expected_limit(limit: dict[str, Any], limiter: ZaeLimiter) -> dict[str, Any]:
    """A limit as zae-limiter reads it back: with a burst equal to capacity where it has one."""
    return {**limit, "burst": limit["capacity"]} if limiter.has_burst else dict(limit)


@pytest.mark.parametrize("version", VERSIONS)
def test_a_release_reads_back_what_it_wrote(
    version: str, zae_limiter_factory: Callable[[str], ZaeLimiter]
) -> None:
    limiter = zae_limiter_factory(version)
    resources = ["gpt-4", *names_allowed(version)]
    set_requests = [
        limiter.request(
            "set_resource_defaults", resource=resource, limits=[RPM, TPM], principal="alice"
        )
        for resource in resources
    ]
    answers = limiter.many(
        [
            limiter.request("version"),
            limiter.request("create_table"),
            limiter.request("open"),
            *set_requests,
            *(limiter.request("get_resource_defaults", resource=name) for name in resources),
            limiter.request("list_resources_with_defaults"),
            limiter.request("delete_resource_defaults", resource="gpt-4", principal="bob"),
            limiter.request("list_resources_with_defaults"),
            limiter.request("get_resource_defaults", resource="gpt-4"),
            limiter.request("get_audit_events", entity_id="$RESOURCE:gpt-4"),
            limiter.request("get_version_record"),
        ]
    )
    results = iter([result_of(answer) for answer in answers])

    assert next(results)["version"] == version
    assert next(results) == limiter.table_name
    next(results)  # open
    for _ in resources:
        assert next(results) is None
    for _ in resources:
        assert by_name(next(results)) == [
            expected_limit(RPM, limiter),
            expected_limit(TPM, limiter),
        ]
    assert next(results) == sorted(resources)
    assert next(results) is None  # delete
    assert next(results) == sorted(set(resources) - {"gpt-4"})
    assert next(results) == []
    deleted, created = next(results)
    assert (deleted["action"], deleted["principal"], deleted["resource"]) == (
        "limits_deleted",
        "bob",
        "gpt-4",
    )
    assert (created["action"], created["principal"]) == ("limits_set", "alice")
    assert by_name(created["details"]["limits"]) == [
        expected_limit(RPM, limiter),
        expected_limit(TPM, limiter),
    ]
    assert next(results)["schema_version"] == SCHEMA_VERSIONS[version]


@pytest.mark.parametrize("version", ["0.6.0", "0.9.1"])
def test_a_release_refuses_the_names_it_does_not_know(
    version: str, zae_limiter_factory: Callable[[str], ZaeLimiter]
) -> None:
    limiter = zae_limiter_factory(version)
    refused = sorted({GPT4, LLAMA} - set(names_allowed(version)))
    answers = limiter.many(
        [
            limiter.request("create_table"),
            *(
                limiter.request("set_resource_defaults", resource=name, limits=[RPM])
                for name in refused
            ),
            limiter.request("register_namespace", name="tenant-a"),
            limiter.request("list_resources_with_defaults"),
        ]
    )
    for answer in answers[1 : 1 + len(refused)]:
        assert answer["error"] == "InvalidNameError"
    assert answers[-2]["error"] == "UnsupportedOperationError"
    assert result_of(answers[-1]) == []


def test_namespaces_of_0_17_keep_their_resources_apart(
    zae_limiter_factory: Callable[[str], ZaeLimiter],
) -> None:
    limiter = zae_limiter_factory("0.17.0")
    limiter.create_table()
    default_id = limiter.open()
    tenant_id = limiter.register_namespace("tenant-a")
    answers = limiter.many(
        [
            limiter.request("set_resource_defaults", resource=GPT4, limits=[RPM]),
            limiter.request(
                "set_resource_defaults", resource=LLAMA, limits=[TPM], namespace="tenant-a"
            ),
            limiter.request("list_resources_with_defaults"),
            limiter.request("list_resources_with_defaults", namespace="tenant-a"),
            limiter.request("get_resource_defaults", resource=LLAMA, namespace="tenant-a"),
            limiter.request("get_resource_defaults", resource=LLAMA),
            limiter.request("get_audit_events", entity_id=f"$RESOURCE:{LLAMA}"),
            limiter.request(
                "get_audit_events", entity_id=f"$RESOURCE:{LLAMA}", namespace="tenant-a"
            ),
            limiter.request("list_resources_with_defaults", namespace="unknown"),
            limiter.request("list_namespaces"),
        ]
    )
    assert [result_of(answer) for answer in answers[:6]] == [
        None,
        None,
        [GPT4],
        [LLAMA],
        [TPM],
        [],
    ]
    assert result_of(answers[6]) == []
    assert [event["action"] for event in result_of(answers[7])] == ["limits_set"]
    assert answers[8]["error"] == "NamespaceNotFoundError"
    assert {(entry["name"], entry["namespace_id"]) for entry in result_of(answers[9])} == {
        ("default", (default_id or {})["namespace_id"]),
        ("tenant-a", tenant_id),
    }


def test_0_17_stores_what_the_service_must_keep(
    zae_limiter_factory: Callable[[str], ZaeLimiter],
) -> None:
    """disabled, cascade, schedules and soft limits go through the probe and come back unchanged."""
    limiter = zae_limiter_factory("0.17.0")
    limiter.create_table()
    limiter.open()
    # A soft limit needs a version record whose Lambdas are 0.17.0 or newer.
    limiter.set_version_record("0.10.0", lambda_version="0.17.0")
    scheduled = {
        **RPM,
        "schedule": [{"cron": "* 9-17 * * 1-5", "tz": "UTC", "capacity": 500}],
    }
    soft = {**TPM, "soft": True}
    limiter.set_resource_defaults(GPT4, [scheduled, soft], disabled=True, cascade=False)
    assert by_name(limiter.get_resource_defaults(GPT4)) == [scheduled, soft]
    assert limiter.get_resource_disabled(GPT4) is True
    assert limiter.get_resource_cascade(GPT4) is False
    with pytest.raises(ZaeLimiterError, match="no burst"):
        limiter.set_resource_defaults(GPT4, [{**RPM, "burst": 150}])


@pytest.mark.parametrize("version", ["0.9.1", "0.17.0"])
def test_a_running_probe_answers_call_after_call_in_one_process(
    version: str, zae_limiter_factory: Callable[[str], ZaeLimiter], dynamodb_local: DynamoDBLocal
) -> None:
    limiter = zae_limiter_factory(version)
    # A fractional number, as an application passes one to Limit: a float
    fractional = {
        "name": "rpm",
        "capacity": 1.5,
        "refill_amount": 0.25,
        "refill_period_seconds": 0.5,
    }
    with limiter.running():
        first = limiter.version_info()["pid"]
        limiter.create_table()
        namespace_id = (limiter.open() or {}).get("namespace_id")
        limiter.set_resource_defaults(GPT4, [fractional])
        # zae-limiter cannot read back the fractional numbers it wrote (it parses them with int())
        with pytest.raises(ZaeLimiterError, match="invalid literal for int"):
            limiter.get_resource_defaults(GPT4)
        # and the process that answered that error goes on answering
        assert limiter.list_resources_with_defaults() == [GPT4]
        assert limiter.version_info()["pid"] == first
    assert limiter.version_info()["pid"] != first  # outside the block, a process per call

    prefix = f"{namespace_id}/" if namespace_id else ""
    item = dynamodb_local.client().get_item(
        TableName=limiter.table_name,
        Key={"PK": {"S": f"{prefix}RESOURCE#{GPT4}"}, "SK": {"S": "#CONFIG"}},
        ConsistentRead=True,
    )["Item"]
    # Stored as Python prints the float: the digits the application wrote
    assert {field: item[f"l_rpm_{field}"] for field in ("cp", "ra", "rp")} == {
        "cp": {"N": "1.5"},
        "ra": {"N": "0.25"},
        "rp": {"N": "0.5"},
    }


def test_a_bad_request_is_an_error_answer_not_a_traceback(
    zae_limiter_factory: Callable[[str], ZaeLimiter],
) -> None:
    limiter = zae_limiter_factory("0.9.1")
    answers = limiter.many(
        [
            limiter.request("no_such_operation"),
            limiter.request("get_resource_defaults", resource="gpt-4"),
        ]
    )
    assert answers[0]["error"] == "ProbeError"
    assert "no_such_operation" in answers[0]["message"]
    assert answers[1]["error"] == "ResourceNotFoundException"
    assert answers[1]["code"] == "ResourceNotFoundException"


def test_a_missing_virtualenv_names_the_make_step(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(zae_limiter_support, "VENVS", tmp_path)
    problem = zae_limiter_support.venv_problem("0.17.0")
    assert problem is not None
    assert "make interop-venvs" in problem
    assert "\n" not in problem
    assert "not one of the versions" in str(zae_limiter_support.venv_problem("0.1.0"))
    with pytest.raises(RuntimeError, match="make interop-venvs"):
        ZaeLimiter("0.17.0", "http://127.0.0.1:1", "ZAEL-none")
