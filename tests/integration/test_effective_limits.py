"""The effective view and dry runs on DynamoDB Local, over items written as zae-limiter writes them.

tests/interop/test_effective_limits_match.py has zae-limiter write random configurations itself and
compares with its own resolution; here each level is placed by hand, to pin every rule of the walk,
the answer's shape, its ETag, its refusals and its cost.
"""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from typing import Any

import pytest

from devtools.dynamodb_local import DynamoDBLocal
from devtools.layout_tables import DEFAULT_NAMESPACE_ID, add_namespace, create_layout_table
from resource_registry import schema, service
from tests.conftest import api_call

pytestmark = pytest.mark.integration

PROD_ID = "pRoD0000001"
RPM = {"name": "rpm", "capacity": 100, "refill_period_seconds": 60}


class ConfigTable:
    """A composite or namespaced table whose config items the test writes as zae-limiter does."""

    def __init__(self, client: Any, name: str, layout: str) -> None:
        self.client, self.name, self.layout = client, name, layout

    def prefix(self, namespace: str = "default") -> str:
        if self.layout != "namespaced":
            return ""
        return f"{DEFAULT_NAMESPACE_ID if namespace == 'default' else PROD_ID}/"

    def put(self, key: dict[str, Any], limits: dict[str, tuple[Any, ...]], **extra: Any) -> None:
        """A config item: each limit ``name: (capacity, refill_amount, period)``, attributes."""
        item: dict[str, Any] = {**key, "config_version": {"N": "1"}, **extra}
        for name, (capacity, amount, period) in limits.items():
            item[f"l_{name}_cp"] = {"N": str(capacity)}
            item[f"l_{name}_ra"] = {"N": str(amount)}
            item[f"l_{name}_rp"] = {"N": str(period)}
        self.client.put_item(TableName=self.name, Item=item)

    def entity(self, entity: str, resource: str, namespace: str = "default") -> dict[str, Any]:
        return schema.entity_config_key(entity, resource, self.prefix(namespace))

    def resource(self, resource: str, namespace: str = "default") -> dict[str, Any]:
        return schema.config_key(resource, self.prefix(namespace))

    def system(self, namespace: str = "default") -> dict[str, Any]:
        return schema.system_config_key(self.prefix(namespace))

    def counts(self, counts: dict[str, int], namespace: str = "default") -> None:
        """zae-limiter's #ENTITY_CONFIG_RESOURCES: one number per resource."""
        key = schema.entity_config_counts_key(self.prefix(namespace))
        numbers = {name: {"N": str(count)} for name, count in counts.items()}
        self.client.put_item(TableName=self.name, Item={**key, **numbers})

    def dump(self) -> list[dict[str, Any]]:
        items = self.client.scan(TableName=self.name, ConsistentRead=True)["Items"]
        return sorted(items, key=lambda item: (item["PK"]["S"], item["SK"]["S"]))


def table_of(layout: str, dynamodb_local: DynamoDBLocal, monkeypatch: Any) -> ConfigTable:
    client = dynamodb_local.client()
    name = f"effective-{layout}-{uuid.uuid4().hex[:8]}"
    create_layout_table(client, name, layout)
    if layout == "namespaced":
        add_namespace(client, name, "prod", PROD_ID)
    monkeypatch.setenv("TABLE_NAME", name)
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", dynamodb_local.endpoint)
    service.reset()
    return ConfigTable(client, name, layout)


@pytest.fixture
def namespaced(dynamodb_local: DynamoDBLocal, monkeypatch: pytest.MonkeyPatch) -> ConfigTable:
    return table_of("namespaced", dynamodb_local, monkeypatch)


@pytest.fixture
def composite(dynamodb_local: DynamoDBLocal, monkeypatch: pytest.MonkeyPatch) -> ConfigTable:
    return table_of("composite", dynamodb_local, monkeypatch)


@pytest.fixture
def flat(dynamodb_local: DynamoDBLocal, monkeypatch: pytest.MonkeyPatch) -> ConfigTable:
    return table_of("flat", dynamodb_local, monkeypatch)


def effective_path(entity: str, resource: str, namespace: str | None = None) -> str:
    path = f"/entities/{entity}/resources/{resource.replace('/', '%2F')}/effective"
    return path if namespace is None else f"/namespaces/{namespace}{path}"


def explain(entity: str, resource: str, namespace: str | None = None, **call: Any) -> Any:
    return api_call("GET", effective_path(entity, resource, namespace), **call)


def numbers(answer: dict[str, Any]) -> Any:
    """The body with every number as a Decimal: exactly as it travelled."""
    return json.loads(answer["body"], parse_float=Decimal)


def test_the_entity_config_wins_whole_and_each_level_is_shown(namespaced: ConfigTable) -> None:
    # Given limits at all four levels, the entity's own for gpt-4 among them
    namespaced.put(namespaced.entity("alice", "gpt-4"), {"rpm": (5, 5, 60)})
    namespaced.put(namespaced.entity("alice", "_default_"), {"rpm": (7, 7, 60), "tpm": (9, 9, 60)})
    namespaced.put(namespaced.resource("gpt-4"), {"rpm": (100, 100, 60)}, cascade={"BOOL": True})
    namespaced.put(namespaced.system(), {"rpm": (1, 1, 1)}, on_unavailable={"S": "allow"})

    answer = explain("alice", "gpt-4")

    # Then the entity level decides the limits, all of them from that one level
    assert answer["statusCode"] == 200
    body = answer["json"]
    assert body["namespace"] == "default" and body["entity"] == "alice"
    assert body["resource"] == "gpt-4"
    assert body["source"] == "entity"
    assert body["limits"] == [
        {
            "name": "rpm",
            "capacity": 5,
            "refill_amount": 5,
            "refill_period_seconds": 60,
            "level": "entity",
        }
    ]
    # and every level says what it holds
    assert body["levels"]["entity_default"]["limits"][1]["name"] == "tpm"
    assert body["levels"]["resource"] == {
        "limits": [
            {"name": "rpm", "capacity": 100, "refill_amount": 100, "refill_period_seconds": 60}
        ],
        "disabled": None,
        "cascade": True,
    }
    assert body["levels"]["system"]["on_unavailable"] == "allow"
    assert body["on_unavailable"] == "allow"
    assert body["disabled"] == {"value": False, "level": None}
    assert body["cascade"] == {"value": True, "level": "resource"}


@pytest.mark.parametrize(
    ("present", "source"),
    [
        (("entity_default", "resource", "system"), "entity_default"),
        (("resource", "system"), "resource"),
        (("system",), "system"),
        ((), None),
    ],
)
def test_the_first_level_that_defines_a_limit_decides(
    namespaced: ConfigTable, present: tuple[str, ...], source: str | None
) -> None:
    keys = {
        "entity_default": namespaced.entity("bob", "_default_"),
        "resource": namespaced.resource("gpt-4"),
        "system": namespaced.system(),
    }
    capacities = {"entity_default": 2, "resource": 3, "system": 4}
    # An entity config for the resource that defines no limit (a flag alone) decides nothing.
    namespaced.put(namespaced.entity("bob", "gpt-4"), {}, disabled={"BOOL": False})
    for level in present:
        namespaced.put(keys[level], {"rpm": (capacities[level], 1, 1)})

    body = explain("bob", "gpt-4")["json"]

    assert body["source"] == source
    if source is None:
        assert body["limits"] is None
    else:
        assert [(limit["capacity"], limit["level"]) for limit in body["limits"]] == [
            (capacities[source], source)
        ]
    assert body["levels"]["entity"] == {"limits": [], "disabled": False, "cascade": None}


def test_disabled_and_cascade_walk_three_levels_on_their_own(namespaced: ConfigTable) -> None:
    # Given the resource disabled, the entity's _default_ bypassed, its own config re-enabling it
    namespaced.put(namespaced.resource("gpt-4"), {"rpm": (1, 1, 1)}, disabled={"BOOL": True})
    namespaced.put(
        namespaced.entity("carol", "_default_"),
        {},
        disabled={"S": "bypass"},
        cascade={"BOOL": False},
    )
    namespaced.put(namespaced.system(), {}, disabled={"BOOL": True}, cascade={"BOOL": True})
    assert explain("carol", "gpt-4")["json"]["disabled"] == {
        "value": "bypass",
        "level": "entity_default",
    }
    namespaced.put(namespaced.entity("carol", "gpt-4"), {}, disabled={"BOOL": False})
    body = explain("carol", "gpt-4")["json"]
    assert body["disabled"] == {"value": False, "level": "entity"}
    assert body["cascade"] == {"value": False, "level": "entity_default"}
    # The system config's flags are no level of these walks.
    assert explain("dave", "gpt-4")["json"]["disabled"] == {"value": True, "level": "resource"}
    assert explain("dave", "gpt-5")["json"]["disabled"] == {"value": False, "level": None}
    assert explain("dave", "gpt-5")["json"]["cascade"] == {"value": None, "level": None}
    # A string zae-limiter does not know reads as an explicit false, as zae-limiter reads it.
    namespaced.put(namespaced.resource("gpt-5"), {}, disabled={"S": "maybe"})
    assert explain("dave", "gpt-5")["json"]["disabled"] == {"value": False, "level": "resource"}


def test_an_entity_with_no_config_anywhere_gets_empty_levels(namespaced: ConfigTable) -> None:
    body = explain("nobody", "gpt-4")["json"]
    assert body["source"] is None and body["limits"] is None
    assert body["levels"] == {
        "entity": None,
        "entity_default": None,
        "resource": None,
        "system": None,
    }
    assert body["on_unavailable"] is None


def test_soft_scheduled_and_windowed_limits_are_shown_as_stored(namespaced: ConfigTable) -> None:
    namespaced.put(
        namespaced.resource("gpt-4"),
        {"rpm": (10, 10, 60), "quota": (1000, 0, 86400)},
        l_rpm_soft={"BOOL": True},
        l_rpm_sched={"S": "1c* 9-17 * * 1-5|x2500"},
        l_quota_rsched={"S": "1c0 0 * * *"},
        sched_tz={"S": "Europe/Paris"},
    )
    namespaced.put(
        namespaced.entity("erin", "_default_"),
        {},
        w_session_cp={"N": "5"},
        w_session_ra={"N": "0"},
        w_session_rp={"N": "3600"},
        w_session_rsa={"N": "3600"},
    )
    limits = {limit["name"]: limit for limit in explain("erin", "gpt-4")["json"]["limits"]}
    assert limits["session"]["reset_after_seconds"] == 3600
    assert limits["session"]["level"] == "entity_default"
    levels = explain("frank", "gpt-4")["json"]["levels"]
    shown = {limit["name"]: limit for limit in levels["resource"]["limits"]}
    assert shown["rpm"] == {
        "name": "rpm",
        "capacity": 10,
        "refill_amount": 10,
        "refill_period_seconds": 60,
        "soft": True,
        "schedule": "1c* 9-17 * * 1-5|x2500",
        "schedule_time_zone": "Europe/Paris",
    }
    assert shown["quota"]["reset_schedule"] == "1c0 0 * * *"
    assert "soft" not in shown["quota"]


def test_numbers_are_served_exactly_as_stored(namespaced: ConfigTable) -> None:
    namespaced.put(namespaced.system(), {"rpm": ("12345678901234.5678", "0.125", "1.5")})
    (limit,) = numbers(explain("gina", "gpt-4"))["limits"]
    assert limit["capacity"] == Decimal("12345678901234.5678")
    assert limit["refill_amount"] == Decimal("0.125")
    assert limit["refill_period_seconds"] == Decimal("1.5")


def test_one_consistent_batch_get_answers(namespaced: ConfigTable) -> None:
    explain("warm", "up")  # detection and the namespace, at a cold start
    sent: list[tuple[str, dict[str, Any]]] = []

    def record(params: dict[str, Any], model: Any, **_: Any) -> None:
        sent.append((model.name, params))

    service.table().client.meta.events.register("provide-client-params.dynamodb.*", record)
    explain("helen", "openai/gpt-4")
    assert [name for name, _ in sent] == ["BatchGetItem"]
    ((_, params),) = sent
    (request,) = params["RequestItems"].values()
    assert request["ConsistentRead"] is True
    prefix = namespaced.prefix()
    assert sorted(key["SK"]["S"] for key in request["Keys"]) == [
        "#CONFIG",
        "#CONFIG",
        "#CONFIG#_default_",
        "#CONFIG#openai/gpt-4",
    ]
    assert {key["PK"]["S"] for key in request["Keys"]} == {
        f"{prefix}ENTITY#helen",
        f"{prefix}RESOURCE#openai/gpt-4",
        f"{prefix}SYSTEM#",
    }


def test_the_etag_follows_any_level_and_if_none_match_answers_304(
    namespaced: ConfigTable,
) -> None:
    first = explain("ivy", "gpt-4")
    etag = first["headers"]["ETag"]
    assert etag.startswith('"e-')
    again = explain("ivy", "gpt-4", headers={"If-None-Match": etag})
    assert again["statusCode"] == 304 and again["headers"]["ETag"] == etag
    namespaced.put(namespaced.system(), {}, on_unavailable={"S": "block"})
    changed = explain("ivy", "gpt-4", headers={"If-None-Match": etag})
    assert changed["statusCode"] == 200 and changed["headers"]["ETag"] != etag


def test_namespaces_are_kept_apart(namespaced: ConfigTable) -> None:
    namespaced.put(namespaced.resource("gpt-4", "prod"), {"rpm": (42, 42, 60)})
    assert explain("jo", "gpt-4")["json"]["source"] is None
    body = explain("jo", "gpt-4", "prod")["json"]
    assert body["namespace"] == "prod" and body["limits"][0]["capacity"] == 42
    assert explain("jo", "gpt-4", "default")["json"]["source"] is None
    gone = explain("jo", "gpt-4", "staging")
    assert gone["statusCode"] == 404 and gone["json"]["code"] == "NamespaceNotFound"


@pytest.mark.parametrize(
    ("path", "named"),
    [
        (effective_path("-leading-dash", "gpt-4"), "entity id"),
        (effective_path("has%23hash", "gpt-4"), "entity id"),
        (effective_path("a" * 257, "gpt-4"), "entity id"),
        (effective_path("kim", "_default_"), "resource name"),
        (effective_path("kim", "9lives"), "resource name"),
    ],
)
def test_bad_names_are_refused_naming_what_is_wrong(
    namespaced: ConfigTable, path: str, named: str
) -> None:
    answer = api_call("GET", path)
    assert answer["statusCode"] == 400 and answer["json"]["code"] == "InvalidInput"
    assert named in answer["json"]["message"]


def test_entity_ids_follow_zae_limiters_rule(namespaced: ConfigTable) -> None:
    for entity in ("sk-proj-1a2b", "user@example.com", "0f8fad5b-d9cb-469f-a165-70867728950e"):
        assert explain(entity, "gpt-4")["statusCode"] == 200
    assert explain("a" * 256, "gpt-4")["statusCode"] == 200


def test_an_unknown_query_parameter_is_refused(namespaced: ConfigTable) -> None:
    answer = explain("lee", "gpt-4", query="consistent=true")
    assert answer["statusCode"] == 400 and "consistent" in answer["json"]["message"]


def test_composite_tables_show_burst_and_have_one_namespace(composite: ConfigTable) -> None:
    composite.put(composite.resource("gpt-4"), {"rpm": (10, 10, 60)}, l_rpm_bx={"N": "15"})
    (limit,) = explain("max", "gpt-4")["json"]["limits"]
    assert limit["burst"] == 15 and limit["level"] == "resource"
    assert explain("max", "gpt-4", "default")["json"]["limits"] == [limit]
    assert explain("max", "gpt-4", "prod")["statusCode"] == 404


def test_the_flat_layout_says_it_has_no_effective_view(flat: ConfigTable) -> None:
    answer = explain("ned", "gpt-4")
    assert answer["statusCode"] == 409
    assert answer["json"]["code"] == "NotOnThisLayout"
    assert "0.8 and later" in answer["json"]["message"]


# Dry runs of PUT and DELETE.


def defaults_path(resource: str) -> str:
    return f"/resources/{resource}/defaults"


def test_a_dry_run_put_answers_what_would_be_written_and_who_it_reaches(
    namespaced: ConfigTable,
) -> None:
    # Given zae-limiter's counts: 3 entities configure gpt-4, 5 have a _default_; system limits
    namespaced.counts({"gpt-4": 3, "_default_": 5, "gpt-5": 1})
    namespaced.put(namespaced.system(), {"rpm": (1, 1, 1)})
    before = namespaced.dump()

    answer = api_call("PUT", defaults_path("gpt-4"), body={"limits": [RPM]}, query="dry_run=true")

    assert answer["statusCode"] == 200, answer["json"]
    assert answer["json"]["limits"] == [{**RPM, "refill_amount": 100}]
    assert answer["json"]["dry_run"] is True
    reach = answer["json"]["reach"]
    assert (reach["entity_configs"], reach["entity_default_configs"]) == (3, 5)
    assert reach["system_defaults"] is True
    assert "at most 8" in reach["note"]
    assert "ETag" not in answer["headers"]
    # and nothing was written: no defaults, no registry, no audit event
    assert namespaced.dump() == before


def test_a_dry_run_checks_the_etag_as_the_write_would(namespaced: ConfigTable) -> None:
    written = api_call("PUT", defaults_path("gpt-4"), body={"limits": [RPM]})
    etag = written["headers"]["ETag"]
    before = namespaced.dump()
    stale = api_call(
        "PUT",
        defaults_path("gpt-4"),
        body={"limits": [RPM]},
        headers={"If-Match": '"9-0123456789ab"'},
        query="dry_run=true",
    )
    assert stale["statusCode"] == 412
    exists = api_call(
        "PUT",
        defaults_path("gpt-4"),
        body={"limits": [RPM]},
        headers={"If-None-Match": "*"},
        query="dry_run=true",
    )
    assert exists["statusCode"] == 412
    current = api_call(
        "PUT",
        defaults_path("gpt-4"),
        body={"limits": [{**RPM, "capacity": 7}]},
        headers={"If-Match": etag},
        query="dry_run=true",
    )
    assert current["statusCode"] == 200 and current["json"]["limits"][0]["capacity"] == 7
    # With no counts item yet, zae-limiter has counted no entity config: zero, not unknown.
    assert current["json"]["reach"]["entity_configs"] == 0
    assert "none has a config of its own for 'gpt-4'" in current["json"]["reach"]["note"]
    assert current["json"]["reach"]["system_defaults"] is False
    assert namespaced.dump() == before


def test_a_dry_run_never_marks_an_item_another_writer_wrote(namespaced: ConfigTable) -> None:
    namespaced.put(namespaced.resource("gpt-4"), {"rpm": (10, 10, 60)}, disabled={"BOOL": True})
    before = namespaced.dump()
    answer = api_call("PUT", defaults_path("gpt-4"), body={"limits": [RPM]}, query="dry_run=true")
    assert answer["statusCode"] == 200
    assert namespaced.dump() == before  # no write mark either


def test_a_dry_run_refuses_what_the_write_would_refuse(namespaced: ConfigTable) -> None:
    namespaced.put(namespaced.resource("gpt-4"), {"rpm": (10, 10, 60)}, l_rpm_soft={"BOOL": True})
    refused = api_call("PUT", defaults_path("gpt-4"), body={"limits": [RPM]}, query="dry_run=true")
    assert refused["statusCode"] == 409 and refused["json"]["code"] == "UnrepresentableLimit"
    bursting = {"limits": [{**RPM, "burst": 200}]}
    assert (
        api_call("PUT", defaults_path("x"), body=bursting, query="dry_run=true")["statusCode"]
        == 400
    )


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
def test_a_dry_run_takes_no_idempotency_key_and_only_true_or_false(
    namespaced: ConfigTable, method: str
) -> None:
    body = {"limits": [RPM]} if method == "PUT" else None
    keyed = api_call(
        method,
        defaults_path("gpt-4"),
        body=body,
        headers={"Idempotency-Key": "k-1"},
        query="dry_run=true",
    )
    assert keyed["statusCode"] == 400 and "Idempotency-Key" in keyed["json"]["message"]
    wrong = api_call(method, defaults_path("gpt-4"), body=body, query="dry_run=yes")
    assert wrong["statusCode"] == 400 and "dry_run" in wrong["json"]["message"]


def test_a_dry_run_delete_changes_nothing_and_says_what_takes_over(
    namespaced: ConfigTable,
) -> None:
    assert api_call("PUT", defaults_path("gpt-4"), body={"limits": [RPM]})["statusCode"] == 200
    namespaced.counts({"_default_": 2})
    before = namespaced.dump()
    answer = api_call("DELETE", defaults_path("gpt-4"), query="dry_run=true")
    assert answer["statusCode"] == 200
    assert answer["json"]["limits"] is None and answer["json"]["dry_run"] is True
    reach = answer["json"]["reach"]
    assert (reach["entity_configs"], reach["entity_default_configs"]) == (0, 2)
    assert reach["system_defaults"] is False and "no limits" in reach["note"]
    assert namespaced.dump() == before
    missing = api_call("DELETE", defaults_path("gpt-5"), query="dry_run=true")
    assert missing["statusCode"] == 404
    # A dry run false is the write itself.
    assert api_call("DELETE", defaults_path("gpt-4"), query="dry_run=false")["statusCode"] == 204


def test_a_flat_table_counts_no_entity_configs(flat: ConfigTable) -> None:
    answer = api_call("PUT", defaults_path("gpt-4"), body={"limits": [RPM]}, query="dry_run=true")
    assert answer["statusCode"] == 200
    reach = answer["json"]["reach"]
    assert reach["entity_configs"] is None and reach["system_defaults"] is None
    assert "keeps no count" in reach["note"]


def test_a_dry_run_is_logged_as_one(
    namespaced: ConfigTable, caplog: pytest.LogCaptureFixture
) -> None:
    api_call("PUT", defaults_path("gpt-4"), body={"limits": [RPM]}, query="dry_run=true")
    api_call("DELETE", defaults_path("gpt-4"), query="dry_run=true")
    logged = [record.__dict__ for record in caplog.records if hasattr(record, "caller")]
    assert [(record["outcome"], record["status"]) for record in logged] == [
        ("dry run", 200),
        ("refused", 404),
    ]
