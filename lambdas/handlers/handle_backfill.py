"""The backfill function, invoked by hand (never through the API): docs/contract.md section 4.

A bad event fails the invocation with InvalidInputError saying what is wrong, and changes nothing.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from resource_registry.backfill import BackfillRequest, RegistryReconciler
from resource_registry.clients import dynamodb_client, table_name
from resource_registry.observability import logger, metrics, tracer


@logger.inject_lambda_context(log_event=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = BackfillRequest.from_event(event)
    reconciler = RegistryReconciler(dynamodb_client(), table_name())
    summary = reconciler.run(request, remaining_millis=context.get_remaining_time_in_millis)
    metrics.add_metric(name="ResourcesRegistered", unit=MetricUnit.Count, value=len(summary.added))
    metrics.add_metric(name="ResourcesPruned", unit=MetricUnit.Count, value=len(summary.removed))
    logger.info("backfill run", extra={"summary": summary.to_dict()})
    return summary.to_dict()
