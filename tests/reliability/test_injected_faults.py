"""Each DynamoDB call of each operation fails in turn, through the handlers, on DynamoDB Local.

A botocore 'before-send' hook answers for DynamoDB: a synthetic error response, a raised
transport error, or (LostResponse) the real request sent and then its answer dropped. Then:
retries are bounded (botocore's standard mode with total_max_attempts=3 sends each call at most 3
times; the store tries a write at most 8 times), the answer is the documented status, and the
table is in the old state or the new one, never between (full dumps compared).
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.exceptions import BotoCoreError, EndpointConnectionError, ReadTimeoutError
from botocore.httpsession import URLLib3Session
from botocore.retries.standard import ExponentialBackoff

from devtools.dynamodb_local import DynamoDBLocal
from devtools.layout_tables import create_layout_table
from resource_registry import schema, service
from resource_registry.clients import CLIENT_CONFIG, dynamodb_client
from resource_registry.model import Limit
from resource_registry.retry import RetryPolicy
from resource_registry.validation import parse_limits
from tests.conftest import Table, api_call

pytestmark = pytest.mark.integration

# botocore's total_max_attempts counts every send of one call, the first included.
BOTOCORE_SENDS = CLIENT_CONFIG.retries["total_max_attempts"]
STORE_ATTEMPTS = RetryPolicy().max_attempts  # tries per write
DEFAULTS = "/resources/gpt-4/defaults"
OLD = [Limit("rph", 1000, 1000, 1000, 3600), Limit("rpm", 100, 100, 100, 60)]
NEW = [
    {"name": "rpm", "capacity": 50, "refill_period_seconds": 60},
    {"name": "tpd", "capacity": 10_000, "refill_period_seconds": 86_400},
]
ERROR_TYPE = "com.amazonaws.dynamodb.v20120810#"


class _Body:
    def __init__(self, payload: bytes) -> None:
        self._payload = payload

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._payload


def dynamodb_error(status: int, code: str, **fields: Any) -> Callable[[AWSPreparedRequest], Any]:
    """A fault that answers the request with DynamoDB's JSON error body."""

    def answer(request: AWSPreparedRequest) -> AWSResponse:
        body = {"__type": ERROR_TYPE + code, "message": f"injected {code}", **fields}
        headers = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-RequestId": "fault"}
        return AWSResponse(request.url, status, headers, _Body(json.dumps(body).encode()))

    return answer


def cancelled(reason: str) -> Callable[[AWSPreparedRequest], Any]:
    """A TransactWriteItems cancelled for ``reason`` on its first action."""

    def answer(request: AWSPreparedRequest) -> AWSResponse:
        actions = len(json.loads(request.body)["TransactItems"])
        reasons = [{"Code": reason, "Message": "injected"}] + [{"Code": "None"}] * (actions - 1)
        codes = ", ".join(item["Code"] for item in reasons)
        fault = dynamodb_error(
            400,
            "TransactionCanceledException",
            Message=f"Transaction cancelled, please refer cancellation reasons for specific "
            f"reasons [{codes}]",
            CancellationReasons=reasons,
        )
        return fault(request)

    return answer


def raises(error: type[BotoCoreError]) -> Callable[[AWSPreparedRequest], Any]:
    def answer(request: AWSPreparedRequest) -> AWSResponse:
        raise error(endpoint_url=request.url)

    return answer


def lost_response(request: AWSPreparedRequest) -> AWSResponse:
    """The request reaches DynamoDB and is applied; its answer never comes back."""
    URLLib3Session().send(request)
    raise ReadTimeoutError(endpoint_url=request.url)


@dataclass(frozen=True)
class Fault:
    name: str
    answer: Callable[[AWSPreparedRequest], Any]
    botocore_retries: bool  # botocore resends the call itself
    store_retries: bool = False  # the store starts the write over from its read
    persistent_status: int = 503
    applied: bool = False  # the write reached DynamoDB before the fault


ANY_CALL = [
    Fault(
        "ProvisionedThroughputExceeded",
        dynamodb_error(400, "ProvisionedThroughputExceededException"),
        botocore_retries=True,
    ),
    Fault("Throttling", dynamodb_error(400, "ThrottlingException"), botocore_retries=True),
    Fault("InternalServerError", dynamodb_error(500, "InternalServerError"), botocore_retries=True),
    Fault("ReadTimeout", raises(ReadTimeoutError), botocore_retries=True),
    Fault("EndpointConnection", raises(EndpointConnectionError), botocore_retries=True),
]
TRANSACTION_ONLY = [
    Fault(
        "TransactionConflict",
        cancelled("TransactionConflict"),
        botocore_retries=False,
        store_retries=True,
        persistent_status=409,
    ),
    Fault(
        "CancelledForThrottling",
        cancelled("ThrottlingError"),
        botocore_retries=False,
        store_retries=True,
        persistent_status=503,
    ),
    Fault(
        "TransactionInProgress",
        dynamodb_error(400, "TransactionInProgressException"),
        botocore_retries=True,
        store_retries=True,
        persistent_status=409,
    ),
    Fault("LostResponse", lost_response, botocore_retries=True, applied=True),
]
OPERATIONS = {
    "set": ("PUT", 200),
    "delete": ("DELETE", 204),
    "get": ("GET", 200),
    "list": ("GET", 200),
}
COMPOSITE_CALLS = {  # one item per resource: a GetItem reads it whole
    "set": ["GetItem", "TransactWriteItems"],
    "delete": ["GetItem", "TransactWriteItems"],
    "get": ["GetItem"],
    "list": ["GetItem"],
}
CALLS = {  # layout: operation: the DynamoDB calls it makes, in order
    "flat": {
        "set": ["Query", "TransactWriteItems"],
        "delete": ["Query", "TransactWriteItems"],
        "get": ["Query", "GetItem"],
        "list": ["GetItem"],
    },
    "composite": COMPOSITE_CALLS,
    "namespaced": COMPOSITE_CALLS,
}


@dataclass(frozen=True)
class Case:
    layout: str  # flat, composite or namespaced
    operation: str  # set, delete, get or list
    call: str  # the DynamoDB operation that fails
    fault: Fault
    persistent: bool  # every send fails, or only the first

    @property
    def success(self) -> int:
        return OPERATIONS[self.operation][1]

    @property
    def calls(self) -> list[str]:
        return CALLS[self.layout][self.operation]


def cases() -> Iterator[Any]:
    for layout, operations in CALLS.items():
        for operation, calls in operations.items():
            for call in calls:
                faults = ANY_CALL + (TRANSACTION_ONLY if call == "TransactWriteItems" else [])
                for fault in faults:
                    for persistent in (False, True):
                        when = "always" if persistent else "once"
                        yield pytest.param(
                            Case(layout, operation, call, fault, persistent),
                            id=f"{layout}-{operation}-{call}-{fault.name}-{when}",
                        )


class FaultInjector:
    """Fails the sends of one DynamoDB operation (the first only, or all) and counts every send."""

    def __init__(self, client: Any, case: Case) -> None:
        self.sends: Counter[str] = Counter()
        self._case = case
        client.meta.events.register("before-send.dynamodb", self._before_send)

    def _before_send(self, request: AWSPreparedRequest, **_: Any) -> AWSResponse | None:
        operation = request.headers["X-Amz-Target"].decode().split(".")[-1]
        self.sends[operation] += 1
        if operation == self._case.call and (self._case.persistent or self.sends[operation] == 1):
            return self._case.fault.answer(request)
        return None


def expected_sends(case: Case) -> dict[str, int]:
    """How many times each DynamoDB call is sent: the bound the retries must keep to."""
    fault, persistent = case.fault, case.persistent
    calls = case.calls
    per_call = (BOTOCORE_SENDS if persistent else 2) if fault.botocore_retries else 1
    if fault.store_retries and (persistent or not fault.botocore_retries):
        # Each of the store's tries reads again, then sends the transaction (botocore resending it).
        tries = STORE_ATTEMPTS if persistent else 2
        return {calls[0]: tries, case.call: tries * per_call}
    index = calls.index(case.call)
    sends = dict.fromkeys(calls[:index], 1)
    sends[case.call] = per_call
    if not persistent:
        sends.update(dict.fromkeys(calls[index + 1 :], 1))
    return sends


@pytest.fixture(autouse=True)
def no_botocore_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore still retries, without waiting up to seconds between tries."""
    monkeypatch.setattr(ExponentialBackoff, "delay_amount", lambda self, context: 0.0)


def layout_table(dynamodb_local: DynamoDBLocal, layout: str) -> Table:
    """A fresh table of ``layout``, its store over the default namespace, seeded."""
    table = Table(dynamodb_local.client(), f"{layout}-{uuid.uuid4().hex[:12]}")
    create_layout_table(table.client, table.name, layout)
    table.store = service.store_over(table.client, table.name)
    table.store.set_defaults("gpt-4", OLD)
    table.store.set_defaults("claude-3", OLD[:1])
    return table


def state(table: Table) -> list[Any]:
    """A full dump, each audit event as its action alone and a write mark as its presence: event
    ids and times differ between two tables that went through the same changes, but how many
    events of which kind may not, nor which items carry a mark."""
    return [
        item[schema.ATTR_ACTION]["S"]
        if item[schema.SORT_KEY]["S"].startswith(schema.AUDIT_SORT_PREFIX)
        else {**item, **({schema.ATTR_WRITE_ID: "marked"} if schema.ATTR_WRITE_ID in item else {})}
        for item in table.items()
    ]


def new_state(dynamodb_local: DynamoDBLocal, case: Case, old: list[Any]) -> list[Any]:
    """The table after the operation succeeds without faults (on a table of its own)."""
    if case.operation not in ("set", "delete"):
        return old
    reference = layout_table(dynamodb_local, case.layout)
    try:
        if case.operation == "set":
            reference.store.set_defaults("gpt-4", parse_limits(NEW))
        else:
            reference.store.delete_defaults("gpt-4")
        return state(reference)
    finally:
        reference.client.delete_table(TableName=reference.name)


def request(operation: str) -> dict[str, Any]:
    method, _ = OPERATIONS[operation]
    if operation == "list":
        return api_call(method, "/resources", query="consistent=true")
    if operation == "set":
        return api_call(method, DEFAULTS, body={"limits": NEW})
    return api_call(method, DEFAULTS)


@pytest.mark.parametrize("case", list(cases()))
def test_a_failing_dynamodb_call_is_retried_within_bounds_and_answered_as_documented(
    dynamodb_local: DynamoDBLocal, monkeypatch: pytest.MonkeyPatch, case: Case
) -> None:
    table = layout_table(dynamodb_local, case.layout)
    monkeypatch.setenv("TABLE_NAME", table.name)
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", dynamodb_local.endpoint)
    old = state(table)
    new = new_state(dynamodb_local, case, old)
    unfaulted = request(case.operation)["json"] if case.operation in ("get", "list") else None
    # Read once per process, at a cold start, before any fault: the layout, the namespace, its
    # audit retention.
    service.audit_trail().retention_days(service.namespaces().resolve(schema.DEFAULT_NAMESPACE))
    injector = FaultInjector(dynamodb_client(), case)

    response = request(case.operation)

    status = case.fault.persistent_status if case.persistent else case.success
    assert response["statusCode"] == status, response["body"]
    assert dict(injector.sends) == expected_sends(case)
    assert state(table) == (new if case.fault.applied or not case.persistent else old)
    if status == 503:
        assert response["headers"]["Retry-After"].isdigit()
        assert response["json"]["code"] == "ServiceUnavailable"
    elif status == 409:
        assert response["json"]["code"] == "ConcurrentUpdate"
    elif unfaulted is not None:
        assert response["json"] == unfaulted
