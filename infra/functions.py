"""One Lambda function per handler, each with its own role that may call only what it needs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from handlers import routes
from infra.layers import ARCHITECTURE, RUNTIME
from infra.nag import acknowledge
from resource_registry import schema
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
LOG_RETENTION = logs.RetentionDays.ONE_MONTH
# What Tracing.ACTIVE needs; X-Ray has no resource-level permissions.
TRACING_ACTIONS = ("xray:PutTraceSegments", "xray:PutTelemetryRecords")


@dataclass(frozen=True)
class TableAccess:
    """DynamoDB actions a function may call on the table, only on partitions matching
    ``leading_keys`` (IAM wildcards) when given."""

    actions: tuple[str, ...]
    leading_keys: tuple[str, ...] = ()
    index: str | None = None  # on this index of the table instead of the table itself

    def statement(self, table_arn: str) -> iam.PolicyStatement:
        """The IAM statement allowing these actions on the table, or on the one index named."""
        conditions = None
        if self.leading_keys:
            conditions = {
                "ForAllValues:StringLike": {"dynamodb:LeadingKeys": list(self.leading_keys)}
            }
        resource = f"{table_arn}/index/{self.index}" if self.index else table_arn
        return iam.PolicyStatement(
            actions=list(self.actions), resources=[resource], conditions=conditions
        )


# Every function detects the table's layout at its cold start; a table without data yet is
# told apart by its indexes (resource_registry.detection).
LAYOUT_DETECTION = TableAccess(("dynamodb:DescribeTable",))
# A resource's audit partition, "{namespace prefix}AUDIT#$RESOURCE:{name}".
AUDIT_PARTITIONS = (f"{schema.AUDIT_PREFIX}*", f"*/{schema.AUDIT_PREFIX}*")
# A resource's partition, "{namespace prefix}RESOURCE#{name}".
RESOURCE_PARTITIONS = (f"{schema.RESOURCE_PREFIX}*", f"*/{schema.RESOURCE_PREFIX}*")
# The record of an idempotent write's answer, "{namespace prefix}IDEMPOTENCY#{digest}".
IDEMPOTENCY_PARTITIONS = (f"{schema.IDEMPOTENCY_PREFIX}*", f"*/{schema.IDEMPOTENCY_PREFIX}*")
# TransactWriteItems is authorised per item action (Put, Update, Delete, ConditionCheck), so the
# transactional handlers need exactly the item actions their transactions contain. Every API
# function reads with GetItem: the layout's version record at a cold start, a namespace's id, a
# composite config item.
TABLE_ACCESS: dict[str, tuple[TableAccess, ...]] = {
    routes.LIST_RESOURCES.function_id: (TableAccess(("dynamodb:GetItem",)),),
    # The Query reads the namespace items.
    routes.LIST_NAMESPACES.function_id: (TableAccess(("dynamodb:Query", "dynamodb:GetItem")),),
    # The Query reads one resource's audit partition ("{prefix}AUDIT#$RESOURCE:{name}") only.
    routes.GET_HISTORY.function_id: (
        TableAccess(("dynamodb:Query",), leading_keys=AUDIT_PARTITIONS),
        TableAccess(("dynamodb:GetItem",)),
    ),
    # The GetItem re-reads the version item: proof no write landed while the Query read.
    routes.GET_DEFAULTS.function_id: (TableAccess(("dynamodb:Query", "dynamodb:GetItem")),),
    # ConditionCheckItem: on a namespaced table, that the namespace is still active.
    routes.SET_DEFAULTS.function_id: (
        TableAccess(
            (
                "dynamodb:Query",
                "dynamodb:GetItem",
                "dynamodb:PutItem",
                "dynamodb:UpdateItem",
                "dynamodb:DeleteItem",
                "dynamodb:ConditionCheckItem",
            )
        ),
    ),
    # ConditionCheckItem: the version check of each chunk when a partition outgrows one transaction.
    routes.DELETE_DEFAULTS.function_id: (
        TableAccess(
            (
                "dynamodb:Query",
                "dynamodb:GetItem",
                "dynamodb:UpdateItem",
                "dynamodb:DeleteItem",
                "dynamodb:ConditionCheckItem",
            )
        ),
        # A delete puts its audit event, its idempotency record, and a config item that keeps
        # zae-limiter's flags without the limits.
        TableAccess(
            ("dynamodb:PutItem",),
            leading_keys=(*AUDIT_PARTITIONS, *IDEMPOTENCY_PARTITIONS, *RESOURCE_PARTITIONS),
        ),
    ),
    routes.BACKFILL_FUNCTION_ID: (
        TableAccess(
            ("dynamodb:Scan", "dynamodb:Query", "dynamodb:GetItem", "dynamodb:ConditionCheckItem")
        ),
        # Backfill may change the registry item and nothing else: never a limit of a resource.
        # A namespace's registry partition is "{id}/SYSTEM#"; names never contain '#'.
        TableAccess(
            ("dynamodb:UpdateItem",),
            leading_keys=(schema.SYSTEM_PARTITION, f"*/{schema.SYSTEM_PARTITION}"),
        ),
        # zae-limiter 0.10 and later: each namespace's resources, from its keys-only index.
        TableAccess(("dynamodb:Query",), index=schema.GSI4_INDEX),
    ),
}


class RegistryFunctions(Construct):
    """The API handlers of ``routes.API_ROUTES`` and the backfill handler, over one table."""

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

    def _add_function(
        self,
        function_id: str,
        handler: str,
        grants: Sequence[TableAccess],
        *,
        description: str,
        timeout: Duration = API_TIMEOUT,
        memory_size: int = API_MEMORY_MB,
    ) -> lambda_.Function:
        """A traced arm64 function with its own log group and a role holding only ``grants``."""
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
                        for grant in (*grants, LAYOUT_DETECTION)
                    ]
                ),
                # The log group exists already, so the function needs no logs:CreateLogGroup.
                "Logs": _policy(
                    ["logs:CreateLogStream", "logs:PutLogEvents"], log_group.log_group_arn
                ),
                "Tracing": _policy(TRACING_ACTIONS, "*"),
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
