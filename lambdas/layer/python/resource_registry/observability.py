"""Logger, Tracer and Metrics shared by every handler; Powertools reads the rest from the env."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

SERVICE_NAME = "resource-registry"
METRICS_NAMESPACE = "ResourceRegistry"
# Names in drift a backfill run found, by mode; the RegistryDrift alarm watches mode=verify.
DRIFT_METRIC = "RegistryDrift"
DRIFT_MODE_DIMENSION = "mode"

logger = Logger(service=SERVICE_NAME)
# Patch only botocore, the one library the functions call out through: by default X-Ray patches
# every supported library it finds installed (requests, httpx, sqlite3, ...) at each cold start.
tracer = Tracer(service=SERVICE_NAME, patch_modules=("botocore",))
metrics = Metrics(service=SERVICE_NAME, namespace=METRICS_NAMESPACE)
