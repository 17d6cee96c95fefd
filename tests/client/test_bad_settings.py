"""A URL or setting the command cannot use is one line saying what to change, before any request,
from every place an endpoint comes from: --endpoint, RESOURCE_REGISTRY_URL and PORT."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from resource_registry_client import ConfigurationError, NoSigner, RegistryClient
from resource_registry_client.cli import run
from resource_registry_client.urls import url_problem

SCRIPT = Path(sys.executable).parent / "resource-registry"
HINT = "give the API's base URL, e.g. http://127.0.0.1:3000 (make run) or the stack's ApiUrl"


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://127.0.0.1:abc", "has port 'abc', which is not a number from 1 to 65535"),
        ("http://127.0.0.1:99999", "has port '99999', which is not a number from 1 to 65535"),
        ("http://127.0.0.1:0", "has port '0', which is not a number from 1 to 65535"),
        ("http://127.0.0.1:-1", "has port '-1', which is not a number from 1 to 65535"),
        ("http://127.0.0.1:", "has port '', which is not a number from 1 to 65535"),
        ("http://[::1]:x", "has port 'x', which is not a number from 1 to 65535"),
        ("http://[::1", "has an unclosed '[' (an IPv6 address is written in brackets, [::1])"),
        ("http://[zz]:1", "is not a URL ('zz' does not appear to be an IPv4 or IPv6 address)"),
        ("ftp://example.com", "is not an http(s) URL"),
        ("127.0.0.1:3000", "is not an http(s) URL (did you mean http://127.0.0.1:3000?)"),
        ("notaurl", "is not an http(s) URL (did you mean http://notaurl?)"),
        ("http://", "has no host"),
        ("http://exa mple.com", "contains a space or a control character"),
        ("http://example.com\n", "contains a space or a control character"),
        (
            "http://user:secret@example.com",
            "must not carry a user name or password (credentials come from the AWS chain)",
        ),
        ("http://127.0.0.1:3000/?x=1", "must not have a query string or a fragment"),
        ("http://127.0.0.1:3000/#top", "must not have a query string or a fragment"),
        ("", "is empty"),
    ],
)
def test_a_url_that_cannot_be_called_is_named_with_its_problem(url: str, problem: str) -> None:
    assert url_problem(url) == problem


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:3000",
        "https://abc123.execute-api.eu-west-1.amazonaws.com/v1/",
        "http://[::1]:3000",
        "http://localhost",
        "HTTPS://api.example.com",
    ],
)
def test_urls_that_can_be_called_pass(url: str) -> None:
    assert url_problem(url) is None


def test_the_library_refuses_a_bad_endpoint_when_the_client_is_made() -> None:
    with pytest.raises(ConfigurationError) as refused:
        RegistryClient("http://127.0.0.1:abc", signer=NoSigner())
    assert str(refused.value) == (
        f"endpoint 'http://127.0.0.1:abc' has port 'abc', which is not a number from 1 to 65535: "
        f"{HINT}"
    )


@pytest.mark.parametrize(
    ("arguments", "environment", "message"),
    [
        (
            ["--endpoint", "http://127.0.0.1:abc"],
            {},
            "--endpoint 'http://127.0.0.1:abc' has port 'abc', which is not a number from 1 to "
            f"65535: {HINT}",
        ),
        (
            ["--endpoint", "http://[::1"],
            {},
            "--endpoint 'http://[::1' has an unclosed '[' (an IPv6 address is written in "
            f"brackets, [::1]): {HINT}",
        ),
        (
            [],
            {"RESOURCE_REGISTRY_URL": "http://127.0.0.1:abc"},
            "RESOURCE_REGISTRY_URL='http://127.0.0.1:abc' has port 'abc', which is not a number "
            f"from 1 to 65535: {HINT}",
        ),
        (
            [],
            {"PORT": "abc"},
            "PORT='abc' is not a port number from 1 to 65535: set it to the port make run serves "
            "on, or give the API's URL with --endpoint or RESOURCE_REGISTRY_URL",
        ),
        (
            [],
            {"PORT": "70000"},
            "PORT='70000' is not a port number from 1 to 65535: set it to the port make run "
            "serves on, or give the API's URL with --endpoint or RESOURCE_REGISTRY_URL",
        ),
    ],
)
@pytest.mark.parametrize(
    "command", [["list"], ["get", "gpt-4"], ["namespaces"], ["history", "gpt-4"]]
)
def test_a_bad_endpoint_setting_is_one_line_before_any_request(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    arguments: list[str],
    environment: dict[str, str],
    message: str,
    *,
    command: list[str],
) -> None:
    monkeypatch.delenv("RESOURCE_REGISTRY_URL", raising=False)
    monkeypatch.delenv("PORT", raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert run([*arguments, *command]) == 1
    out, err = capsys.readouterr()
    assert (out, err) == ("", f"error: {message}\n")


def test_the_installed_command_prints_one_line_and_no_traceback() -> None:
    environment = {
        name: value for name, value in os.environ.items() if name != "RESOURCE_REGISTRY_URL"
    }
    done = subprocess.run(
        [str(SCRIPT), "list"],
        env={**environment, "PORT": "abc"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.startswith("error: PORT='abc' is not a port number")
    assert done.stderr.count("\n") == 1


def test_a_file_is_not_read_when_the_endpoint_is_bad(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The endpoint is checked first: a good file does not hide a bad URL, nor the reverse.
    missing = str(tmp_path / "missing.yaml")
    assert run(["--endpoint", "http://[::1", "plan", missing]) == 1
    assert "unclosed '['" in capsys.readouterr().err
