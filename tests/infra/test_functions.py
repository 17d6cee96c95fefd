"""The functions: one per handler, their runtime, logs, environment, layers and code."""

from __future__ import annotations

from pathlib import PurePosixPath

import pytest

from handlers import routes
from infra.lambda_assets import LAMBDA_PYTHON
from infra.layers import POWERTOOLS_PACKAGE, RUNTIME
from infra.sources import pinned_version
from resource_registry.change_events import EVENT_BUS_VARIABLE
from resource_registry.clients import TABLE_NAME_VARIABLE
from resource_registry.observability import METRICS_NAMESPACE, SERVICE_NAME
from tests.infra.conftest import HANDLERS, Synthesized, synthesize

FUNCTION_IDS = sorted(HANDLERS)
API_FUNCTION_IDS = sorted(route.function_id for route in routes.API_ROUTES)
POWERTOOLS_PARAMETER_TYPE = "AWS::SSM::Parameter::Value<String>"


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(tmp_path_factory.mktemp("cdk.out"))


def test_one_function_per_handler(synthesized: Synthesized) -> None:
    handlers = [
        function["Properties"]["Handler"]
        for function in synthesized.of_type("AWS::Lambda::Function").values()
    ]
    assert sorted(handlers) == sorted(HANDLERS.values())


@pytest.mark.parametrize("function_id", FUNCTION_IDS)
def test_function_runs_python_3_13_on_arm64_traced(
    synthesized: Synthesized, function_id: str
) -> None:
    function = synthesized.function(function_id)
    assert function["Runtime"] == "python3.13"
    assert function["Architectures"] == ["arm64"]
    assert function["TracingConfig"] == {"Mode": "Active"}


def test_assets_are_compiled_for_the_runtime_the_functions_run_on() -> None:
    assert RUNTIME.name == "python{}.{}".format(*LAMBDA_PYTHON)


@pytest.mark.parametrize("function_id", FUNCTION_IDS)
def test_function_logs_to_its_own_log_group_with_retention(
    synthesized: Synthesized, function_id: str
) -> None:
    log_group_id = synthesized.function(function_id)["LoggingConfig"]["LogGroup"]["Ref"]
    log_group = synthesized.resources[log_group_id]
    assert log_group["Type"] == "AWS::Logs::LogGroup"
    assert log_group["Properties"]["RetentionInDays"] == 30
    others = {
        synthesized.function(other)["LoggingConfig"]["LogGroup"]["Ref"]
        for other in FUNCTION_IDS
        if other != function_id
    }
    assert log_group_id not in others


def test_no_log_retention_custom_resource(synthesized: Synthesized) -> None:
    assert synthesized.of_type("Custom::LogRetention") == {}


@pytest.mark.parametrize("function_id", FUNCTION_IDS)
def test_function_environment_names_table_and_powertools_settings(
    synthesized: Synthesized, function_id: str
) -> None:
    (table_id,) = synthesized.of_type("AWS::DynamoDB::Table")
    expected = {
        TABLE_NAME_VARIABLE: {"Ref": table_id},
        "POWERTOOLS_SERVICE_NAME": SERVICE_NAME,
        "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
    }
    if function_id == routes.HEALER_FUNCTION_ID:
        # The bus its change events go to (the stack's own: its name).
        (bus_id,) = synthesized.of_type("AWS::Events::EventBus")
        expected[EVENT_BUS_VARIABLE] = {"Ref": bus_id}
    assert synthesized.function(function_id)["Environment"]["Variables"] == expected


@pytest.mark.parametrize("function_id", API_FUNCTION_IDS)
def test_api_function_answers_within_api_gateway_timeout(
    synthesized: Synthesized, function_id: str
) -> None:
    assert synthesized.function(function_id)["Timeout"] < 29


def test_backfill_may_run_for_fifteen_minutes(synthesized: Synthesized) -> None:
    assert synthesized.function(routes.BACKFILL_FUNCTION_ID)["Timeout"] == 15 * 60


def test_healer_handles_a_batch_within_a_minute(synthesized: Synthesized) -> None:
    healer = synthesized.function(routes.HEALER_FUNCTION_ID)
    assert (healer["Timeout"], healer["MemorySize"]) == (60, 256)


def test_shared_layer_is_built_for_the_functions_platform(synthesized: Synthesized) -> None:
    (layer,) = synthesized.of_type("AWS::Lambda::LayerVersion").values()
    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.13"]
    assert layer["Properties"]["CompatibleArchitectures"] == ["arm64"]


def test_powertools_layer_arn_comes_from_the_public_parameter_at_the_pinned_version(
    synthesized: Synthesized,
) -> None:
    parameters = synthesized.template.to_json()["Parameters"]
    expected = (
        f"/aws/service/powertools/python/arm64/python3.13/{pinned_version(POWERTOOLS_PACKAGE)}"
    )
    powertools = [
        name
        for name, parameter in parameters.items()
        if parameter["Type"] == POWERTOOLS_PARAMETER_TYPE and parameter["Default"] == expected
    ]
    assert len(powertools) == 1


@pytest.mark.parametrize("function_id", FUNCTION_IDS)
def test_function_loads_powertools_and_shared_layers_only(
    synthesized: Synthesized, function_id: str
) -> None:
    parameters = synthesized.template.to_json()["Parameters"]
    (shared_layer_id,) = synthesized.of_type("AWS::Lambda::LayerVersion")
    layers = [layer["Ref"] for layer in synthesized.function(function_id)["Layers"]]
    assert shared_layer_id in layers
    (powertools,) = [layer for layer in layers if layer != shared_layer_id]
    assert "/aws/service/powertools/python/" in parameters[powertools]["Default"]


def _staged_asset(synthesized: Synthesized, code: dict[str, object]) -> set[str]:
    asset_hash = str(code["S3Key"]).removesuffix(".zip")
    staged = synthesized.outdir / f"asset.{asset_hash}"
    return {path.relative_to(staged).as_posix() for path in staged.rglob("*") if path.is_file()}


def _caches_for(sources: set[str]) -> set[str]:
    """The bytecode caches python3.13 reads for ``sources``."""
    tag = "cpython-{}{}".format(*LAMBDA_PYTHON)
    return {
        f"{PurePosixPath(path).parent}/__pycache__/{PurePosixPath(path).stem}.{tag}.pyc"
        for path in sources
    }


def test_function_code_is_the_handlers_with_their_bytecode(synthesized: Synthesized) -> None:
    files = _staged_asset(synthesized, synthesized.function(routes.BACKFILL_FUNCTION_ID)["Code"])
    sources = {path for path in files if path.endswith(".py")}
    assert {"handlers/routes.py", "handlers/handle_backfill.py"} <= sources
    assert not any(path.startswith("layer") for path in files)
    # Each module's bytecode for the runtime, and no other interpreter's caches.
    assert files - sources == _caches_for(sources)


def test_layer_code_is_the_shared_package_with_its_bytecode(synthesized: Synthesized) -> None:
    (layer,) = synthesized.of_type("AWS::Lambda::LayerVersion").values()
    files = _staged_asset(synthesized, layer["Properties"]["Content"])
    sources = {path for path in files if path.endswith(".py")}
    assert "python/resource_registry/schema.py" in sources
    assert files - sources == _caches_for(sources)
    # boto3 and Powertools come from the runtime and the managed layer.
    assert not any(
        path.startswith(("python/boto3", "python/aws_lambda_powertools")) for path in files
    )
