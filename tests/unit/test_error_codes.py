"""Error codes are part of the API: one explicit list, the same on every Python."""

from __future__ import annotations

import json
import logging

import pytest

from devtools import openapi
from devtools.local_server import REFUSAL_CODES, LocalContext
from handlers import handle_backfill
from handlers.error_codes import ERROR_CODES
from handlers.request_parsing import MAX_BODY_BYTES
from resource_registry import errors, schema
from resource_registry.clients import MissingSettingError
from tests.conftest import Table, api_call

# The contract's list. Changing it changes the API: update clients and docs/openapi.json with it.
PINNED_CODES = {
    "InvalidInput",
    "ResourceNotFound",
    "PreconditionFailed",
    "ResourceChanging",
    "ConcurrentUpdate",
    "ServiceUnavailable",
    "RegistryFull",
    "NamespaceNotFound",
    "UnrepresentableLimit",
    "UnsupportedTable",
    "UnsupportedMediaType",
    "ContentTooLarge",
    "NoRoute",
    "InternalError",
    "MethodNotAllowed",
    "LengthRequired",
    "AccessDenied",
    "ExpiredToken",
    "InvalidSignature",
    "MissingAuthentication",
    "Throttled",
    "GatewayRefused",
    "GatewayError",
    "IdempotencyKeyReused",
    "NotOnThisLayout",
}


def all_subclasses(cls: type[errors.RegistryError]) -> list[type[errors.RegistryError]]:
    found: list[type[errors.RegistryError]] = []
    for subclass in cls.__subclasses__():
        found += [subclass, *all_subclasses(subclass)]
    return found


def test_the_list_of_codes_is_the_pinned_one() -> None:
    assert len(ERROR_CODES) == len(set(ERROR_CODES))
    assert set(ERROR_CODES) == PINNED_CODES


def test_every_domain_error_declares_its_own_code() -> None:
    domain_errors = all_subclasses(errors.RegistryError)
    assert domain_errors
    for error_class in domain_errors:
        assert "code" in vars(error_class), f"{error_class.__name__} declares no code"
        assert isinstance(error_class.code, errors.ErrorCode)
        assert error_class.code in ERROR_CODES


def test_the_local_servers_refusals_use_codes_of_the_list() -> None:
    assert {code.value for code in REFUSAL_CODES.values()} <= PINNED_CODES


def test_the_openapi_document_lists_every_code() -> None:
    document = json.loads(openapi.DOCUMENT_PATH.read_text(encoding="utf-8"))
    code = document["components"]["schemas"]["Error"]["properties"]["code"]
    assert set(code["enum"]) == PINNED_CODES


@pytest.mark.usefixtures("moto_table")
def test_a_body_over_64_kib_is_content_too_large_on_every_python() -> None:
    # HTTPStatus(413).phrase is "Request Entity Too Large" on 3.11 and "Content Too Large" on 3.13.
    response = api_call(
        "PUT",
        "/resources/gpt-4/defaults",
        body=" " * (MAX_BODY_BYTES + 1),
        headers={"Content-Type": "application/json"},
    )
    assert (response["statusCode"], response["json"]["code"]) == (413, "ContentTooLarge")


@pytest.mark.usefixtures("moto_table")
def test_an_unsupported_media_type_has_its_code() -> None:
    response = api_call("PUT", "/resources/gpt-4/defaults", body="{}", headers={})
    assert (response["statusCode"], response["json"]["code"]) == (415, "UnsupportedMediaType")


def test_a_function_without_table_name_refuses_naming_it(
    moto_table: Table, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a function started without TABLE_NAME (a table called resource-registry exists)
    monkeypatch.delenv("TABLE_NAME")
    moto_table.client.create_table(
        TableName="resource-registry",
        BillingMode="PAY_PER_REQUEST",
        **schema.table_key_definition(),
    )
    # When an API request arrives, it fails without serving that table, and the log says why
    with caplog.at_level(logging.ERROR):
        response = api_call("GET", "/resources")
    assert (response["statusCode"], response["json"]["code"]) == (500, "InternalError")
    assert "TABLE_NAME is not set" in caplog.text
    # And the backfill refuses outright
    with pytest.raises(MissingSettingError, match="TABLE_NAME"):
        handle_backfill.handler({"mode": "verify"}, LocalContext("Backfill", "test-request"))
