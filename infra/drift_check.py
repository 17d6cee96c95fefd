"""An EventBridge Scheduler schedule that starts the backfill state machine in verify mode.

The run publishes the drift it finds (handlers/handle_backfill.py), which the RegistryDrift alarm
watches (infra/monitoring.py). `cdk deploy -c driftCheckSchedule=...` takes a rate or cron
expression; `off` deploys no schedule.
"""

from __future__ import annotations

import json
import re

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as targets
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.context import ContextError

DRIFT_CHECK_CONTEXT = "driftCheckSchedule"
DEFAULT_DRIFT_CHECK_SCHEDULE = "rate(1 day)"
DISABLED = "off"
# EventBridge Scheduler's recurring forms; a one-time at() would check once and never again.
SCHEDULE_EXPRESSION = re.compile(r"(rate|cron)\(.+\)")
VERIFY_INPUT = {"mode": "verify"}


def drift_check_schedule(scope: Construct) -> str | None:
    """The ``driftCheckSchedule`` context value, checked; None when the check is off."""
    value = scope.node.try_get_context(DRIFT_CHECK_CONTEXT)
    if value is None or value == "":
        return DEFAULT_DRIFT_CHECK_SCHEDULE
    if value == DISABLED:
        return None
    if not isinstance(value, str) or not SCHEDULE_EXPRESSION.fullmatch(value):
        raise ContextError(
            f"context {DRIFT_CHECK_CONTEXT}={value!r} is neither a schedule expression "
            f"('rate(1 day)', 'cron(0 6 * * ? *)') nor {DISABLED!r}"
        )
    return value


class DriftCheck(Construct):
    """Starts ``state_machine`` with ``{"mode": "verify"}`` on ``expression``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        state_machine: sfn.IStateMachine,
        expression: str,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        # Only schedules of this account's default group may assume the role (confused deputy).
        default_group_arn = stack.format_arn(
            service="scheduler", resource="schedule-group", resource_name="default"
        )
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com",
                conditions={
                    "StringEquals": {
                        "aws:SourceAccount": stack.account,
                        "aws:SourceArn": default_group_arn,
                    }
                },
            ),
            description="EventBridge Scheduler: start the backfill state machine in verify mode",
            inline_policies={
                "StartVerify": iam.PolicyDocument(
                    statements=[
                        iam.PolicyStatement(
                            actions=["states:StartExecution"],
                            resources=[state_machine.state_machine_arn],
                        )
                    ]
                )
            },
        )
        self.schedule = scheduler.Schedule(
            self,
            "Schedule",
            description="Drift check: the backfill state machine in verify mode",
            schedule=scheduler.ScheduleExpression.expression(expression),
            target=targets.StepFunctionsStartExecution(
                state_machine,
                input=scheduler.ScheduleTargetInput.from_text(json.dumps(VERIFY_INPUT)),
                # Immutable: the target adds no grant of its own to the role written above.
                role=iam.Role.from_role_arn(self, "RoleByArn", self.role.role_arn, mutable=False),
            ),
        )
