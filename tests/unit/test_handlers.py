"""The API handlers, called in-process with API Gateway events against moto."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from devtools.call_counter import CallCounter
from tests.conftest import Table, api_call

RPM = {"name": "rpm", "capacity": 100, "refill_period_seconds": 60}
TPM = {
    "name": "tpm",
    "capacity": 1000,
    "burst": 2000,
    "refill_amount": 500,
    "refill_period_seconds": 60,
}
DEFAULTS = "/resources/{}/defaults"


def put(
    resource: str, limits: list[dict[str, Any]], headers: dict[str, str] | None = None
) -> dict[str, Any]:
    return api_call("PUT", DEFAULTS.format(resource), body={"limits": limits}, headers=headers)


def test_put_answers_the_full_limits_and_an_etag(moto_table: Table) -> None:
    response = put("gpt-4", [TPM, RPM])
    assert response["statusCode"] == 200
    assert response["json"] == {
        "resource": "gpt-4",
        "limits": [{**RPM, "burst": 100, "refill_amount": 100}, TPM],
    }
    assert response["headers"]["ETag"].startswith('"1-')


def test_get_answers_what_put_stored_with_the_same_etag(moto_table: Table) -> None:
    stored = put("gpt-4", [RPM])
    response = api_call("GET", DEFAULTS.format("gpt-4"))
    assert response["statusCode"] == 200
    assert response["json"] == stored["json"]
    assert response["headers"]["ETag"] == stored["headers"]["ETag"]


def test_get_of_a_resource_without_defaults_is_404_with_a_message(moto_table: Table) -> None:
    response = api_call("GET", DEFAULTS.format("gpt-4"))
    assert response["statusCode"] == 404
    assert "gpt-4" in response["json"]["message"]


def test_delete_answers_204_then_404(moto_table: Table) -> None:
    put("gpt-4", [RPM])
    assert api_call("DELETE", DEFAULTS.format("gpt-4"))["statusCode"] == 204
    assert api_call("DELETE", DEFAULTS.format("gpt-4"))["statusCode"] == 404


def test_list_answers_the_registered_names_sorted(moto_table: Table) -> None:
    for name in ["b-model", "a-model", "c-model"]:
        put(name, [RPM])
    api_call("DELETE", DEFAULTS.format("b-model"))
    response = api_call("GET", "/resources")
    assert response["statusCode"] == 200
    assert response["json"] == {"resources": ["a-model", "c-model"]}


def test_list_of_an_empty_registry_is_an_empty_list(moto_table: Table) -> None:
    assert api_call("GET", "/resources")["json"] == {"resources": []}


@pytest.mark.parametrize(("query", "consistent"), [("", False), ("consistent=true", True)])
def test_list_is_one_get_item_with_the_asked_consistency(
    moto_table: Table, query: str, consistent: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    from resource_registry import service

    client = service.default_store().table.client  # the handler's own client
    counter = CallCounter(client)
    seen: list[bool] = []
    client.meta.events.register(
        "provide-client-params.dynamodb.GetItem",
        lambda params, **_: seen.append(params.get("ConsistentRead", False)),
    )
    assert api_call("GET", "/resources", query=query)["statusCode"] == 200
    assert counter.calls == {"GetItem": 1}
    assert seen == [consistent]


def test_list_refuses_a_bad_consistent_value(moto_table: Table) -> None:
    response = api_call("GET", "/resources", query="consistent=maybe")
    assert response["statusCode"] == 400
    assert "consistent" in response["json"]["message"]


def test_if_match_with_the_current_etag_is_honoured(moto_table: Table) -> None:
    etag = put("gpt-4", [RPM])["headers"]["ETag"]
    response = put("gpt-4", [TPM], headers={"If-Match": etag})
    assert response["statusCode"] == 200
    assert response["headers"]["ETag"].startswith('"2-')


def test_if_match_with_a_stale_etag_is_412_and_changes_nothing(moto_table: Table) -> None:
    stale = put("gpt-4", [RPM])["headers"]["ETag"]
    current = put("gpt-4", [TPM])["headers"]["ETag"]
    before = moto_table.items()
    assert put("gpt-4", [RPM], headers={"If-Match": stale})["statusCode"] == 412
    response = api_call("DELETE", DEFAULTS.format("gpt-4"), headers={"If-Match": stale})
    assert response["statusCode"] == 412
    assert current in response["json"]["message"]
    assert moto_table.items() == before


def test_if_match_star_needs_existing_defaults(moto_table: Table) -> None:
    assert put("gpt-4", [RPM], headers={"If-Match": "*"})["statusCode"] == 412
    put("gpt-4", [RPM])
    assert put("gpt-4", [TPM], headers={"If-Match": "*"})["statusCode"] == 200


def test_delete_honours_if_match(moto_table: Table) -> None:
    etag = put("gpt-4", [RPM])["headers"]["ETag"]
    assert (
        api_call("DELETE", DEFAULTS.format("gpt-4"), headers={"If-Match": etag})["statusCode"]
        == 204
    )


def test_put_body_may_echo_the_resource_it_got(moto_table: Table) -> None:
    got = put("gpt-4", [RPM])["json"]
    assert api_call("PUT", DEFAULTS.format("gpt-4"), body=got)["statusCode"] == 200
    assert api_call("PUT", DEFAULTS.format("other"), body=got)["statusCode"] == 400


@pytest.mark.parametrize(
    ("body", "headers", "status", "words"),
    [
        ("{not json", {"Content-Type": "application/json"}, 400, "not valid JSON"),
        ("", {"Content-Type": "application/json"}, 400, "empty"),
        ('{"limits": []}', {"Content-Type": "text/plain"}, 415, "Content-Type"),
        ('{"limits": []}', {}, 415, "Content-Type"),
        ("[" * 140_000 + "]" * 140_000, {"Content-Type": "application/json"}, 413, "over"),
        ("[" * 5_000 + "]" * 5_000, {"Content-Type": "application/json"}, 400, "nested too deeply"),
        ("[" * 17 + "]" * 17, {"Content-Type": "application/json"}, 400, "nested too deeply"),
        (  # brackets inside strings are text, not nesting
            '{"limits": [{"name": "'
            + "[{" * 20
            + '", "capacity": 1, "refill_period_seconds": 1}]}',
            {"Content-Type": "application/json"},
            400,
            "limits[0].name",
        ),
        (
            '{"limits": [{"name": "rpm", "capacity": NaN}]}',
            {"Content-Type": "application/json"},
            400,
            "NaN",
        ),
        ('{"limits": [], "extra": 1}', {"Content-Type": "application/json"}, 400, "'extra'"),
        ('{"limit": []}', {"Content-Type": "application/json"}, 400, "'limit'"),
        ("[]", {"Content-Type": "application/json"}, 400, "JSON object"),
        ('{"limits": []}', {"Content-Type": "application/json"}, 400, "1 to 1000"),
    ],
)
def test_bad_bodies_get_a_4xx_with_a_message_and_change_nothing(
    moto_table: Table, body: str, headers: dict[str, str], status: int, words: str
) -> None:
    put("gpt-4", [RPM])
    before = moto_table.items()
    response = api_call("PUT", DEFAULTS.format("gpt-4"), body=body, headers=headers)
    assert response["statusCode"] == status
    assert words in response["json"]["message"]
    assert moto_table.items() == before


@pytest.mark.parametrize(
    "path_name", ["a%23b", "a%20b", "mod%C3%A8le", "x" * 65, "9lives", "%2Fab"]
)
def test_bad_resource_names_in_the_path_are_400(moto_table: Table, path_name: str) -> None:
    before = moto_table.items()
    response = put(path_name, [RPM])
    assert response["statusCode"] == 400
    assert "resource name" in response["json"]["message"]
    assert api_call("GET", DEFAULTS.format(path_name))["statusCode"] == 400
    assert moto_table.items() == before


def test_percent_encoded_valid_names_are_decoded(moto_table: Table) -> None:
    assert put("gpt%2D4", [RPM])["json"]["resource"] == "gpt-4"


def test_base64_encoded_bodies_are_decoded(moto_table: Table) -> None:
    raw = base64.b64encode(json.dumps({"limits": [RPM]}).encode()).decode()
    from devtools.local_server import LocalContext, build_event
    from handlers import handle_set_defaults, routes

    event = build_event(
        routes.SET_DEFAULTS,
        "/resources/gpt-4/defaults",
        headers=[("Content-Type", "application/json")],
        body=raw,
        path_parameters={"resource": "gpt-4"},
    )
    event["isBase64Encoded"] = True
    assert handle_set_defaults.handler(event, LocalContext("SetDefaults", "r"))["statusCode"] == 200


def test_errors_never_leak_the_table_name_or_a_traceback(moto_table: Table) -> None:
    bodies = [api_call("GET", DEFAULTS.format("nope"))["body"], put("x", [{"bad": 1}])["body"]]
    for body in bodies:
        assert moto_table.name not in body
        assert "Traceback" not in body


def test_mutations_log_the_caller(moto_table: Table, caplog: pytest.LogCaptureFixture) -> None:
    put("gpt-4", [RPM])
    put("gpt-4", [{"name": "refused"}])
    api_call("DELETE", DEFAULTS.format("gpt-4"))
    api_call("GET", "/resources")
    mutations = [record for record in caplog.records if hasattr(record, "caller")]
    messages = [record.getMessage() for record in mutations]
    assert messages == ["set defaults", "set defaults", "delete defaults"]
    # Each with how it ended: the refused one with its status and code
    outcomes = [(record.__dict__["outcome"], record.__dict__["status"]) for record in mutations]
    assert outcomes == [("applied", 200), ("refused", 400), ("applied", 204)]
    assert mutations[1].__dict__["code"] == "InvalidInput"
    assert all(record.__dict__["caller"].endswith(":user/local-developer") for record in mutations)
    assert all(record.__dict__["resource"] == "gpt-4" for record in mutations)


def test_if_match_on_a_resource_without_defaults_is_412(moto_table: Table) -> None:
    # No representation exists, so no ETag can match (RFC 9110 13.1.1); not even after a delete.
    assert put("gpt-4", [RPM], headers={"If-Match": '"0-000000000000"'})["statusCode"] == 412
    etag = put("gpt-4", [RPM])["headers"]["ETag"]
    api_call("DELETE", DEFAULTS.format("gpt-4"))
    assert put("gpt-4", [RPM], headers={"If-Match": etag})["statusCode"] == 412
    assert moto_table.registry() == set()


def test_if_match_with_a_list_matches_any_of_its_etags(moto_table: Table) -> None:
    etag = put("gpt-4", [RPM])["headers"]["ETag"]
    listed = f'"7-0123456789ab", {etag}'
    assert put("gpt-4", [TPM], headers={"If-Match": listed})["statusCode"] == 200
    assert put("gpt-4", [RPM], headers={"If-Match": listed})["statusCode"] == 412


@pytest.mark.parametrize("method", ["PUT", "GET", "DELETE"])
def test_query_parameters_on_a_resource_route_are_refused(moto_table: Table, method: str) -> None:
    put("gpt-4", [RPM])
    before = moto_table.items()
    body = {"limits": [TPM]} if method == "PUT" else None
    response = api_call(method, DEFAULTS.format("gpt-4"), body=body, query="force=1")
    assert response["statusCode"] == 400
    assert "force" in response["json"]["message"]
    assert moto_table.items() == before


def test_a_resource_name_with_a_slash_is_one_encoded_path_segment(moto_table: Table) -> None:
    # Given defaults set for zae-limiter style names, '/' sent as %2F
    for name in ("openai/gpt-4", "llama3:8b"):
        assert put(name.replace("/", "%2F"), [RPM])["statusCode"] == 200

    # Then they read back under the decoded names, and are registered as such
    response = api_call("GET", DEFAULTS.format("openai%2Fgpt-4"))
    assert (response["statusCode"], response["json"]["resource"]) == (200, "openai/gpt-4")
    assert api_call("GET", "/resources")["json"] == {"resources": ["llama3:8b", "openai/gpt-4"]}


def test_if_none_match_star_on_put_creates_only(moto_table: Table) -> None:
    # Given no defaults, a create-only PUT creates
    assert put("gpt-4", [RPM], headers={"If-None-Match": "*"})["statusCode"] == 200
    before = moto_table.items()

    # Then a second create-only PUT is refused, and changes nothing
    refused = put("gpt-4", [TPM], headers={"If-None-Match": "*"})
    assert (refused["statusCode"], refused["json"]["code"]) == (412, "PreconditionFailed")
    assert "only creates" in refused["json"]["message"]
    assert moto_table.items() == before

    # And after a delete it creates again
    api_call("DELETE", DEFAULTS.format("gpt-4"))
    assert put("gpt-4", [TPM], headers={"If-None-Match": "*"})["statusCode"] == 200


def test_a_get_with_the_current_etag_in_if_none_match_is_304_without_a_body(
    moto_table: Table,
) -> None:
    etag = put("gpt-4", [RPM])["headers"]["ETag"]

    unchanged = api_call("GET", DEFAULTS.format("gpt-4"), headers={"If-None-Match": etag})
    weak = api_call("GET", DEFAULTS.format("gpt-4"), headers={"If-None-Match": f"W/{etag}"})
    star = api_call("GET", DEFAULTS.format("gpt-4"), headers={"If-None-Match": "*"})
    assert (unchanged["statusCode"], unchanged["headers"]["ETag"]) == (304, etag)
    assert not unchanged["body"]
    assert weak["statusCode"] == star["statusCode"] == 304

    # Once the defaults change, the old ETag gets the new representation
    put("gpt-4", [TPM])
    changed = api_call("GET", DEFAULTS.format("gpt-4"), headers={"If-None-Match": etag})
    assert changed["statusCode"] == 200
    assert changed["json"]["limits"][0]["name"] == "tpm"
    other = api_call("GET", DEFAULTS.format("gpt-4"), headers={"If-None-Match": '"x", "1-0"'})
    assert other["statusCode"] == 200


@pytest.mark.parametrize("header", ['"*"', '*, "x"', "garbage", '"9-0123456789ab"', "W/*"])
def test_if_none_match_on_put_takes_only_a_bare_star(moto_table: Table, header: str) -> None:
    # Given defaults, and a PUT whose If-None-Match is not "*" (a mistyped create-only)
    put("gpt-4", [RPM])
    before = moto_table.items()
    # When it is sent
    answer = put("gpt-4", [TPM], headers={"If-None-Match": header})
    # Then it is refused, saying so, and nothing is overwritten
    assert answer["statusCode"] == 400
    assert "If-None-Match on PUT takes only *" in answer["json"]["message"]
    assert moto_table.items() == before
    assert put("gpt-4", [TPM], headers={"If-None-Match": " * "})["statusCode"] == 412


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        (
            '{"limits": [{"name": "rpm", "capacity": -1, "capacity": 5, '
            '"refill_period_seconds": 60}]}',
            "capacity",
        ),
        (
            '{"limits": [], "limits": [{"name": "rpm", "capacity": 5, '
            '"refill_period_seconds": 60}]}',
            "limits",
        ),
        (
            '{"limits": [{"name": "x", "name": "rpm", "capacity": 5, '
            '"refill_period_seconds": 60}]}',
            "name",
        ),
    ],
)
def test_a_key_given_twice_at_any_depth_is_refused_naming_it(
    moto_table: Table, raw: str, key: str
) -> None:
    # Given a body that names a key twice (Python's json would keep the last one)
    answer = api_call(
        "PUT", DEFAULTS.format("gpt-4"), body=raw, headers={"Content-Type": "application/json"}
    )
    # Then it is refused, naming the key, and nothing is written
    assert answer["statusCode"] == 400
    assert f"the key {key!r} appears twice" in answer["json"]["message"]
    assert moto_table.items() == []
