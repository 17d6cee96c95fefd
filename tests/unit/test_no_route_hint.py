"""A path with an unencoded '/' in a name gets the no-route 404 with a hint to write %2F."""

from __future__ import annotations

import json

import pytest

from devtools.local_server import LocalContext, build_event
from handlers import handle_get_defaults
from handlers.routes import GET_DEFAULTS, unencoded_slash_hint
from tests.conftest import Table

HINT = "; a name holding '/' is one segment, with '/' written %2F: "


@pytest.mark.parametrize(
    ("path", "encoded"),
    [
        ("/resources/openai/gpt-4/defaults", "/resources/openai%2Fgpt-4/defaults"),
        (
            "/namespaces/prod/resources/openai/gpt-4/defaults",
            "/namespaces/prod/resources/openai%2Fgpt-4/defaults",
        ),
        ("/resources/a/b/c/history", "/resources/a%2Fb%2Fc/history"),
    ],
)
def test_a_name_with_an_unencoded_slash_is_shown_encoded(path: str, encoded: str) -> None:
    assert unencoded_slash_hint(path) == HINT + encoded


@pytest.mark.parametrize(
    "path",
    ["/resources/gpt-4/defaults", "/nowhere", "/resources//defaults", "/resources//x/defaults"],
)
def test_other_paths_get_no_hint(path: str) -> None:
    assert unencoded_slash_hint(path) == ""


def test_the_functions_no_route_answer_carries_the_hint(moto_table: Table) -> None:
    # Given an event for a path no route of the function's resolver matches
    path = "/resources/openai/gpt-4/defaults"
    event = build_event(GET_DEFAULTS, path, path_parameters={"resource": "openai"})

    # When the function resolves it
    answer = handle_get_defaults.handler(event, LocalContext("GetDefaults", "test-request"))

    # Then it is the no-route 404, saying how to write the name
    assert answer["statusCode"] == 404
    assert json.loads(answer["body"]) == {
        "message": f"no route for GET {path}{HINT}/resources/openai%2Fgpt-4/defaults",
        "code": "NoRoute",
    }
