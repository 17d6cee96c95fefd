"""cdk-nag's AWS Solutions checks, and the one way this stack acknowledges a finding."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Stage, Validations
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct


def check_with_cdk_nag(app: Stage) -> None:
    """Run the AWS Solutions rules when ``app`` synthesizes; any unacknowledged finding fails it."""
    # cdk-nag 3 is a CDK policy-validation plugin; acknowledgments are copied into the template's
    # resource metadata (cdk_nag.rules_to_suppress) so the audit trail ships with it.
    Validations.of(app).add_plugins(
        AwsSolutionsChecks(app, verbose=True, write_suppressions_to_cloud_formation=True)
    )


def acknowledge(construct: IConstruct, rule_id: str, reason: str, finding: str = "") -> None:
    """Accept one cdk-nag rule on ``construct`` and its children, for one ``finding`` if given.

    ``finding`` is cdk-nag's per-finding id (``Resource::*``, ``Policy::...``), the v3 form of v2's
    ``applies_to``; without it the rule is accepted whole, for rules that report no findings.
    """
    qualified_id = f"{rule_id}[{finding}]" if finding else rule_id
    Validations.of(construct).acknowledge(Acknowledgment(id=qualified_id, reason=reason))
