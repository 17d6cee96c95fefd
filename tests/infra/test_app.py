"""app.py as `make synth` runs it: offline, without credentials, checked by cdk-nag."""

from __future__ import annotations

import json
import runpy
from pathlib import Path

import aws_cdk
import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_iam as iam

import infra.nag
from infra.nag import check_with_cdk_nag
from infra.sources import PROJECT_ROOT
from infra.stack import STACK_NAME


def test_app_synthesizes_the_checked_stack_with_no_lookups(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    checked: list[App] = []

    def spy(app: App) -> None:
        checked.append(app)
        check_with_cdk_nag(app)

    # CDK_OUTDIR would not reach the jsii process, which started with the test session.
    monkeypatch.setattr(aws_cdk, "App", lambda: App(outdir=str(tmp_path)))
    monkeypatch.setattr(infra.nag, "check_with_cdk_nag", spy)
    runpy.run_path(str(PROJECT_ROOT / "app.py"), run_name="__main__")

    template = json.loads((tmp_path / f"{STACK_NAME}.template.json").read_text(encoding="utf-8"))
    assert template["Resources"]
    assert len(checked) == 1
    # A context lookup (account, VPC, SSM at synth time) would be listed here and need AWS access.
    manifest = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    assert "missing" not in manifest


def test_an_unacknowledged_finding_fails_the_synth(tmp_path: Path) -> None:
    app = App(outdir=str(tmp_path))
    check_with_cdk_nag(app)
    probe = Stack(app, "Probe")
    iam.Role(
        probe,
        "Role",
        assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        managed_policies=[iam.ManagedPolicy.from_aws_managed_policy_name("ReadOnlyAccess")],
    )
    with pytest.raises(RuntimeError, match=r"ValidationFailed(.|\n)*AwsSolutions-IAM4"):
        app.synth()
