"""Schemathesis against the local server over DynamoDB Local, from the committed OpenAPI document.

Valid and invalid requests, generated from docs/openapi.json, for every operation: no answer may be
a 5xx or break the document (status, content type, headers, body schema), and invalid requests
must be refused with a 4xx. The number of cases is bounded so the run stays well under a minute.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from devtools.layout_tables import create_layout_table
from devtools.local_server import LocalApiServer
from devtools.openapi import DOCUMENT_PATH
from resource_registry import service
from resource_registry.errors import InvalidInputError
from resource_registry.model import Limit
from tests.conftest import Table

pytestmark = pytest.mark.integration

CASES_PER_OPERATION_AND_MODE = 50
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
# Any documented 4xx refuses invalid data; If-Match is a free-form header, refused with 412.
REFUSALS = ["400", "404", "405", "409", "412", "413", "415"]


def load_schema(base_url: str) -> Any:
    config = schemathesis.Config.from_dict(
        {
            "base-url": base_url,
            "checks": {"negative_data_rejection": {"expected-statuses": REFUSALS}},
        }
    )
    return schemathesis.openapi.from_path(DOCUMENT_PATH, config=config)


POSITIVE, NEGATIVE = schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE
RPM = Limit("rpm", 100, 100, 100, 60)


def operations() -> list[Any]:
    """Each operation in each mode; an operation that takes no input has no invalid requests."""
    schema = schemathesis.openapi.from_path(DOCUMENT_PATH)
    found = [result.ok() for result in schema.get_all_operations() if isinstance(result, Ok)]
    return [
        pytest.param(operation.label, mode, id=f"{operation.label}-{name}")
        for operation in found
        for mode, name in ((POSITIVE, "valid"), (NEGATIVE, "invalid"))
        if mode is POSITIVE or operation.definition.raw.get("parameters")
    ]


@pytest.mark.parametrize(("label", "mode"), operations())
def test_generated_requests_never_get_a_5xx_or_an_answer_outside_the_document(
    api_server: LocalApiServer,
    local_table: Table,
    label: str,
    mode: schemathesis.GenerationMode,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    operation = load_schema(api_server.url).find_operation_by_label(label)
    assert operation is not None
    if label.endswith("/effective"):
        # The effective view reads config items, which a flat table has none of (409 for every
        # request): it is fuzzed on a composite table, where valid requests are answered.
        composite = f"{local_table.name}-composite"
        create_layout_table(local_table.client, composite, "composite")
        monkeypatch.setenv("TABLE_NAME", composite)
        service.reset()
    # API Gateway checks the signature before any handler runs; the local server has no IAM.
    signed = {"Authorization": "AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/execute-api"}
    statuses: Counter[int] = Counter()

    @given(case=operation.as_strategy(generation_mode=mode, headers=signed), exists=st.booleans())
    @settings(
        max_examples=CASES_PER_OPERATION_AND_MODE,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    def call(case: Any, exists: bool) -> None:
        resource = (case.path_parameters or {}).get("resource")
        if exists and mode is POSITIVE and "namespace" in (case.path_parameters or {}):
            case.path_parameters["namespace"] = "default"  # the flat table's one namespace
        if exists and isinstance(resource, str):
            # Half the cases find the resource, so 200s and 204s are checked as well as 404s.
            with contextlib.suppress(InvalidInputError):
                local_table.store.set_defaults(resource, [RPM])
        statuses[case.call_and_validate(checks=CHECKS).status_code] += 1

    call()
    print(label, mode.value, dict(sorted(statuses.items())))
    if mode is POSITIVE:
        assert any(200 <= status < 300 for status in statuses), statuses
    else:
        assert all(400 <= status < 500 for status in statuses), statuses
    assert local_table.registry() == local_table.resources_with_limits()
