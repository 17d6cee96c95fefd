"""HTTP over the standard library, signed per attempt, with bounded retries of answers that say
the same request may succeed later (409 with Retry-After, 429, 503), and, for a request that is
safe to send twice (a read, or a change with an Idempotency-Key), of a 5xx or of no answer."""

from __future__ import annotations

import email.utils
import http.client
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from resource_registry_client.errors import ApiError, TransportError, error_for
from resource_registry_client.signing import RequestSigner

USER_AGENT = "resource-registry-client/0.1"
IDEMPOTENCY_KEY_HEADER = "Idempotency-Key"
# Methods that change nothing: sent twice, they answer the same.
SAFE_METHODS = frozenset({"GET", "HEAD"})


@dataclass(frozen=True)
class Response:
    """An answer: status, headers with lower-case names, and the body."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to wait before giving up on a retryable answer.

    The API sends Retry-After with every retryable 409 and 503; without one (API Gateway's 429)
    the wait doubles from ``first_wait``. No single wait exceeds ``max_wait`` seconds.
    """

    attempts: int = 4
    first_wait: float = 0.5
    max_wait: float = 20.0
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)

    def wait_before(
        self, attempt: int, error: ApiError | TransportError, repeatable: bool = False
    ) -> float | None:
        """Seconds to wait before attempt ``attempt + 1``, or None to give up. A ``repeatable``
        request (one the API answers the same when sent twice) is also retried after any 5xx and
        after no answer at all."""
        if attempt >= self.attempts:
            return None
        if isinstance(error, TransportError):
            retryable = repeatable and error.answer_may_be_lost
        else:
            retryable = is_retryable(error) or (repeatable and error.status >= 500)
        if not retryable:
            return None
        wait = error.retry_after if isinstance(error, ApiError) else None
        if wait is None:
            wait = self.first_wait * 2 ** (attempt - 1)
        return min(max(wait, 0.0), self.max_wait)


def is_retryable(error: ApiError) -> bool:
    """503 and 429 always; 409 only with Retry-After, which the API leaves off a 409 that will
    not change by waiting (a full registry)."""
    if error.status in (HTTPStatus.SERVICE_UNAVAILABLE, HTTPStatus.TOO_MANY_REQUESTS):
        return True
    return error.status == HTTPStatus.CONFLICT and error.retry_after is not None


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Retry-After in seconds, from delta-seconds or an HTTP date; None if absent or unreadable."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - (time.time() if now is None else now))


class Transport:
    """Sends requests to one base URL, signing each attempt and retrying per the policy."""

    def __init__(
        self, signer: RequestSigner, retry: RetryPolicy | None = None, timeout: float = 30.0
    ) -> None:
        self.signer = signer
        self.retry = retry or RetryPolicy()
        self.timeout = timeout

    def send(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes | None
    ) -> Response:
        """The first 2xx or 304 answer, or the last error as a typed ApiError (TransportError
        when no answer came)."""
        repeatable = method in SAFE_METHODS or IDEMPOTENCY_KEY_HEADER in headers
        attempt = 1
        while True:
            error: ApiError | TransportError
            try:
                response = self._send_once(method, url, headers, body)
            except TransportError as unanswered:
                error = unanswered
            else:
                if response.status < 300 or response.status == HTTPStatus.NOT_MODIFIED:
                    return response
                error = to_error(response)
            wait = self.retry.wait_before(attempt, error, repeatable)
            if wait is None:
                raise error
            self.retry.sleep(wait)
            attempt += 1

    def _send_once(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes | None
    ) -> Response:
        # Signed per attempt: a signature is valid for a few minutes from its X-Amz-Date.
        signed = self.signer.sign(method, url, {"User-Agent": USER_AGENT, **headers}, body)
        request = urllib.request.Request(url, data=body, method=method, headers=signed)
        try:
            with _OPENER.open(request, timeout=self.timeout) as answer:
                return Response(answer.status, _lower(answer.headers.items()), answer.read())
        except urllib.error.HTTPError as answer:
            with answer:
                return Response(answer.code, _lower(answer.headers.items()), answer.read())
        except urllib.error.URLError as error:
            lost = isinstance(error.reason, TimeoutError | ConnectionResetError)
            raise TransportError(f"cannot reach {url}: {error.reason}", lost) from None
        except TimeoutError:
            raise TransportError(f"{url} did not answer within {self.timeout:g} s", True) from None
        except (ConnectionResetError, http.client.RemoteDisconnected) as error:
            raise TransportError(f"{url} closed the connection: {error}", True) from None
        except OSError as error:
            raise TransportError(f"cannot reach {url}: {error}") from None


def to_error(response: Response) -> ApiError:
    """The typed exception for an error answer, with the API's message and code."""
    message, code = _describe(response)
    retry_after = parse_retry_after(response.headers.get("retry-after"))
    return error_for(response.status, message, code, retry_after)


def _describe(response: Response) -> tuple[str, str | None]:
    try:
        body = json.loads(response.body)
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        code = body.get("code")
        return body["message"], code if isinstance(code, str) else None
    text = response.body.decode("utf-8", errors="replace").strip()[:200]
    if not text:
        try:
            text = HTTPStatus(response.status).phrase
        except ValueError:
            text = "no message"
    return text, None


def _lower(items: Any) -> dict[str, str]:
    return {name.lower(): value for name, value in items}


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect would re-send a signed request to a URL it was not signed for."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)
