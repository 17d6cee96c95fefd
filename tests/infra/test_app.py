"""app.py as `make synth` runs it: offline, without credentials, checked by cdk-nag."""

from __future__ import annotations

import json
import os
import runpy
import subprocess
import sys
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


@pytest.mark.parametrize(
    ("context", "message"),
    [
        (
            {"tableLayout": "bogus"},
            "error: context tableLayout='bogus' is not a layout: use one of flat, composite, "
            "namespaced, or leave it out to have the functions detect it",
        ),
        (
            {"driftCheckSchedule": "banana"},
            "error: context driftCheckSchedule='banana' is neither a schedule expression "
            "('rate(1 day)', 'cron(0 6 * * ? *)') nor 'off'",
        ),
        (
            {"existingTableName": "a"},
            "error: context existingTableName='a' is not a DynamoDB table name: use 3 to 255 "
            "letters, digits, '_', '.' or '-', or leave it out for a new table",
        ),
        (
            {"existingTableName": "limits"},
            "error: context existingTableStreamArn is needed for existing table 'limits': the "
            "healer reads its stream, which the stack cannot enable on a table it does not own; "
            "if it has none, run `aws dynamodb update-table --table-name limits "
            "--stream-specification StreamEnabled=true,StreamViewType=NEW_AND_OLD_IMAGES`, then "
            "pass -c existingTableStreamArn=ARN with the ARN that `aws dynamodb describe-table "
            "--table-name limits --query Table.LatestStreamArn --output text` prints",
        ),
        (
            {"eventBus": "mine"},
            "error: context eventBus='mine' is not a bus the stack can publish on: use 'default' "
            "for the account's default bus, or leave it out for the stack's own",
        ),
    ],
)
def test_a_bad_context_value_is_one_line_and_no_traceback(
    tmp_path: Path, context: dict[str, str], message: str
) -> None:
    # As `npx cdk synth -c name=value` runs the app: the context in CDK_CONTEXT_JSON.
    done = subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "app.py")],
        env={**os.environ, "CDK_CONTEXT_JSON": json.dumps(context), "CDK_OUTDIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert (done.returncode, done.stdout, done.stderr) == (1, "", message + "\n")
    assert not list(tmp_path.iterdir())  # nothing was synthesized
