"""The stack: composes the table, layers, functions, API, fan-out, healer, monitoring and drift
check."""

from __future__ import annotations

import re
from typing import Any

from aws_cdk import App, CfnOutput, Stack
from constructs import Construct

from handlers import routes
from infra.api import RegistryApi
from infra.backfill_fanout import BackfillFanOut
from infra.context import ContextError
from infra.drift_check import DriftCheck, drift_check_schedule
from infra.functions import RegistryFunctions
from infra.healer import StreamHealer, use_default_bus
from infra.lambda_assets import build_assets
from infra.layers import FunctionLayers
from infra.monitoring import RegistryMonitoring
from infra.table import RegistryTable, existing_table_stream_arn
from resource_registry.layouts import LAYOUTS

STACK_NAME = "ResourceRegistry"
# `cdk deploy -c existingTableName=...` serves (and backfills) a table that already exists.
EXISTING_TABLE_CONTEXT = "existingTableName"
# `cdk deploy -c tableLayout=namespaced` skips the functions' detection of the table's layout.
TABLE_LAYOUT_CONTEXT = "tableLayout"
# DynamoDB's own rule for table names.
TABLE_NAME_PATTERN = re.compile(r"[A-Za-z0-9_.-]{3,255}")


class ResourceRegistryStack(Stack):
    """Everything the service runs on; environment-agnostic, so synth needs no AWS account."""

    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        adopted = existing_table_name(self)
        registry = RegistryTable(
            self,
            "Registry",
            existing_table_name=adopted,
            existing_stream_arn=existing_table_stream_arn(self, adopted),
        )
        table = registry.table
        assets = build_assets()
        layers = FunctionLayers(self, "Layers", code_dir=assets.layer)
        functions = RegistryFunctions(
            self,
            "Functions",
            table=table,
            code_dir=assets.functions,
            layers=layers.all,
            table_layout=table_layout(self),
        )
        api = RegistryApi(self, "Api", functions=functions.by_id)
        fan_out = BackfillFanOut(self, "BackfillFanOut", backfill=functions.backfill)
        healer = StreamHealer(
            self,
            "Healer",
            functions=functions,
            stream_arn=registry.stream_arn,
            default_bus=use_default_bus(self),
        )
        monitoring = RegistryMonitoring(
            self,
            "Monitoring",
            stage=api.rest_api.deployment_stage,
            functions={
                **functions.by_id,
                routes.BACKFILL_FUNCTION_ID: functions.backfill,
                routes.HEALER_FUNCTION_ID: healer.function,
            },
            table=table,
            state_machine=fan_out.state_machine,
            healer=healer,
        )
        schedule = drift_check_schedule(self)
        if schedule is not None:
            DriftCheck(self, "DriftCheck", state_machine=fan_out.state_machine, expression=schedule)

        CfnOutput(
            self,
            "ApiUrl",
            value=api.rest_api.url,
            description="Base URL of the API; sign requests with SigV4 for service execute-api",
        )
        CfnOutput(
            self,
            "TableName",
            value=table.table_name,
            description="The DynamoDB table the functions serve (TABLE_NAME)",
        )
        CfnOutput(
            self,
            "BackfillFunctionName",
            value=functions.backfill.function_name,
            description="Invoke by hand to backfill, verify or prune the registry",
        )
        CfnOutput(
            self,
            "BackfillStateMachineArn",
            value=fan_out.state_machine.state_machine_arn,
            description='Start with {"mode": ..., "total_segments": N} to run every segment',
        )
        CfnOutput(
            self,
            "EventBusArn",
            value=healer.bus.event_bus_arn,
            description="The bus of the change events (source resource-registry); add rules here",
        )
        CfnOutput(
            self,
            "HealerDeadLetterQueueUrl",
            value=healer.dead_letters.queue_url,
            description="Where the healer's stream mapping names the batches it gave up on",
        )
        CfnOutput(
            self,
            "AlarmTopicArn",
            value=monitoring.topic.topic_arn,
            description="Subscribe to receive the service's alarms (infra/monitoring.py)",
        )


def existing_table_name(scope: Construct) -> str | None:
    """The ``existingTableName`` context value, checked; None when a new table is wanted."""
    value = scope.node.try_get_context(EXISTING_TABLE_CONTEXT)
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not TABLE_NAME_PATTERN.fullmatch(value):
        raise ContextError(
            f"context {EXISTING_TABLE_CONTEXT}={value!r} is not a DynamoDB table name: use "
            "3 to 255 letters, digits, '_', '.' or '-', or leave it out for a new table"
        )
    return value


def table_layout(scope: Construct) -> str | None:
    """The ``tableLayout`` context value, checked; None to let the functions detect it."""
    value = scope.node.try_get_context(TABLE_LAYOUT_CONTEXT)
    if value is None or value == "":
        return None
    if value not in LAYOUTS:
        raise ContextError(
            f"context {TABLE_LAYOUT_CONTEXT}={value!r} is not a layout: use one of "
            f"{', '.join(LAYOUTS)}, or leave it out to have the functions detect it"
        )
    return str(value)


def create_stack(app: App) -> ResourceRegistryStack:
    """The service's stack in ``app``; ContextError, before anything is built, for a context
    value it cannot use."""
    for check in (existing_table_name, table_layout, drift_check_schedule, use_default_bus):
        check(app)
    existing_table_stream_arn(app, existing_table_name(app))
    return ResourceRegistryStack(
        app, STACK_NAME, description="Resource registry service: table, functions and REST API"
    )
