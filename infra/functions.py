"""One Lambda function per handler, each with its own role that may call only what it needs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from handlers import routes
from infra.layers import ARCHITECTURE, RUNTIME
from infra.nag import acknowledge
from infra.table_access import LAYOUT_DETECTION, TABLE_ACCESS, TableAccess
from resource_registry.change_events import EVENT_BUS_VARIABLE
from resource_registry.clients import TABLE_NAME_VARIABLE
from resource_registry.detection import LAYOUT_VARIABLE
from resource_registry.observability import METRICS_NAMESPACE, SERVICE_NAME

# API Gateway gives up on an integration after 29 s; answer (even with an error) before that. The
# worst write: tries started within 4 s, then a Query and a transaction of 3 sends of 3 s each.
API_TIMEOUT = Duration.seconds(25)
API_MEMORY_MB = 256
# Backfill returns a continuation before this runs out (resource_registry.backfill).
BACKFILL_TIMEOUT = Duration.minutes(15)
# Lambda allots CPU in proportion to memory; the backfill parses page after page of a scan.
BACKFILL_MEMORY_MB = 512
# One stream batch (infra/healer.py): per record a few reads, at most one transaction and one
# PutEvents, each retried within seconds; a batch cut short by the timeout is retried (bisected).
HEALER_TIMEOUT = Duration.minutes(1)
HEALER_MEMORY_MB = 256
LOG_RETENTION = logs.RetentionDays.ONE_MONTH
# What Tracing.ACTIVE needs; X-Ray has no resource-level permissions.
TRACING_ACTIONS = ("xray:PutTraceSegments", "xray:PutTelemetryRecords")
# What Lambda's event source mapping needs of the execution role to read a table's stream.
STREAM_READ_ACTIONS = (
    "dynamodb:DescribeStream",
    "dynamodb:GetRecords",
    "dynamodb:GetShardIterator",
    "dynamodb:ListStreams",
)


class RegistryFunctions(Construct):
    """The API handlers of ``routes.API_ROUTES``, the backfill handler and (``add_healer``) the
    stream's healer, over one table."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        table: dynamodb.ITable,
        code_dir: Path,
        layers: Sequence[lambda_.ILayerVersion],
        table_layout: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self._table = table
        # Unset, each function detects the table's layout at a cold start.
        self._layout_environment = {LAYOUT_VARIABLE: table_layout} if table_layout else {}
        self._layers = list(layers)
        # The handlers with their bytecode (infra/lambda_assets.py); the layer's package reaches
        # the functions through the layer, not twice.
        self._code = lambda_.Code.from_asset(str(code_dir))
        self.by_id: dict[str, lambda_.Function] = {
            route.function_id: self._add_function(
                route.function_id,
                route.handler,
                TABLE_ACCESS[route.function_id],
                description=f"{route.method} {route.path}",
            )
            for route in routes.API_ROUTES
        }
        self.backfill = self._add_function(
            routes.BACKFILL_FUNCTION_ID,
            routes.BACKFILL_HANDLER,
            TABLE_ACCESS[routes.BACKFILL_FUNCTION_ID],
            description="Backfill, verify or prune the registry; invoked by hand, never by the API",
            timeout=BACKFILL_TIMEOUT,
            memory_size=BACKFILL_MEMORY_MB,
        )

    def add_healer(
        self, *, stream_arn: str, bus: events.IEventBus, dead_letters: sqs.IQueue
    ) -> lambda_.Function:
        """The registry healer, which reads the table's stream (``stream_arn``), publishes change
        events on ``bus`` and, through its stream mapping, sends what it gives up on to
        ``dead_letters`` (infra/healer.py wires them)."""
        return self._add_function(
            routes.HEALER_FUNCTION_ID,
            routes.HEALER_HANDLER,
            TABLE_ACCESS[routes.HEALER_FUNCTION_ID],
            description="Heals the registries and publishes change events from the table's stream",
            timeout=HEALER_TIMEOUT,
            memory_size=HEALER_MEMORY_MB,
            environment={EVENT_BUS_VARIABLE: bus.event_bus_name},
            policies={
                # Lambda's mapping reads the stream with the function's role.
                "Stream": _policy(STREAM_READ_ACTIONS, stream_arn),
                "Events": _policy(["events:PutEvents"], bus.event_bus_arn),
                # The mapping's on-failure destination: where it sends the stream positions of
                # the records it gave up on, also with the function's role.
                "DeadLetters": _policy(["sqs:SendMessage"], dead_letters.queue_arn),
            },
        )

    def _add_function(
        self,
        function_id: str,
        handler: str,
        grants: Sequence[TableAccess],
        *,
        description: str,
        timeout: Duration = API_TIMEOUT,
        memory_size: int = API_MEMORY_MB,
        environment: Mapping[str, str] | None = None,
        policies: Mapping[str, iam.PolicyDocument] | None = None,
    ) -> lambda_.Function:
        """A traced arm64 function with its own log group and a role holding only ``grants``
        (and ``policies``, on what it reaches besides the table)."""
        log_group = logs.LogGroup(
            self,
            f"{function_id}Logs",
            retention=LOG_RETENTION,
            # The mutation log says who changed which defaults: keep it after the stack is gone.
            removal_policy=RemovalPolicy.RETAIN,
        )
        role = iam.Role(
            self,
            f"{function_id}Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"{function_id}: {description}",
            inline_policies={
                "Table": iam.PolicyDocument(
                    statements=[
                        grant.statement(self._table.table_arn)
                        for grant in (*grants, *LAYOUT_DETECTION)
                    ]
                ),
                # The log group exists already, so the function needs no logs:CreateLogGroup.
                "Logs": _policy(
                    ["logs:CreateLogStream", "logs:PutLogEvents"], log_group.log_group_arn
                ),
                "Tracing": _policy(TRACING_ACTIONS, "*"),
                **(policies or {}),
            },
        )
        function = lambda_.Function(
            self,
            function_id,
            description=description,
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler=handler,
            code=self._code,
            layers=self._layers,
            # By ARN and immutable: CDK adds no policy of its own, nor a DependsOn the ARN implies.
            role=iam.Role.from_role_arn(
                self, f"{function_id}RoleByArn", role.role_arn, mutable=False
            ),
            log_group=log_group,
            tracing=lambda_.Tracing.ACTIVE,
            timeout=timeout,
            memory_size=memory_size,
            environment={
                TABLE_NAME_VARIABLE: self._table.table_name,
                "POWERTOOLS_SERVICE_NAME": SERVICE_NAME,
                "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
                **self._layout_environment,
                **(environment or {}),
            },
        )
        acknowledge(
            role,
            "AwsSolutions-IAM5",
            "Active tracing needs xray:PutTraceSegments and xray:PutTelemetryRecords, which "
            "X-Ray authorises only on resource '*'",
            finding="Resource::*",
        )
        acknowledge(
            function,
            "AwsSolutions-L1",
            "Pinned to python3.13, the runtime the Powertools layer is resolved for "
            "(infra/layers.py); upgrade the runtime and the layer parameter together",
        )
        return function


def _policy(actions: Sequence[str], resource: str) -> iam.PolicyDocument:
    return iam.PolicyDocument(
        statements=[iam.PolicyStatement(actions=list(actions), resources=[resource])]
    )
