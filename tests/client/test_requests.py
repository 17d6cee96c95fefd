"""What the client puts on the wire for every route, and how it reads answers and errors."""

from __future__ import annotations

import json

import pytest

from handlers.routes import API_ROUTES
from resource_registry_client import (
    ApiError,
    ConflictError,
    NoSigner,
    NotFoundError,
    PreconditionFailedError,
    RegistryClient,
    TransportError,
    UnexpectedResponseError,
    parse_named,
    paths,
)
from resource_registry_client.client import endpoint_from_environment
from tests.client.support import StubApi

DEFAULTS = {
    "resource": "openai/gpt-4",
    "limits": [
        {"name": "rpm", "capacity": 5, "burst": 5, "refill_amount": 5, "refill_period_seconds": 60}
    ],
}


def client_of(stub: StubApi, suffix: str = "") -> RegistryClient:
    return RegistryClient(stub.url + suffix, signer=NoSigner())


def test_every_server_route_has_its_path_in_the_client() -> None:
    client_templates = {
        paths.NAMESPACES,
        paths.RESOURCES,
        paths.DEFAULTS,
        paths.HISTORY,
        paths.EFFECTIVE,
    }
    server_templates = {route.path for route in API_ROUTES}
    for template in server_templates:
        bare = template.removeprefix(paths.NAMESPACE_PREFIX)
        assert bare in client_templates, template


@pytest.mark.parametrize(
    ("call", "method", "path"),
    [
        (lambda c: c.list_namespaces(), "GET", "/namespaces"),
        (lambda c: c.list_resources(), "GET", "/resources"),
        (
            lambda c: c.list_resources("default", consistent=True),
            "GET",
            "/resources?consistent=true",
        ),
        (lambda c: c.list_resources("team a"), "GET", "/namespaces/team%20a/resources"),
        (lambda c: c.get_defaults("openai/gpt-4"), "GET", "/resources/openai%2Fgpt-4/defaults"),
        (
            lambda c: c.get_defaults("anthropic.claude-v2:1", "prod"),
            "GET",
            "/namespaces/prod/resources/anthropic.claude-v2%3A1/defaults",
        ),
        (lambda c: c.delete_defaults("llama3:8b"), "DELETE", "/resources/llama3%3A8b/defaults"),
        (
            lambda c: c.history("openai/gpt-4", "prod", limit=5, cursor="a/b=="),
            "GET",
            "/namespaces/prod/resources/openai%2Fgpt-4/history?limit=5&cursor=a%2Fb%3D%3D",
        ),
    ],
)
def test_each_route_is_one_encoded_path(stub_api: StubApi, call, method, path) -> None:
    stub_api.answer(200, {"namespaces": [], "resources": [], **DEFAULTS, "events": []})
    call(client_of(stub_api))
    assert (stub_api.received[0].method, stub_api.received[0].path) == (method, path)


def test_the_endpoint_path_is_kept_as_a_prefix(stub_api: StubApi) -> None:
    stub_api.answer(200, {"resources": ["a"]})
    assert client_of(stub_api, "/v1/").list_resources() == ["a"]
    assert stub_api.received[0].path == "/v1/resources"


def test_a_create_only_set_sends_if_none_match_star_and_the_limits(stub_api: StubApi) -> None:
    stub_api.answer(200, DEFAULTS, {"ETag": '"1"'})
    limits = [parse_named("rpm=5/1m"), parse_named("tpm=100/1m,burst=150,refill=10")]
    defaults = client_of(stub_api).set_defaults("openai/gpt-4", limits, create_only=True)
    sent = stub_api.received[0]
    assert (sent.method, sent.path) == ("PUT", "/resources/openai%2Fgpt-4/defaults")
    assert sent.headers["If-None-Match"] == "*" and "If-Match" not in sent.headers
    assert sent.headers["Content-Type"] == "application/json"
    assert sent.json() == {
        "limits": [
            {"name": "rpm", "capacity": 5, "refill_amount": 5, "refill_period_seconds": 60},
            {
                "name": "tpm",
                "capacity": 100,
                "burst": 150,
                "refill_amount": 10,
                "refill_period_seconds": 60,
            },
        ]
    }
    assert defaults.etag == '"1"' and defaults.limits[0].name == "rpm"


def test_guarded_writes_send_if_match(stub_api: StubApi) -> None:
    stub_api.answer(200, DEFAULTS, {"ETag": '"4"'})
    stub_api.answer(204)
    client = client_of(stub_api)
    client.set_defaults("gpt-4", [parse_named("rpm=5/1m")], "prod", if_match='"3"')
    client.delete_defaults("gpt-4", "prod", if_match='"4"')
    put, delete = stub_api.received
    assert (put.path, put.headers["If-Match"]) == (
        "/namespaces/prod/resources/gpt-4/defaults",
        '"3"',
    )
    assert "If-None-Match" not in put.headers
    assert (delete.method, delete.headers["If-Match"]) == ("DELETE", '"4"')


def test_unguarded_writes_send_no_precondition(stub_api: StubApi) -> None:
    stub_api.answer(200, DEFAULTS)
    client_of(stub_api).set_defaults("gpt-4", [parse_named("rpm=5/1m")])
    assert not {"If-Match", "If-None-Match"} & set(stub_api.received[0].headers)


def test_a_conditional_get_answers_none_on_304(stub_api: StubApi) -> None:
    stub_api.answer(304, headers={"ETag": '"2"'})
    stub_api.answer(200, DEFAULTS, {"ETag": '"3"'})
    client = client_of(stub_api)
    assert client.get_defaults_if_changed("gpt-4", '"2"') is None
    changed = client.get_defaults_if_changed("gpt-4", '"2"')
    assert changed is not None and changed.etag == '"3"'
    assert stub_api.received[0].headers["If-None-Match"] == '"2"'


def test_history_pages_follow_the_cursor(stub_api: StubApi) -> None:
    event = {
        "event_id": "01J",
        "timestamp": "2026-01-01T00:00:00Z",
        "action": "limits_set",
        "principal": "arn:aws:iam::1:user/a",
        "limits": DEFAULTS["limits"],
    }
    stub_api.answer(200, {"resource": "gpt-4", "events": [event], "next_cursor": "next"})
    stub_api.answer(200, {"resource": "gpt-4", "events": [event], "next_cursor": None})
    events = list(client_of(stub_api).iter_history("gpt-4", page_size=1))
    assert [e.action for e in events] == ["limits_set", "limits_set"]
    assert events[0].limits[0].capacity == 5
    assert [r.path for r in stub_api.received] == [
        "/resources/gpt-4/history?limit=1",
        "/resources/gpt-4/history?limit=1&cursor=next",
    ]


@pytest.mark.parametrize(
    ("status", "error_class"),
    [(404, NotFoundError), (412, PreconditionFailedError), (409, ConflictError), (418, ApiError)],
)
def test_error_bodies_become_typed_errors_with_the_code(stub_api, status, error_class) -> None:
    stub_api.answer(status, {"message": "it went wrong", "code": "SomeCode"})
    with pytest.raises(error_class) as raised:
        client_of(stub_api).get_defaults("gpt-4")
    assert type(raised.value) is error_class
    assert (raised.value.status, raised.value.code, raised.value.message) == (
        status,
        "SomeCode",
        "it went wrong",
    )


def test_an_error_without_a_json_body_keeps_its_status(stub_api: StubApi) -> None:
    stub_api.answer(403, b"<html>Forbidden</html>")
    with pytest.raises(ApiError) as raised:
        client_of(stub_api).list_resources()
    assert (raised.value.status, raised.value.code) == (403, None)
    assert "Forbidden" in raised.value.message


def test_a_body_this_api_never_sends_is_one_clear_error(stub_api: StubApi) -> None:
    stub_api.answer(200, b"<html>a login page</html>")
    with pytest.raises(UnexpectedResponseError, match="is the endpoint URL right"):
        client_of(stub_api).list_resources()


def test_an_unreachable_endpoint_is_a_transport_error() -> None:
    with pytest.raises(TransportError, match="cannot reach"):
        RegistryClient("http://127.0.0.1:9", signer=NoSigner()).list_resources()


def test_bodies_are_json(stub_api: StubApi) -> None:
    stub_api.answer(200, DEFAULTS)
    client_of(stub_api).set_defaults("gpt-4", [parse_named("rpm=5/1m")])
    assert json.loads(stub_api.received[0].body)["limits"][0]["name"] == "rpm"


def test_the_endpoint_is_the_variable_else_the_local_server_on_its_port(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("RESOURCE_REGISTRY_URL", raising=False)
    monkeypatch.delenv("PORT", raising=False)
    assert endpoint_from_environment() == "http://127.0.0.1:3000"
    monkeypatch.setenv("PORT", "3100")  # as make run PORT=3100 serves
    assert endpoint_from_environment() == "http://127.0.0.1:3100"
    monkeypatch.setenv("RESOURCE_REGISTRY_URL", "https://api.example.com/v1")
    assert endpoint_from_environment() == "https://api.example.com/v1"
