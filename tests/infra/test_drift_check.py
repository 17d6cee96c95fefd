"""The scheduled drift check: EventBridge Scheduler starts the state machine in verify mode."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.drift_check import DEFAULT_DRIFT_CHECK_SCHEDULE, DRIFT_CHECK_CONTEXT
from tests.infra.conftest import Synthesized, as_list, synthesize


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(tmp_path_factory.mktemp("cdk.out"))


def schedule(synthesized: Synthesized) -> dict[str, Any]:
    (resource,) = synthesized.of_type("AWS::Scheduler::Schedule").values()
    properties: dict[str, Any] = resource["Properties"]
    return properties


def machine_id(synthesized: Synthesized) -> str:
    (logical_id,) = synthesized.of_type("AWS::StepFunctions::StateMachine")
    return logical_id


def test_daily_by_default_and_enabled(synthesized: Synthesized) -> None:
    assert DEFAULT_DRIFT_CHECK_SCHEDULE == "rate(1 day)"
    assert schedule(synthesized)["ScheduleExpression"] == "rate(1 day)"
    assert schedule(synthesized)["State"] == "ENABLED"


def test_starts_the_backfill_state_machine_in_verify_mode(synthesized: Synthesized) -> None:
    target = schedule(synthesized)["Target"]
    assert target["Arn"] == {"Ref": machine_id(synthesized)}
    assert json.loads(target["Input"]) == {"mode": "verify"}


def test_scheduler_role_may_only_start_the_state_machine(synthesized: Synthesized) -> None:
    role_id = schedule(synthesized)["Target"]["RoleArn"]["Fn::GetAtt"][0]
    role = synthesized.resources[role_id]["Properties"]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    conditions = trust["Condition"]["StringEquals"]
    assert set(conditions) == {"aws:SourceAccount", "aws:SourceArn"}
    assert "ManagedPolicyArns" not in role
    statements = [
        statement
        for policy in role["Policies"]
        for statement in policy["PolicyDocument"]["Statement"]
    ]
    assert statements == [
        {
            "Action": "states:StartExecution",
            "Effect": "Allow",
            "Resource": {"Ref": machine_id(synthesized)},
        }
    ]
    attached = [
        policy
        for policy in synthesized.of_type("AWS::IAM::Policy").values()
        if {"Ref": role_id} in as_list(policy["Properties"].get("Roles", []))
    ]
    assert attached == []


def test_a_context_value_changes_the_schedule(tmp_path_factory: pytest.TempPathFactory) -> None:
    synthesized = synthesize(
        tmp_path_factory.mktemp("cdk.out"), **{DRIFT_CHECK_CONTEXT: "cron(0 6 * * ? *)"}
    )
    assert schedule(synthesized)["ScheduleExpression"] == "cron(0 6 * * ? *)"


def test_off_deploys_no_schedule_and_no_role(tmp_path_factory: pytest.TempPathFactory) -> None:
    synthesized = synthesize(tmp_path_factory.mktemp("cdk.out"), **{DRIFT_CHECK_CONTEXT: "off"})
    assert synthesized.of_type("AWS::Scheduler::Schedule") == {}
    assert not any(
        "scheduler.amazonaws.com" in json.dumps(role["Properties"]["AssumeRolePolicyDocument"])
        for role in synthesized.of_type("AWS::IAM::Role").values()
    )
    # The drift alarm stays: runs started by hand still publish their drift.
    assert any(
        alarm["Properties"].get("MetricName") == "RegistryDrift"
        for alarm in synthesized.of_type("AWS::CloudWatch::Alarm").values()
    )


@pytest.mark.parametrize("value", ["daily", "at(2030-01-01T00:00:00)", "rate(1 day"])
def test_a_bad_schedule_is_refused_before_synth(
    tmp_path_factory: pytest.TempPathFactory, value: str
) -> None:
    with pytest.raises(ValueError, match=DRIFT_CHECK_CONTEXT):
        synthesize(tmp_path_factory.mktemp("cdk.out"), **{DRIFT_CHECK_CONTEXT: value})
