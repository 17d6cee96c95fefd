"""Alarms that notify an SNS topic, and a dashboard, over the API, functions, table, backfill
and healer.

Hand-written rather than cdk-monitoring-constructs: the stack has eight functions, one API, one
table, one state machine and one stream mapping, each alarm needs its own reason in its
description, and the drift metric is the service's own; a small table of alarms says all that
without another jsii package.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from aws_cdk import ArnFormat, Duration, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.healer import StreamHealer
from resource_registry.observability import (
    DRIFT_METRIC,
    DRIFT_MODE_DIMENSION,
    METRICS_NAMESPACE,
    SERVICE_NAME,
)

PERIOD = Duration.minutes(5)
# The scheduled check runs once a day; an hour keeps its drift in view long enough to be seen.
DRIFT_PERIOD = Duration.hours(1)
# The healer keeps registries right within seconds (docs/contract.md section 5): a minute behind
# the stream is a healer that fails, is throttled or cannot keep up.
HEALER_LAG_MS = 60_000
DASHBOARD_WIDTH = 24


@dataclass(frozen=True)
class AlarmSpec:
    """One alarm: what it watches, when it fires, and why someone should act on it."""

    construct_id: str
    metric: cloudwatch.IMetric
    reason: str
    threshold: float = 1
    evaluation_periods: int = 1


class RegistryMonitoring(Construct):
    """An encrypted SNS topic, the service's alarms (each notifying it) and its dashboard."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: apigw.Stage,
        functions: Mapping[str, lambda_.IFunction],
        table: dynamodb.ITable,
        state_machine: sfn.IStateMachine,
        healer: StreamHealer,
    ) -> None:
        super().__init__(scope, construct_id)
        # CloudWatch cannot publish to a topic under the AWS-managed SNS key: it needs its own key.
        key = kms.Key(
            self,
            "TopicKey",
            description="Encrypts the resource registry's alarm topic",
            enable_key_rotation=True,
        )
        key.add_to_resource_policy(cloudwatch_may_use_key(Stack.of(self)))
        self.topic = sns.Topic(
            self,
            "AlarmTopic",
            display_name=f"{SERVICE_NAME} alarms",
            master_key=key,
            enforce_ssl=True,
        )
        self.drift = drift_metric()
        self.alarms = [
            self._add_alarm(spec)
            for spec in alarm_specs(
                stage=stage,
                functions=functions,
                table=table,
                state_machine=state_machine,
                healer=healer,
            )
        ]
        self.dashboard = self._add_dashboard(stage, functions, table, healer)

    def _add_alarm(self, spec: AlarmSpec) -> cloudwatch.Alarm:
        alarm = cloudwatch.Alarm(
            self,
            spec.construct_id,
            metric=spec.metric,
            threshold=spec.threshold,
            evaluation_periods=spec.evaluation_periods,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            # No data means no requests, no runs, no drift reported: nothing is wrong.
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=spec.reason,
        )
        alarm.add_alarm_action(actions.SnsAction(self.topic))
        return alarm

    def _add_dashboard(
        self,
        stage: apigw.Stage,
        functions: Mapping[str, lambda_.IFunction],
        table: dynamodb.ITable,
        healer: StreamHealer,
    ) -> cloudwatch.Dashboard:
        dashboard = cloudwatch.Dashboard(self, "Dashboard", dashboard_name=SERVICE_NAME)
        half = DASHBOARD_WIDTH // 2
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="API latency (ms)",
                left=[
                    stage.metric_latency(statistic=stat, period=PERIOD) for stat in ("p50", "p99")
                ],
                width=half,
            ),
            cloudwatch.GraphWidget(
                title="API errors",
                left=[
                    stage.metric_client_error(statistic="Sum", period=PERIOD),
                    stage.metric_server_error(statistic="Sum", period=PERIOD),
                ],
                width=half,
            ),
        )
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Function duration p99 (ms)",
                left=[
                    function.metric_duration(statistic="p99", period=PERIOD, label=function_id)
                    for function_id, function in functions.items()
                ],
                width=half,
            ),
            cloudwatch.GraphWidget(
                title="Table consumed capacity (units)",
                left=[
                    table.metric_consumed_read_capacity_units(statistic="Sum", period=PERIOD),
                    table.metric_consumed_write_capacity_units(statistic="Sum", period=PERIOD),
                ],
                width=half,
            ),
        )
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Healer: age of the last record read (ms)",
                left=[healer_lag_metric(healer)],
                width=half,
            ),
            cloudwatch.GraphWidget(
                title="Healer: batches given up on (dead letters)",
                left=[dead_letters_metric(healer)],
                width=half,
            ),
        )
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Registry drift found by verify (names)", left=[self.drift], width=half
            ),
            cloudwatch.AlarmStatusWidget(title="Alarms", alarms=self.alarms, width=half),
        )
        return dashboard


def drift_metric() -> cloudwatch.Metric:
    """Names in drift that verify runs report (handlers/handle_backfill.py publishes it)."""
    return cloudwatch.Metric(
        namespace=METRICS_NAMESPACE,
        metric_name=DRIFT_METRIC,
        dimensions_map={"service": SERVICE_NAME, DRIFT_MODE_DIMENSION: "verify"},
        statistic="Sum",
        period=DRIFT_PERIOD,
    )


def healer_lag_metric(healer: StreamHealer) -> cloudwatch.IMetric:
    """How far behind the stream the healer reads: the age of the last record of a batch."""
    return healer.function.metric("IteratorAge", statistic="Maximum", period=PERIOD)


def dead_letters_metric(healer: StreamHealer) -> cloudwatch.IMetric:
    """The healer's dead letters waiting: one per batch of records it gave up on."""
    return healer.dead_letters.metric_approximate_number_of_messages_visible(
        statistic="Maximum", period=PERIOD
    )


def alarm_specs(
    *,
    stage: apigw.Stage,
    functions: Mapping[str, lambda_.IFunction],
    table: dynamodb.ITable,
    state_machine: sfn.IStateMachine,
    healer: StreamHealer,
) -> list[AlarmSpec]:
    """Every alarm of the service, with the reason it exists."""
    specs = [
        AlarmSpec(
            "Api5xx",
            stage.metric_server_error(statistic="Sum", period=PERIOD),
            "The API answered 5xx. No client input may cause one (docs/contract.md section 3): a "
            "function failed, timed out or DynamoDB stayed unavailable past the retries.",
        ),
    ]
    for function_id, function in functions.items():
        specs += [
            AlarmSpec(
                f"{function_id}Errors",
                function.metric_errors(statistic="Sum", period=PERIOD),
                f"The {function_id} function failed an invocation (an unhandled exception, a "
                "timeout or running out of memory); for the API that is a 5xx to a caller, for "
                "the backfill an aborted run, for the healer a stream batch given again.",
            ),
            AlarmSpec(
                f"{function_id}Throttles",
                function.metric_throttles(statistic="Sum", period=PERIOD),
                f"Lambda refused to run the {function_id} function: the account's or the "
                "function's concurrency is exhausted, so requests fail before any code runs.",
            ),
        ]
    specs += [
        AlarmSpec(
            "TableReadThrottles",
            table.metric("ReadThrottleEvents", statistic="Sum", period=PERIOD),
            "DynamoDB throttled reads of the table; reads that stay throttled past the retries "
            "answer 503 and stall the backfill. Raise capacity or find the hot partition.",
        ),
        AlarmSpec(
            "TableWriteThrottles",
            table.metric("WriteThrottleEvents", statistic="Sum", period=PERIOD),
            "DynamoDB throttled writes to the table; every API write also updates the one "
            "registry item, so sustained throttling turns writes into 503s.",
        ),
        AlarmSpec(
            "BackfillExecutionsFailed",
            cloudwatch.MathExpression(
                expression="FILL(failed, 0) + FILL(timed_out, 0)",
                using_metrics={
                    "failed": state_machine.metric_failed(statistic="Sum"),
                    "timed_out": state_machine.metric_timed_out(statistic="Sum"),
                },
                period=PERIOD,
                label="failed or timed-out executions",
            ),
            "A backfill state machine execution failed or timed out, so the scheduled drift check "
            "(or a backfill or prune) did not finish and its drift figure is missing or partial.",
        ),
        AlarmSpec(
            "RegistryDrift",
            drift_metric(),
            "A verify run found names in drift: the registry item disagrees with the resources "
            "that have defaults, from a writer that bypassed the API (zae-limiter's own writes are "
            "not atomic). Run `make backfill` and/or `make prune` against the table to repair it.",
        ),
        AlarmSpec(
            "HealerDeadLetters",
            dead_letters_metric(healer),
            "The healer gave up on stream records (retries or record age exhausted) and sent "
            "their shard and sequence numbers to its dead-letter queue: those changes were "
            "neither healed nor published. Run `make verify`, then `make backfill` and/or "
            "`make prune`, and read the messages before they expire (14 days).",
        ),
        AlarmSpec(
            "HealerIteratorAge",
            healer_lag_metric(healer),
            "The healer read a record over a minute after it reached the table's stream: it "
            "fails, is throttled or cannot keep up, so registries and change events lag behind "
            "the table (the contract says within seconds). See HealerErrors and its logs.",
            threshold=HEALER_LAG_MS,
        ),
    ]
    return specs


def cloudwatch_may_use_key(stack: Stack) -> iam.PolicyStatement:
    """The key policy statement that lets CloudWatch encrypt an alarm's notification to the topic.

    Only on behalf of an alarm of this account and region (the confused-deputy conditions), never
    for another account's alarm that names our topic.
    """
    alarms = stack.format_arn(
        service="cloudwatch",
        resource="alarm",
        resource_name="*",
        arn_format=ArnFormat.COLON_RESOURCE_NAME,
    )
    return iam.PolicyStatement(
        principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
        actions=["kms:Decrypt", "kms:GenerateDataKey*"],
        resources=["*"],  # in a key policy, "*" is the key itself
        conditions={
            "StringEquals": {"aws:SourceAccount": stack.account},
            "ArnLike": {"aws:SourceArn": alarms},
        },
    )
