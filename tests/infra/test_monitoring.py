"""The alarms, their topic and the dashboard, read off the synthesized template."""

from __future__ import annotations

import json
from typing import Any

import pytest

from handlers import routes
from tests.infra.conftest import HANDLERS, Synthesized, synthesize

# Every alarm the service has; a new one fails this test until it is added here on purpose.
EXPECTED_ALARMS = {
    "Api5xx",
    *(f"{function_id}{kind}" for function_id in HANDLERS for kind in ("Errors", "Throttles")),
    "TableReadThrottles",
    "TableWriteThrottles",
    "BackfillExecutionsFailed",
    "RegistryDrift",
    "HealerDeadLetters",
    "HealerIteratorAge",
}
# Every alarm fires on a metric of at least 1 in a period, but the healer's lag, in milliseconds.
THRESHOLDS = {"HealerIteratorAge": 60_000}


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(tmp_path_factory.mktemp("cdk.out"))


def alarms(synthesized: Synthesized) -> dict[str, dict[str, Any]]:
    """Each alarm's properties, by the id of its construct (Monitoring/<id>/Resource)."""
    found = {}
    for construct in synthesized.stack.node.find_all():
        if construct.node.path.startswith(f"{synthesized.stack.stack_name}/Monitoring/"):
            logical_id = synthesized.stack.resolve(getattr(construct, "logical_id", None))
            resource = synthesized.resources.get(logical_id) if logical_id else None
            if resource and resource["Type"] == "AWS::CloudWatch::Alarm":
                found[construct.node.scope.node.id] = resource["Properties"]  # type: ignore[union-attr]
    return found


def topic_id(synthesized: Synthesized) -> str:
    (logical_id,) = synthesized.of_type("AWS::SNS::Topic")
    return logical_id


def dimensions(alarm: dict[str, Any]) -> dict[str, Any]:
    return {dimension["Name"]: dimension["Value"] for dimension in alarm["Dimensions"]}


def test_the_alarms_are_the_reviewed_ones(synthesized: Synthesized) -> None:
    assert set(alarms(synthesized)) == EXPECTED_ALARMS
    assert len(synthesized.of_type("AWS::CloudWatch::Alarm")) == len(EXPECTED_ALARMS)


def test_every_alarm_notifies_the_topic_and_says_why(synthesized: Synthesized) -> None:
    for name, alarm in alarms(synthesized).items():
        assert alarm["AlarmActions"] == [{"Ref": topic_id(synthesized)}], name
        assert len(alarm["AlarmDescription"]) > 80, name
        assert alarm["TreatMissingData"] == "notBreaching", name
        assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold", name
        assert alarm["Threshold"] == THRESHOLDS.get(name, 1), name


@pytest.mark.parametrize("function_id", sorted(HANDLERS))
def test_each_function_has_an_errors_and_a_throttles_alarm(
    synthesized: Synthesized, function_id: str
) -> None:
    found = alarms(synthesized)
    for kind in ("Errors", "Throttles"):
        alarm = found[f"{function_id}{kind}"]
        assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/Lambda", kind)
        assert dimensions(alarm) == {
            "FunctionName": {"Ref": synthesized.function_logical_id(function_id)}
        }


def test_api_5xx_alarm_watches_the_deployed_stage(synthesized: Synthesized) -> None:
    alarm = alarms(synthesized)["Api5xx"]
    (stage_id,) = synthesized.of_type("AWS::ApiGateway::Stage")
    assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/ApiGateway", "5XXError")
    assert dimensions(alarm)["Stage"] == {"Ref": stage_id}


def test_table_throttle_alarms_watch_the_table(synthesized: Synthesized) -> None:
    (table_id,) = synthesized.of_type("AWS::DynamoDB::Table")
    found = alarms(synthesized)
    for name, metric in (
        ("TableReadThrottles", "ReadThrottleEvents"),
        ("TableWriteThrottles", "WriteThrottleEvents"),
    ):
        assert (found[name]["Namespace"], found[name]["MetricName"]) == ("AWS/DynamoDB", metric)
        assert dimensions(found[name]) == {"TableName": {"Ref": table_id}}


def test_failed_or_timed_out_executions_raise_the_backfill_alarm(synthesized: Synthesized) -> None:
    (machine_id,) = synthesized.of_type("AWS::StepFunctions::StateMachine")
    queries = alarms(synthesized)["BackfillExecutionsFailed"]["Metrics"]
    watched = {
        query["MetricStat"]["Metric"]["MetricName"]
        for query in queries
        if "MetricStat" in query
        and query["MetricStat"]["Metric"]["Dimensions"]
        == [{"Name": "StateMachineArn", "Value": {"Ref": machine_id}}]
    }
    assert watched == {"ExecutionsFailed", "ExecutionsTimedOut"}
    (expression,) = [query for query in queries if "Expression" in query]
    assert expression["ReturnData"] is not False


def test_drift_alarm_watches_what_verify_runs_publish(synthesized: Synthesized) -> None:
    alarm = alarms(synthesized)["RegistryDrift"]
    assert (alarm["Namespace"], alarm["MetricName"]) == ("ResourceRegistry", "RegistryDrift")
    assert dimensions(alarm) == {"service": "resource-registry", "mode": "verify"}
    assert alarm["Statistic"] == "Sum"


def test_a_dead_letter_of_the_healer_raises_an_alarm(synthesized: Synthesized) -> None:
    alarm = alarms(synthesized)["HealerDeadLetters"]
    (queue_id,) = synthesized.of_type("AWS::SQS::Queue")
    assert (alarm["Namespace"], alarm["MetricName"]) == (
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
    )
    assert dimensions(alarm) == {"QueueName": {"Fn::GetAtt": [queue_id, "QueueName"]}}
    assert alarm["Statistic"] == "Maximum"


def test_a_healer_a_minute_behind_the_stream_raises_an_alarm(synthesized: Synthesized) -> None:
    alarm = alarms(synthesized)["HealerIteratorAge"]
    assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/Lambda", "IteratorAge")
    assert dimensions(alarm) == {
        "FunctionName": {"Ref": synthesized.function_logical_id(routes.HEALER_FUNCTION_ID)}
    }
    assert (alarm["Statistic"], alarm["Threshold"]) == ("Maximum", 60_000)


def test_topic_is_encrypted_with_a_key_cloudwatch_may_use(synthesized: Synthesized) -> None:
    topic = synthesized.resources[topic_id(synthesized)]["Properties"]
    (key_id,) = synthesized.of_type("AWS::KMS::Key")
    assert topic["KmsMasterKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    key = synthesized.resources[key_id]["Properties"]
    assert key["EnableKeyRotation"] is True
    cloudwatch = [
        statement
        for statement in key["KeyPolicy"]["Statement"]
        if statement["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    ]
    assert cloudwatch
    assert {"kms:Decrypt", "kms:GenerateDataKey*"} <= {
        action for statement in cloudwatch for action in statement["Action"]
    }


def test_cloudwatch_may_use_the_key_only_for_this_accounts_alarms_here(
    synthesized: Synthesized,
) -> None:
    # Given the key policy's statements for CloudWatch
    (key_id,) = synthesized.of_type("AWS::KMS::Key")
    statements = synthesized.resources[key_id]["Properties"]["KeyPolicy"]["Statement"]
    cloudwatch = [
        s for s in statements if s["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    ]
    # Then each allows it only on behalf of an alarm of the stack's account, in its region
    assert cloudwatch
    alarms_here = {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                ":cloudwatch:",
                {"Ref": "AWS::Region"},
                ":",
                {"Ref": "AWS::AccountId"},
                ":alarm:*",
            ],
        ]
    }
    for statement in cloudwatch:
        assert statement["Effect"] == "Allow"
        assert statement["Condition"] == {
            "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
            "ArnLike": {"aws:SourceArn": alarms_here},
        }


def test_topic_refuses_unencrypted_transport(synthesized: Synthesized) -> None:
    (policy,) = synthesized.of_type("AWS::SNS::TopicPolicy").values()
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Deny"
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_alarm_topic_is_a_stack_output(synthesized: Synthesized) -> None:
    outputs = synthesized.template.to_json()["Outputs"]
    assert outputs["AlarmTopicArn"]["Value"] == {"Ref": topic_id(synthesized)}


def test_dashboard_shows_latency_errors_durations_capacity_and_drift(
    synthesized: Synthesized,
) -> None:
    (dashboard,) = synthesized.of_type("AWS::CloudWatch::Dashboard").values()
    parts = dashboard["Properties"]["DashboardBody"]["Fn::Join"][1]
    body = json.loads("".join(part if isinstance(part, str) else "token" for part in parts))
    metrics = {
        (metric[0], metric[1])
        for widget in body["widgets"]
        for metric in widget["properties"].get("metrics", [])
    }
    assert {
        ("AWS/ApiGateway", "Latency"),
        ("AWS/ApiGateway", "4XXError"),
        ("AWS/ApiGateway", "5XXError"),
        ("AWS/Lambda", "Duration"),
        ("AWS/DynamoDB", "ConsumedReadCapacityUnits"),
        ("AWS/DynamoDB", "ConsumedWriteCapacityUnits"),
        ("ResourceRegistry", "RegistryDrift"),
        ("AWS/Lambda", "IteratorAge"),
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible"),
    } <= metrics
    durations = [
        metric
        for widget in body["widgets"]
        for metric in widget["properties"].get("metrics", [])
        if metric[1] == "Duration"
    ]
    assert len(durations) == len(HANDLERS)
