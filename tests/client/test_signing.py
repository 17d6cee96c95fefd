"""SigV4: the Authorization header a request carries on the wire is the one botocore's own
signer computes for that very request (method, encoded path, query, headers, body)."""

from __future__ import annotations

import datetime
import re
from pathlib import Path

import botocore.auth
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from resource_registry_client import ConfigurationError, RegistryClient, parse_named
from resource_registry_client.signing import RequestSigner, region_of
from tests.client.support import Received, StubApi

NOW = datetime.datetime(2026, 1, 2, 3, 4, 5)  # botocore's signer works in naive UTC
KEY, SECRET = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"


@pytest.fixture
def fixed_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_REGION", "eu-west-3")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda *_, **__: NOW)


def botocore_authorization(stub: StubApi, received: Received, token: str | None = None) -> str:
    """What botocore's SigV4Auth makes of the request the server received."""
    header = received.headers["Authorization"]
    signed = re.search(r"SignedHeaders=([^,]+)", header)
    assert signed is not None
    lower = {name.lower(): value for name, value in received.headers.items()}
    headers = {name: lower[name] for name in signed.group(1).split(";")}
    request = AWSRequest(
        method=received.method, url=stub.url + received.path, headers=headers, data=received.body
    )
    credentials = Credentials(KEY, SECRET, token)
    SigV4Auth(credentials, "execute-api", "eu-west-3").add_auth(request)
    return str(request.headers["Authorization"])


@pytest.mark.usefixtures("fixed_credentials")
def test_a_put_with_an_encoded_name_carries_botocores_signature(stub_api: StubApi) -> None:
    stub_api.answer(200, {"resource": "openai/gpt-4", "limits": []}, {"ETag": '"1"'})
    client = RegistryClient(stub_api.url)
    client.set_defaults("openai/gpt-4", [parse_named("rpm=5/1m")], "team:a", if_match='"7"')
    received = stub_api.received[0]
    assert received.path == "/namespaces/team%3Aa/resources/openai%2Fgpt-4/defaults"
    authorization = received.headers["Authorization"]
    assert authorization.startswith(
        f"AWS4-HMAC-SHA256 Credential={KEY}/20260102/eu-west-3/execute-api/aws4_request, "
    )
    assert {"host", "x-amz-date", "content-type", "if-match"} <= set(
        re.search(r"SignedHeaders=([^,]+)", authorization).group(1).split(";")  # type: ignore[union-attr]
    )
    assert received.headers["X-Amz-Date"] == "20260102T030405Z"
    assert authorization == botocore_authorization(stub_api, received)


@pytest.mark.usefixtures("fixed_credentials")
def test_a_get_with_a_query_carries_botocores_signature(stub_api: StubApi) -> None:
    RegistryClient(stub_api.url).list_resources(consistent=True)
    received = stub_api.received[0]
    assert received.path == "/resources?consistent=true"
    assert received.headers["Authorization"] == botocore_authorization(stub_api, received)


@pytest.mark.usefixtures("fixed_credentials")
def test_a_history_cursor_is_encoded_as_sigv4_encodes_it(stub_api: StubApi) -> None:
    stub_api.answer(200, {"resource": "a", "events": [], "next_cursor": None})
    RegistryClient(stub_api.url).history("a", cursor="ab+/= c~", limit=5)
    received = stub_api.received[0]
    assert received.path == "/resources/a/history?limit=5&cursor=ab%2B%2F%3D%20c~"
    assert received.headers["Authorization"] == botocore_authorization(stub_api, received)


@pytest.mark.usefixtures("fixed_credentials")
def test_a_tampered_request_would_not_match(stub_api: StubApi) -> None:
    RegistryClient(stub_api.url).list_resources(consistent=True)
    received = stub_api.received[0]
    received.path = "/resources"
    assert received.headers["Authorization"] != botocore_authorization(stub_api, received)


@pytest.mark.usefixtures("fixed_credentials")
def test_temporary_credentials_send_and_sign_the_session_token(
    stub_api: StubApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_SESSION_TOKEN", "session-token")
    RegistryClient(stub_api.url).list_resources()
    received = stub_api.received[0]
    assert received.headers["X-Amz-Security-Token"] == "session-token"
    assert "x-amz-security-token" in received.headers["Authorization"]
    assert received.headers["Authorization"] == botocore_authorization(
        stub_api, received, "session-token"
    )


@pytest.mark.usefixtures("fixed_credentials")
def test_an_api_gateway_host_names_the_region_to_sign_for() -> None:
    url = "https://abc123defg.execute-api.ap-southeast-2.amazonaws.com/v1/resources"
    headers = RequestSigner().sign("GET", url, {}, None)
    assert "/20260102/ap-southeast-2/execute-api/aws4_request" in headers["Authorization"]


def test_region_rules() -> None:
    gateway = "https://a1b2c3.execute-api.eu-central-1.amazonaws.com/v1"
    assert region_of(gateway, "us-west-2") == "eu-central-1"
    assert region_of("https://a1.execute-api.cn-north-1.amazonaws.com.cn/v1", None) == "cn-north-1"
    assert region_of("https://registry.example.com", "us-west-2") == "us-west-2"
    assert region_of("http://127.0.0.1:3000", None) == "us-east-1"
    with pytest.raises(ConfigurationError, match="set AWS_REGION"):
        region_of("https://registry.example.com", None)


def test_without_credentials_requests_go_unsigned(
    stub_api: StubApi, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for variable in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
    ):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    RegistryClient(stub_api.url).list_resources()
    assert "Authorization" not in stub_api.received[0].headers
    assert "X-Amz-Date" not in stub_api.received[0].headers


def test_a_missing_profile_is_one_clear_error(
    stub_api: StubApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_PROFILE", "no-such-profile")
    with pytest.raises(ConfigurationError, match="cannot load AWS credentials"):
        RegistryClient(stub_api.url).list_resources()
    assert stub_api.received == []
