"""Logger, Tracer and Metrics shared by every handler; Powertools reads the rest from the env."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

SERVICE_NAME = "resource-registry"
METRICS_NAMESPACE = "ResourceRegistry"

logger = Logger(service=SERVICE_NAME)
tracer = Tracer(service=SERVICE_NAME)
metrics = Metrics(service=SERVICE_NAME, namespace=METRICS_NAMESPACE)
