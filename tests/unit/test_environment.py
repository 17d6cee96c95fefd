"""Where the local commands find DynamoDB, which region they sign for, and which credentials."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from devtools.dynamodb_local import DynamoDBLocalError, free_port
from devtools.environment import (
    LOCAL_REGION,
    SettingError,
    dynamodb_endpoint,
    dynamodb_local_port,
    table_layout_setting,
    use_default_table_name,
)


@pytest.fixture
def no_aws_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No region and no credentials anywhere: not in the environment, not in ~/.aws."""
    for variable in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def test_a_configured_endpoint_is_used_and_the_users_region_kept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", "https://dynamodb.eu-west-1.amazonaws.com")
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    with dynamodb_endpoint() as endpoint:
        assert endpoint.url == "https://dynamodb.eu-west-1.amazonaws.com"
        assert endpoint.started is None
        assert "AWS_REGION" not in os.environ  # botocore signs for AWS_DEFAULT_REGION


@pytest.mark.usefixtures("no_aws_config")
def test_the_profile_region_wins_over_the_local_default(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "config").write_text("[default]\nregion = ap-south-1\n")
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:1")
    with dynamodb_endpoint():
        assert "AWS_REGION" not in os.environ  # boto3 reads ap-south-1 from the profile


@pytest.mark.usefixtures("no_aws_config")
def test_an_aws_endpoint_without_a_region_signs_for_the_endpoints_region(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", "https://dynamodb.eu-west-1.amazonaws.com")
    with dynamodb_endpoint():
        assert os.environ["AWS_REGION"] == "eu-west-1"
        assert "AWS_ACCESS_KEY_ID" not in os.environ  # AWS gets no made-up credentials


@pytest.mark.usefixtures("no_aws_config")
def test_a_loopback_endpoint_without_credentials_or_region_gets_local_ones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://localhost:1")
    with dynamodb_endpoint():
        assert os.environ["AWS_REGION"] == LOCAL_REGION
        assert os.environ["AWS_ACCESS_KEY_ID"] == "local"


def test_a_loopback_endpoint_keeps_the_users_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:1")
    with dynamodb_endpoint():
        assert os.environ["AWS_ACCESS_KEY_ID"] == "testing"


@pytest.fixture
def not_dynamodb() -> Iterator[int]:
    """A port on which something that is not DynamoDB Local listens: it hangs up at once (a
    listener that never answers would cost the client's whole read timeout)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", free_port()))
        listener.listen()
        listener.settimeout(0.1)
        stop = threading.Event()

        def hang_up() -> None:
            while not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    listener.accept()[0].close()

        thread = threading.Thread(target=hang_up, daemon=True)
        thread.start()
        yield int(listener.getsockname()[1])
        stop.set()
        thread.join()


def test_a_port_taken_by_something_else_is_not_reused(
    monkeypatch: pytest.MonkeyPatch, not_dynamodb: int
) -> None:
    monkeypatch.setenv("DYNAMODB_LOCAL_PORT", str(not_dynamodb))
    refused = pytest.raises(DynamoDBLocalError, match=f"port {not_dynamodb} is taken by something")
    with refused, dynamodb_endpoint(reuse_running=True):
        pass


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("abc", "DYNAMODB_LOCAL_PORT='abc' is not a whole number: use one from 1 to 65535"),
        ("0", "DYNAMODB_LOCAL_PORT=0 is out of range: use a number from 1 to 65535"),
        ("70000", "DYNAMODB_LOCAL_PORT=70000 is out of range: use a number from 1 to 65535"),
    ],
)
def test_a_bad_port_setting_says_so_in_one_line(
    monkeypatch: pytest.MonkeyPatch, value: str, message: str
) -> None:
    monkeypatch.setenv("DYNAMODB_LOCAL_PORT", value)
    with pytest.raises(SettingError) as raised:
        dynamodb_local_port()
    assert str(raised.value) == message


@pytest.mark.parametrize("unset", [None, ""])
def test_local_commands_default_to_the_laptops_table(
    monkeypatch: pytest.MonkeyPatch, unset: str | None
) -> None:
    if unset is not None:
        monkeypatch.setenv("TABLE_NAME", unset)
    assert use_default_table_name() == "resource-registry"
    assert os.environ["TABLE_NAME"] == "resource-registry"


def test_local_commands_keep_a_configured_table(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TABLE_NAME", "team-limits")
    assert use_default_table_name() == "team-limits"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            "bogus",
            "TABLE_LAYOUT='bogus' is not a layout: use flat, composite or namespaced, or unset it "
            "(a new table is namespaced, as zae-limiter 0.17.0 makes it)",
        ),
        ("Flat", "TABLE_LAYOUT='Flat' is not a layout"),
    ],
)
def test_a_bad_table_layout_says_so_in_one_line(
    monkeypatch: pytest.MonkeyPatch, value: str, message: str
) -> None:
    monkeypatch.setenv("TABLE_LAYOUT", value)
    with pytest.raises(SettingError) as raised:
        table_layout_setting()
    assert str(raised.value).startswith(message)


@pytest.mark.parametrize(
    ("value", "layout"), [("", None), ("flat", "flat"), (" composite", "composite")]
)
def test_a_table_layout_names_a_new_tables_layout(
    monkeypatch: pytest.MonkeyPatch, value: str, layout: str | None
) -> None:
    monkeypatch.setenv("TABLE_LAYOUT", value)
    assert table_layout_setting() == layout


@pytest.mark.parametrize("name", ["ab", "a b", "table/name", "x" * 256])
def test_a_table_name_dynamodb_refuses_says_so(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.setenv("TABLE_NAME", name)
    with pytest.raises(SettingError, match=r"^TABLE_NAME='.*' is not a DynamoDB table name: use 3"):
        use_default_table_name()


@pytest.mark.parametrize(
    ("endpoint", "problem"),
    [
        ("notaurl", "is not an http(s) URL"),
        ("http://127.0.0.1:abc", "has port 'abc'"),
        ("http://[::1", "has an unclosed '['"),
    ],
)
def test_a_bad_endpoint_is_refused_before_anything_starts(
    monkeypatch: pytest.MonkeyPatch, endpoint: str, problem: str
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", endpoint)
    monkeypatch.setenv("DYNAMODB_LOCAL_PORT", "1")  # would fail to start, were it reached
    with pytest.raises(SettingError) as raised, dynamodb_endpoint():
        pass
    assert str(raised.value).startswith(f"AWS_ENDPOINT_URL_DYNAMODB={endpoint!r} {problem}")
    assert "set it to DynamoDB's URL" in str(raised.value)


def test_a_profile_the_config_lacks_is_named(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_PROFILE", "no-such-profile")
    with pytest.raises(SettingError) as raised, dynamodb_endpoint():
        pass
    assert str(raised.value).startswith(
        "AWS_PROFILE='no-such-profile' is not a profile in your AWS config"
    )
