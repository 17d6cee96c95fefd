"""The backfill function, invoked by hand (never through the API): docs/contract.md section 4.

A bad event fails the invocation with InvalidInputError saying what is wrong, and changes nothing.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.utilities.typing import LambdaContext

from resource_registry import service
from resource_registry.backfill.reconciler import RegistryReconciler
from resource_registry.backfill.request import BackfillRequest
from resource_registry.backfill.summary import DRIFT_KINDS
from resource_registry.observability import (
    DRIFT_METRIC,
    DRIFT_MODE_DIMENSION,
    METRICS_NAMESPACE,
    SERVICE_NAME,
    logger,
    metrics,
    tracer,
)


@logger.inject_lambda_context(log_event=True)
# The response lists every name the run found: too big, and not worth keeping, in a trace.
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = BackfillRequest.from_event(event)
    reconciler = RegistryReconciler(service.batch_table())
    summary = reconciler.run(request, remaining_millis=context.get_remaining_time_in_millis)
    for metric, kind in (("ResourcesRegistered", "added"), ("ResourcesPruned", "removed")):
        metrics.add_metric(name=metric, unit=MetricUnit.Count, value=summary.total(kind))
    publish_drift(summary.mode, sum(summary.total(kind) for kind in DRIFT_KINDS))
    logger.info("backfill run", extra={"summary": summary.to_dict()})
    return summary.to_dict()


def publish_drift(mode: str, names: int) -> None:
    """The RegistryDrift metric, with its own ``mode`` dimension (the alarm watches verify)."""
    with single_metric(
        name=DRIFT_METRIC,
        unit=MetricUnit.Count,
        value=names,
        namespace=METRICS_NAMESPACE,
        default_dimensions={"service": SERVICE_NAME},
    ) as metric:
        metric.add_dimension(name=DRIFT_MODE_DIMENSION, value=mode)
