"""cdk-nag's AWS Solutions rules pass, and every acknowledged finding is named and explained."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import Validations
from cdk_nag import AwsSolutionsChecks

from tests.infra.conftest import Synthesized, synthesize

# Reviewed acknowledgments; a new one fails this test until it is added here on purpose.
EXPECTED_ACKNOWLEDGMENTS = {
    "AwsSolutions-IAM5[Resource::*]",
    "AwsSolutions-IAM5[Resource::<FunctionsBackfill1DA87F43.Arn>:*]",
    "AwsSolutions-L1",
    "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
    "AmazonAPIGatewayPushToCloudWatchLogs]",
    "AwsSolutions-APIG3",
    "AwsSolutions-COG4",
    "AwsSolutions-SQS3",
}


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(tmp_path_factory.mktemp("cdk.out"))


def acknowledgments(synthesized: Synthesized) -> dict[str, list[str]]:
    """Each acknowledged rule id, with the reasons given for it anywhere in the stack."""
    found: dict[str, list[str]] = {}
    for construct in synthesized.stack.node.find_all():
        for entry in construct.node.metadata:
            if entry.type != Validations.ACKNOWLEDGED_RULES_METADATA_KEY:
                continue
            data: dict[str, Any] = entry.data
            for qualified_id, reason in data.items():
                rule_id = qualified_id.split("::", 1)[1] if "::" in qualified_id else qualified_id
                found.setdefault(rule_id, []).append(str(reason))
    return found


def test_aws_solutions_checks_find_nothing_unacknowledged(synthesized: Synthesized) -> None:
    report = AwsSolutionsChecks(verbose=True).validate_scope(synthesized.stack)
    findings = [
        f"{violation.rule_name} at {[r.construct_path for r in violation.violating_resources]}"
        for violation in report.violations
    ]
    assert report.success, "\n".join(findings)


def test_acknowledgments_are_the_reviewed_ones(synthesized: Synthesized) -> None:
    assert set(acknowledgments(synthesized)) == EXPECTED_ACKNOWLEDGMENTS


def test_every_acknowledgment_gives_a_reason(synthesized: Synthesized) -> None:
    for rule_id, reasons in acknowledgments(synthesized).items():
        assert all(len(reason) > 40 for reason in reasons), rule_id


def test_wildcard_resource_is_acknowledged_only_where_aws_allows_nothing_narrower(
    synthesized: Synthesized,
) -> None:
    acknowledged_on = [
        construct.node.path
        for construct in synthesized.stack.node.find_all()
        for entry in construct.node.metadata
        if entry.type == Validations.ACKNOWLEDGED_RULES_METADATA_KEY
        and any(key.endswith("AwsSolutions-IAM5[Resource::*]") for key in entry.data)
    ]
    assert acknowledged_on
    # Function roles (X-Ray) and the fan-out state machine (log delivery and X-Ray).
    assert all(
        (path.endswith("Role") and "/Functions/" in path)
        or path.endswith("BackfillFanOut/StateMachine")
        for path in acknowledged_on
    )
