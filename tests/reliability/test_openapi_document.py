"""docs/openapi.json: generated from the one route definition and the validation constants."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import schemathesis

from devtools import openapi
from handlers.routes import API_ROUTES, Route
from resource_registry.errors import InvalidInputError
from resource_registry.validation import MAX_LIMITS, NUMBER_BOUNDS, validate_resource_name


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(openapi.DOCUMENT_PATH.read_text(encoding="utf-8"))
    return loaded


def test_the_committed_document_is_a_fresh_generation() -> None:
    assert openapi.DOCUMENT_PATH.read_text(encoding="utf-8") == openapi.render(), (
        "docs/openapi.json is out of date: run python -m devtools.openapi"
    )


def test_the_documented_command_works_without_pythonpath() -> None:
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    done = subprocess.run(
        [sys.executable, "-m", "devtools.openapi", "--check"],
        cwd=openapi.ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    assert (done.returncode, done.stderr) == (0, "")


def test_its_paths_and_methods_are_exactly_the_routes(document: dict[str, Any]) -> None:
    documented = {
        (method.upper(), path) for path, item in document["paths"].items() for method in item
    }
    assert documented == {(route.method, path) for route in API_ROUTES for path in route.paths}
    assert {
        operation["operationId"]
        for item in document["paths"].values()
        for operation in item.values()
    } == {
        route.function_id + suffix
        for route in API_ROUTES
        for suffix in ("", "InNamespace")[: len(route.paths)]
    }


def test_it_is_a_valid_openapi_3_document(document: dict[str, Any]) -> None:
    schemathesis.openapi.from_dict(document).validate()


def test_a_route_without_documentation_cannot_be_generated() -> None:
    extra = Route("POST", "/resources/{resource}/reset", "ResetDefaults", "handle_reset")
    with pytest.raises(ValueError, match="ResetDefaults"):
        openapi.build_document((*API_ROUTES, extra))


NAMES = [
    "a",
    "gpt-4",
    "A" + "x" * 63,
    "a.b_c-d",
    "A" + "x" * 64,
    "",
    "9a",
    "-a",
    "a#b",
    "a/b",
    "llama3:8b",
    "/ab",
    "a b",
]


@pytest.mark.parametrize("name", NAMES)
def test_the_documented_name_pattern_agrees_with_the_validator(
    document: dict[str, Any], name: str
) -> None:
    pattern = document["components"]["schemas"]["ResourceName"]["pattern"]
    try:
        validate_resource_name(name)
        valid = True
    except InvalidInputError:
        valid = False
    # JSON Schema patterns search (ECMA-262); the anchors make this a whole-name match.
    assert (re.search(pattern, name) is not None) == valid


def test_the_limits_schema_carries_the_validation_constants(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    limits = schemas["SetDefaultsRequest"]["properties"]["limits"]
    assert (limits["minItems"], limits["maxItems"]) == (1, MAX_LIMITS)
    limit = schemas["LimitInput"]
    assert limit["additionalProperties"] is False
    assert limit["required"] == ["name", "capacity", "refill_period_seconds"]
    for field in ("capacity", "burst", "refill_amount", "refill_period_seconds"):
        number = limit["properties"][field]
        bounds = (number["type"], number["minimum"], number["maximum"])
        assert bounds == ("integer", *NUMBER_BOUNDS[field])


def test_every_operation_documents_its_errors_with_the_error_body(document: dict[str, Any]) -> None:
    operations = {
        operation["operationId"]: operation
        for item in document["paths"].values()
        for operation in item.values()
    }
    error_body = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for name, operation in operations.items():
        responses = operation["responses"]
        assert {"400", "500", "503"} <= set(responses), name
        for status, response in responses.items():
            if status.startswith(("4", "5")):
                assert response["content"] == error_body, (name, status)
        assert "Retry-After" in responses["503"]["headers"]
    for name in ("SetDefaults", "DeleteDefaults"):
        assert {"409", "412"} <= set(operations[name]["responses"])
    assert {"413", "415"} <= set(operations["SetDefaults"]["responses"])
    assert set(document["components"]["schemas"]["Error"]["properties"]) == {"message", "code"}


def test_check_mode_reports_a_stale_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "openapi.json"
    monkeypatch.setattr(openapi, "DOCUMENT_PATH", target)
    assert openapi.main(["--check"]) == 1
    target.write_text(openapi.render(), encoding="utf-8")
    assert openapi.main(["--check"]) == 0
    target.write_text(openapi.render().replace("Resource registry", "Stale"), encoding="utf-8")
    assert openapi.main(["--check"]) == 1
