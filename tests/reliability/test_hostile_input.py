"""Hostile input over real HTTP to the local server, over DynamoDB Local.

Every request gets a 4xx with a JSON message saying what is wrong, and the table is unchanged
afterwards (full dumps compared). tests/unit/test_handlers.py covers part of this at the handler
level; here it goes through the HTTP layer too, with the bytes on the wire exactly as written.
"""

from __future__ import annotations

import json
import socket
from typing import Any

import pytest

from devtools.local_server import LocalApiServer
from handlers.request_parsing import MAX_BODY_BYTES
from resource_registry import layouts
from resource_registry.model import Limit
from resource_registry.validation import MAX_PERIOD_SECONDS, MAX_TOKENS, NUMBER_BOUNDS
from tests.conftest import Table
from tests.reliability.conftest import HttpAnswer, send

pytestmark = pytest.mark.integration

DEFAULTS = "/resources/gpt-4/defaults"
JSON_TYPE = {"Content-Type": "application/json"}
RPM = {"name": "rpm", "capacity": 100, "refill_period_seconds": 60}
VALID = json.dumps({"limits": [RPM]})


@pytest.fixture
def seeded(local_table: Table) -> Table:
    local_table.store.set_defaults("gpt-4", [Limit("rpm", 10, 10, 10, 60)])
    local_table.store.set_defaults("other", [Limit("tpm", 10, 10, 10, 60)])
    return local_table


def assert_refused(answer: HttpAnswer, status: int | None = None, words: str = "") -> None:
    """A 4xx (``status`` if given) whose JSON body has a message containing ``words``."""
    assert 400 <= answer.status < 500, (answer.status, answer.raw[:300])
    if status is not None:
        assert answer.status == status, answer.raw[:300]
    assert answer.headers.get("Content-Type", "").startswith("application/json")
    message = answer.json["message"]
    assert isinstance(message, str) and message
    assert words in message, message


def limits_with(field: str, literal: str) -> str:
    """A PUT body whose one limit has ``field`` set to the raw JSON ``literal``."""
    fields = {**{key: json.dumps(value) for key, value in RPM.items()}, field: literal}
    members = ", ".join(f'"{key}": {value}' for key, value in fields.items())
    return '{"limits": [{' + members + "}]}"


BODIES = [
    ("malformed-json", '{"limits": [', JSON_TYPE, 400, "not valid JSON"),
    ("trailing-garbage", VALID + " x", JSON_TYPE, 400, "not valid JSON"),
    ("not-utf-8", b'\xff\xfe{"limits": []}', JSON_TYPE, 400, "not valid JSON"),
    ("byte-order-mark", "\ufeff" + VALID, JSON_TYPE, 400, "not valid JSON"),
    ("whitespace-only", "   ", JSON_TYPE, 400, "not valid JSON"),
    ("empty", "", JSON_TYPE, 400, "empty"),
    ("absent", None, JSON_TYPE, 400, "empty"),
    ("text-plain", VALID, {"Content-Type": "text/plain"}, 415, "Content-Type"),
    ("no-content-type", VALID, {}, 415, "Content-Type"),
    ("json-lookalike-type", VALID, {"Content-Type": "application/jsonp"}, 415, "Content-Type"),
    ("form-type", VALID, {"Content-Type": "application/x-www-form-urlencoded"}, 415, ""),
    (
        "huge",
        json.dumps({"limits": [RPM], "padding": "x" * (MAX_BODY_BYTES + 1)}),
        JSON_TYPE,
        413,
        f"over {MAX_BODY_BYTES} bytes",
    ),
    (
        "huge-claimed-length",
        None,
        {**JSON_TYPE, "Content-Length": str(11 * 1024 * 1024)},
        413,
        "too large",
    ),
    ("bad-content-length", None, {**JSON_TYPE, "Content-Length": "-1"}, 400, "Content-Length"),
    ("unicode-digit-length", None, {**JSON_TYPE, "Content-Length": "²"}, 400, "Content-Length"),
    ("chunked", None, {**JSON_TYPE, "Transfer-Encoding": "chunked"}, 411, "Content-Length"),
    ("deep-arrays", '{"limits": ' + "[" * 25_000 + "]" * 25_000 + "}", JSON_TYPE, 400, "deeply"),
    ("deep-objects", '{"a":' * 10_000 + "1" + "}" * 10_000, JSON_TYPE, 400, "deeply"),
    ("array-body", "[]", JSON_TYPE, 400, "JSON object"),
    ("string-body", '"limits"', JSON_TYPE, 400, "JSON object"),
    ("null-body", "null", JSON_TYPE, 400, "JSON object"),
    ("unknown-field", json.dumps({"limits": [RPM], "admin": True}), JSON_TYPE, 400, "'admin'"),
    (
        "unknown-limit-field",
        json.dumps({"limits": [{**RPM, "priority": 1}]}),
        JSON_TYPE,
        400,
        "'priority'",
    ),
    ("missing-limits", "{}", JSON_TYPE, 400, "missing 'limits'"),
    ("limits-not-a-list", json.dumps({"limits": RPM}), JSON_TYPE, 400, "must be a list"),
    ("limit-not-an-object", json.dumps({"limits": ["rpm"]}), JSON_TYPE, 400, "must be an object"),
    (
        "missing-capacity",
        json.dumps({"limits": [{"name": "rpm", "refill_period_seconds": 60}]}),
        JSON_TYPE,
        400,
        "missing 'capacity'",
    ),
    ("zero-limits", json.dumps({"limits": []}), JSON_TYPE, 400, "the request has 0"),
    (
        "one-limit-too-many",  # on the suite's flat tables
        json.dumps({"limits": [{**RPM, "name": f"l{index}"} for index in range(97)]}),
        JSON_TYPE,
        400,
        "holds at most 96 limits",
    ),
    ("duplicate-names", json.dumps({"limits": [RPM, RPM]}), JSON_TYPE, 400, "more than once"),
    (
        "duplicate-key",
        '{"limits": [{"name": "rpm", "capacity": -1, "capacity": 5, "refill_period_seconds": 60}]}',
        JSON_TYPE,
        400,
        "'capacity' appears twice",
    ),
    (
        "duplicate-names-differing-values",
        json.dumps({"limits": [RPM, {**RPM, "capacity": 5}]}),
        JSON_TYPE,
        400,
        "more than once",
    ),
    (
        "burst-below-capacity",
        json.dumps({"limits": [{**RPM, "burst": 99}]}),
        JSON_TYPE,
        400,
        "at least capacity",
    ),
    (
        "other-resource-in-body",
        json.dumps({"resource": "other", "limits": [RPM]}),
        JSON_TYPE,
        400,
        "differs",
    ),
]


@pytest.mark.parametrize("case", [pytest.param(case[1:], id=case[0]) for case in BODIES])
def test_a_hostile_body_is_refused_with_a_json_message_and_changes_nothing(
    api_server: LocalApiServer,
    seeded: Table,
    case: tuple[str | bytes | None, dict[str, str], int, str],
) -> None:
    body, headers, status, words = case
    before = seeded.items()
    assert_refused(send(api_server, "PUT", DEFAULTS, body, headers), status, words)
    assert seeded.items() == before


NUMBERS = [
    ("true", "a boolean"),
    ("false", "a boolean"),
    ("1.5", "a float"),
    ("1.0", "a float"),
    ("1e2", "a float"),
    ("1e400", "a float"),
    ('"100"', "a string"),
    ("null", "null"),
    ("[100]", "a list"),
    ('{"value": 100}', "an object"),
    ("-1", "must be between"),
    (str(MAX_TOKENS + 1), "must be between"),
    ("1" + "0" * 400, "must be between"),
    ("9" * 5_000, "not valid JSON"),
    ("NaN", "NaN"),
    ("Infinity", "Infinity"),
    ("-Infinity", "-Infinity"),
]
FIELDS = ["capacity", "burst", "refill_amount", "refill_period_seconds"]


@pytest.mark.parametrize(
    ("field", "literal", "words"),
    [
        pytest.param(field, literal, words, id=f"{field}={literal[:12]}")
        for field in FIELDS
        for literal, words in (NUMBERS if field == "capacity" else NUMBERS[::3])
    ]
    + [
        # Zero, where the field's bounds refuse it.
        pytest.param(field, zero, f"between {lowest} and {highest}", id=f"{field}={zero}")
        for field, (lowest, highest) in NUMBER_BOUNDS.items()
        if lowest > 0
        for zero in ("0", "-0")
    ],
)
def test_a_limit_number_that_is_not_a_positive_safe_integer_is_refused(
    api_server: LocalApiServer, seeded: Table, field: str, literal: str, words: str
) -> None:
    before = seeded.items()
    answer = send(api_server, "PUT", DEFAULTS, limits_with(field, literal), JSON_TYPE)
    assert_refused(answer, 400, words)
    assert field in answer.json["message"] or "JSON" in answer.json["message"]
    assert seeded.items() == before


NAMES = ["a#b", "a/b", "a b", "modèle", "名前", "x" * 65, "", "9lives", "-rpm", "a\u0000b", "rpm\n"]


@pytest.mark.parametrize("name", [pytest.param(name, id=repr(name)[:20]) for name in NAMES])
def test_a_hostile_limit_name_is_refused(
    api_server: LocalApiServer, seeded: Table, name: str
) -> None:
    before = seeded.items()
    body = json.dumps({"limits": [{**RPM, "name": name}]})
    assert_refused(send(api_server, "PUT", DEFAULTS, body, JSON_TYPE), 400, "limits[0].name")
    assert seeded.items() == before


PATHS = [
    ("/resources/a%23b/defaults", "resource name"),
    ("/resources/a%00b/defaults", "resource name"),
    ("/resources/a%20b/defaults", "resource name"),
    ("/resources/mod%C3%A8le/defaults", "resource name"),
    (f"/resources/{'x' * 65}/defaults", "resource name"),
    ("/resources/a%252Fb/defaults", "resource name"),  # double-encoded: decoded once only
    ("/resources/gpt-4%252F..%252Fother/defaults", "resource name"),
    ("/resources/../defaults", "resource name"),
    ("/resources/%2e%2e/defaults", "resource name"),
    ("/resources/..%2F..%2Fetc%2Fpasswd/defaults", "resource name"),
    ("/resources/%2Fgpt-4/defaults", "resource name"),  # '/' is allowed, but not first
    ("/resources/%/defaults", "resource name"),
    ("/resources/%ZZ/defaults", "resource name"),
    ("/resources/gpt-4%3Fconsistent%3Dtrue/defaults", "resource name"),
    ("/resources/a%0D%0AX-Injected:%201/defaults", "resource name"),
    ("/resources/gpt-4/../defaults", "no route"),
    ("/resources/gpt-4/defaults/", "no route"),
    ("/resources/gpt-4/defaults/extra", "no route"),
    ("/resources//defaults", "no route"),
]


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
@pytest.mark.parametrize(("path", "words"), PATHS)
def test_a_path_trick_is_refused_and_reaches_no_resource(
    api_server: LocalApiServer, seeded: Table, method: str, path: str, words: str
) -> None:
    before = seeded.items()
    body, headers = (VALID, JSON_TYPE) if method == "PUT" else (None, {})
    answer = send(api_server, method, path, body, headers)
    assert_refused(answer, None, words)
    assert "X-Injected" not in answer.headers
    assert seeded.items() == before


QUERIES = [
    "consistent=maybe",
    "consistent=",
    "consistent=1",
    "x=1",
    "consistent=true&x=1",
    "consistent=%00",
    "consistent=true%00",
    "consistent=true&consistent=false",
]


@pytest.mark.parametrize("query", QUERIES)
def test_a_hostile_list_query_is_refused(
    api_server: LocalApiServer, seeded: Table, query: str
) -> None:
    assert_refused(send(api_server, "GET", f"/resources?{query}"), 400)


@pytest.mark.parametrize(
    "if_match",
    [
        "garbage",
        '"7", "8"',  # a list matches when one of its ETags does; none of these does
        'W/"1"',  # If-Match compares strongly: a weak ETag never matches
        '"-1"',
        '"99999999999999999999999"',
        '"' + "9" * 5_000 + '"',
        '"0"',
    ],
)
@pytest.mark.parametrize("method", ["PUT", "DELETE"])
def test_a_hostile_if_match_is_a_412_and_changes_nothing(
    api_server: LocalApiServer, seeded: Table, method: str, if_match: str
) -> None:
    before = seeded.items()
    body = VALID if method == "PUT" else None
    answer = send(api_server, method, DEFAULTS, body, {**JSON_TYPE, "If-Match": if_match})
    assert_refused(answer, 412)
    assert seeded.items() == before


# The most limits a write holds on the suite's own (flat) tables.
MOST_LIMITS = layouts.FLAT.max_limits


def test_the_largest_valid_values_are_accepted(api_server: LocalApiServer, seeded: Table) -> None:
    """The refusals above are not over-broad: the limits of the contract itself are fine."""
    limits = [
        {
            "name": f"l{index:03}" + "x" * 60,
            "capacity": MAX_TOKENS,
            "refill_period_seconds": MAX_PERIOD_SECONDS,
        }
        for index in range(MOST_LIMITS)
    ]
    answer = send(
        api_server,
        "PUT",
        f"/resources/{'r' * 64}/defaults",
        json.dumps({"limits": limits}),
        JSON_TYPE,
    )
    assert answer.status == 200, answer.raw[:300]
    assert len(answer.json["limits"]) == MOST_LIMITS


def raw_exchange(server: LocalApiServer, request: bytes) -> bytes:
    """Send raw bytes, read the answer until the server closes the connection."""
    host, port = server.server_address[:2]
    with socket.create_connection((str(host), int(port)), timeout=30) as connection:
        connection.sendall(request)
        connection.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := connection.recv(65_536):
            answer += chunk
    return answer


def parse(answer: bytes) -> tuple[int, dict[str, str], Any]:
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    assert status_line.startswith("HTTP/1."), answer[:200]
    headers = dict(line.split(": ", 1) for line in header_lines)
    return int(status_line.split()[1]), headers, json.loads(body) if body else None


@pytest.mark.parametrize("method", ["HEAD", "OPTIONS", "TRACE", "CONNECT", "FOO"])
def test_a_method_the_api_does_not_serve_is_a_405_not_a_5xx(
    api_server: LocalApiServer, seeded: Table, method: str
) -> None:
    before = seeded.items()
    answer = raw_exchange(api_server, f"{method} {DEFAULTS} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    status, headers, body = parse(answer)
    assert status == 405
    assert headers["Allow"] == "PUT, GET, DELETE"
    if method != "HEAD":
        assert "no route" in body["message"]
    assert seeded.items() == before


@pytest.mark.parametrize(
    ("request_line", "status"),
    [
        (b"GET /resources/a b/defaults HTTP/1.1", 400),
        (b"GET /resources HTTP/2.0", 400),
        (b"GET /resources HTTP/x", 400),
        (b"GET /" + b"a" * 70_000 + b" HTTP/1.1", 414),
    ],
    ids=["space-in-path", "http-2", "bad-version", "huge-uri"],
)
def test_a_malformed_request_line_is_a_json_4xx(
    api_server: LocalApiServer, seeded: Table, request_line: bytes, status: int
) -> None:
    answer = parse(raw_exchange(api_server, request_line + b"\r\nHost: x\r\n\r\n"))
    assert answer[0] == status
    assert answer[2]["message"]


def test_too_many_headers_is_a_json_4xx(api_server: LocalApiServer, seeded: Table) -> None:
    headers = "".join(f"X-Flood-{index}: 1\r\n" for index in range(200))
    answer = raw_exchange(api_server, f"GET /resources HTTP/1.1\r\n{headers}\r\n".encode())
    status, _, body = parse(answer)
    assert status == 431 and body["message"]
