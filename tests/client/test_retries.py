"""Retries: 409 and 503 answers that carry Retry-After are retried after that long, a bounded
number of times; answers that waiting will not change are not."""

from __future__ import annotations

import email.utils
import time

import pytest

from resource_registry_client import (
    ConflictError,
    NoSigner,
    RegistryClient,
    RetryPolicy,
    ServiceUnavailableError,
    parse_named,
)
from resource_registry_client.errors import TransportError
from resource_registry_client.transport import parse_retry_after
from tests.client.support import StubApi

BUSY = {"message": "concurrent writers kept winning", "code": "ConcurrentUpdate"}
DOWN = {"message": "DynamoDB throttled", "code": "ServiceUnavailable"}


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def client_of(stub: StubApi, sleeps: Sleeps, **policy: float) -> RegistryClient:
    retry = RetryPolicy(sleep=sleeps, **policy)  # type: ignore[arg-type]
    return RegistryClient(stub.url, signer=NoSigner(), retry=retry)


def test_a_409_with_retry_after_is_retried_after_that_long(stub_api: StubApi) -> None:
    stub_api.answer(409, BUSY, {"Retry-After": "2"})
    stub_api.answer(409, BUSY, {"Retry-After": "1"})
    stub_api.answer(200, {"resources": ["gpt-4"]})
    sleeps = Sleeps()
    assert client_of(stub_api, sleeps).list_resources() == ["gpt-4"]
    assert sleeps == [2.0, 1.0]
    assert len(stub_api.received) == 3


def test_a_503_is_retried_and_the_same_request_is_sent_again(stub_api: StubApi) -> None:
    stub_api.answer(503, DOWN, {"Retry-After": "1"})
    stub_api.answer(200, {"resource": "a", "limits": []}, {"ETag": '"2"'})
    sleeps = Sleeps()
    client = client_of(stub_api, sleeps)
    client.delete_defaults("a", if_match='"1"')
    first, second = stub_api.received
    assert sleeps == [1.0]
    assert (first.method, first.path, first.headers["If-Match"]) == (
        second.method,
        second.path,
        second.headers["If-Match"],
    )


def test_retries_are_bounded_and_the_last_error_is_raised(stub_api: StubApi) -> None:
    for _ in range(5):
        stub_api.answer(503, DOWN, {"Retry-After": "1"})
    sleeps = Sleeps()
    with pytest.raises(ServiceUnavailableError) as raised:
        client_of(stub_api, sleeps, attempts=3).list_resources()
    assert len(stub_api.received) == 3 and sleeps == [1.0, 1.0]
    assert (raised.value.code, raised.value.retry_after) == ("ServiceUnavailable", 1.0)


def test_a_long_retry_after_is_capped(stub_api: StubApi) -> None:
    stub_api.answer(503, DOWN, {"Retry-After": "3600"})
    sleeps = Sleeps()
    client_of(stub_api, sleeps, max_wait=5.0).list_resources()
    assert sleeps == [5.0]


def test_without_retry_after_a_503_backs_off_exponentially(stub_api: StubApi) -> None:
    stub_api.answer(503, DOWN)
    stub_api.answer(503, DOWN)
    sleeps = Sleeps()
    client_of(stub_api, sleeps, first_wait=0.25).list_resources()
    assert sleeps == [0.25, 0.5]


def test_a_full_registry_is_not_retried(stub_api: StubApi) -> None:
    # The API sends no Retry-After on a 409 that waiting cannot change.
    stub_api.answer(409, {"message": "registry full", "code": "RegistryFull"})
    sleeps = Sleeps()
    with pytest.raises(ConflictError) as raised:
        client_of(stub_api, sleeps).list_resources()
    assert raised.value.code == "RegistryFull"
    assert sleeps == [] and len(stub_api.received) == 1


def test_client_errors_are_not_retried(stub_api: StubApi) -> None:
    stub_api.answer(412, {"message": "stale", "code": "PreconditionFailed"}, {"Retry-After": "1"})
    sleeps = Sleeps()
    with pytest.raises(Exception, match="412"):
        client_of(stub_api, sleeps).get_defaults("a")
    assert sleeps == []


def test_retry_after_may_be_an_http_date() -> None:
    now = time.time()
    assert parse_retry_after(email.utils.formatdate(now + 30, usegmt=True), now) == pytest.approx(
        30, abs=1
    )
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_the_default_policy_really_waits(stub_api: StubApi) -> None:
    stub_api.answer(503, DOWN, {"Retry-After": "1"})
    started = time.monotonic()
    RegistryClient(stub_api.url, signer=NoSigner()).list_resources()
    assert time.monotonic() - started >= 1.0


DEFAULTS = {
    "resource": "a",
    "limits": [{"name": "rpm", "capacity": 1, "refill_amount": 1, "refill_period_seconds": 1}],
}
BROKEN = {"message": "internal error", "code": "InternalError"}


def test_each_change_carries_its_own_idempotency_key_and_every_retry_the_same(
    stub_api: StubApi,
) -> None:
    # Given a change whose first answer is lost and whose second is a 503
    stub_api.hang_up()
    stub_api.answer(503, DOWN, {"Retry-After": "1"})
    stub_api.answer(200, DEFAULTS, {"ETag": '"2-0123456789ab"'})
    stub_api.answer(204)
    sleeps = Sleeps()
    client = client_of(stub_api, sleeps)
    # When it is made, and then another change
    client.set_defaults("a", [parse_named("rpm=1/1s")])
    client.delete_defaults("a")
    # Then its three attempts sent one key, and the other change another
    keys = [request.headers["Idempotency-Key"] for request in stub_api.received]
    assert len(keys) == 4
    assert keys[0] == keys[1] == keys[2] != keys[3]


def test_a_5xx_is_retried_for_a_keyed_change_and_a_read_but_not_for_a_plain_request(
    stub_api: StubApi,
) -> None:
    stub_api.answer(500, BROKEN)
    stub_api.answer(204)
    sleeps = Sleeps()
    client = client_of(stub_api, sleeps)
    client.delete_defaults("a", idempotency_key="k-1")
    assert [r.headers["Idempotency-Key"] for r in stub_api.received] == ["k-1", "k-1"]
    stub_api.answer(502, BROKEN)
    stub_api.answer(200, {"resources": ["a"]})
    assert client.list_resources() == ["a"]


def test_a_refused_connection_is_not_retried() -> None:
    sleeps = Sleeps()
    client = RegistryClient(
        "http://127.0.0.1:9", signer=NoSigner(), retry=RetryPolicy(sleep=sleeps)
    )
    with pytest.raises(TransportError, match="cannot reach"):
        client.delete_defaults("a")  # port 9 (discard) is closed here: nothing to answer
    assert sleeps == []
