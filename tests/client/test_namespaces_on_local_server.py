"""The command in several namespaces, on the local server over a zae-limiter 0.17 style table."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from resource_registry_client import NoSigner, RegistryClient
from resource_registry_client.cli import run

pytestmark = pytest.mark.integration

FILE = """\
namespaces:
  default:
    openai/gpt-4:
      rpm: 500/1m
  prod:
    llama3:8b:
      rpm: 60/1m
      tpm: 100000/1m
"""


def cli(url: str, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    status = run(["--endpoint", url, *args])
    out, err = capsys.readouterr()
    out = "".join(line for line in out.splitlines(True) if not line.startswith('{"_aws"'))
    return status, out, err


def test_apply_plan_and_export_go_through_every_namespace(
    namespaced_api_url: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    file = tmp_path / "limits.yaml"
    file.write_text(FILE)

    # Given the file applied in both namespaces
    assert cli(namespaced_api_url, capsys, "apply", str(file), "--yes")[0] == 0

    # Then each namespace holds its own resources, and a plan shows no change
    client = RegistryClient(namespaced_api_url, signer=NoSigner())
    assert client.list_namespaces() == ["default", "prod"]
    assert client.list_resources(namespace="default", consistent=True) == ["openai/gpt-4"]
    assert client.list_resources(namespace="prod", consistent=True) == ["llama3:8b"]
    assert cli(namespaced_api_url, capsys, "plan", str(file))[0] == 0

    # And an export of every namespace says the same as the file
    exported = tmp_path / "exported.yaml"
    status, _, _ = cli(
        namespaced_api_url, capsys, "export", "--all-namespaces", "--output", str(exported)
    )
    assert status == 0
    assert yaml.safe_load(exported.read_text()) == yaml.safe_load(FILE)
    assert cli(namespaced_api_url, capsys, "plan", str(exported))[0] == 0


def test_a_namespace_the_table_does_not_have_is_an_error(
    namespaced_api_url: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    file = tmp_path / "limits.yaml"
    file.write_text(FILE.replace("prod:", "staging:"))
    status, _, err = cli(namespaced_api_url, capsys, "plan", str(file))
    assert status == 1
    assert "404" in err and "staging" in err
