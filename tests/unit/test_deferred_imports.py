"""Cold start: deferred packages load only what is used, and still give every name they define."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from handlers.deferred_imports import DEFERRED_PACKAGES


def run_fresh(code: str) -> dict[str, object]:
    """Run ``code`` in a fresh interpreter on this suite's path; the JSON it prints last."""
    environment = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    loaded: dict[str, object] = json.loads(result.stdout.strip().splitlines()[-1])
    return loaded


def test_a_rest_handler_loads_only_the_parts_of_powertools_it_uses() -> None:
    loaded = run_fresh(
        """
        import json, sys
        import handlers.handle_set_defaults
        print(json.dumps({"modules": sorted(sys.modules)}))
        """
    )
    modules = set(loaded["modules"])  # type: ignore[call-overload]
    assert "aws_lambda_powertools.event_handler.api_gateway" in modules
    assert "aws_lambda_powertools.utilities.data_classes.api_gateway_proxy_event" in modules
    # Resolvers and events no REST handler uses, and asyncio (wrapt's caching needs it)
    for unused in (
        "aws_lambda_powertools.event_handler.appsync",
        "aws_lambda_powertools.event_handler.bedrock_agent",
        "aws_lambda_powertools.utilities.data_classes.s3_event",
        "aws_lambda_powertools.utilities.data_classes.kafka_event",
        "asyncio",
    ):
        assert unused not in modules


@pytest.mark.parametrize("package", DEFERRED_PACKAGES)
def test_every_public_name_of_a_deferred_package_is_the_real_one(package: str) -> None:
    loaded = run_fresh(
        f"""
        import importlib, json
        import handlers
        deferred = importlib.import_module({package!r})
        names = list(deferred.__all__)  # runs the real __init__
        missing = [name for name in names if not hasattr(deferred, name)]
        print(json.dumps({{"names": len(names), "missing": missing}}))
        """
    )
    assert loaded["names"]
    assert loaded["missing"] == []


def test_xray_still_traces_dynamodb_calls_with_wrapt_deferred() -> None:
    loaded = run_fresh(
        """
        import json
        import handlers
        import boto3
        from botocore.stub import Stubber
        from aws_xray_sdk.core import patch, xray_recorder
        patch(["botocore"])
        xray_recorder.configure(sampling=False, context_missing="LOG_ERROR")
        client = boto3.client("dynamodb", region_name="us-east-1")
        segment = xray_recorder.begin_segment("test")
        with Stubber(client) as stub:
            stub.add_response("get_item", {})
            client.get_item(TableName="t", Key={"PK": {"S": "a"}, "SK": {"S": "b"}})
        names = [subsegment.name for subsegment in segment.subsegments]
        xray_recorder.end_segment()
        print(json.dumps({"subsegments": names}))
        """
    )
    assert loaded["subsegments"] == ["dynamodb"]


def test_importing_the_handlers_spaces_out_young_collections() -> None:
    loaded = run_fresh(
        """
        import gc, json
        import handlers
        print(json.dumps({"threshold": gc.get_threshold()[0]}))
        """
    )
    assert loaded["threshold"] == 100_000
