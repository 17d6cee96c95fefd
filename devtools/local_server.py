"""The HTTP API on a laptop: each request becomes an API Gateway REST proxy event for the very same
handler function that serves it in AWS. Binds to loopback only.
"""

from __future__ import annotations

import importlib
import json
import re
import threading
import uuid
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import ModuleType
from typing import Any
from urllib.parse import parse_qs, unquote

from handlers.error_codes import EdgeErrorCode
from handlers.routes import API_ROUTES, JSON_MEDIA_TYPE, Route, path_pattern, unencoded_slash_hint
from resource_registry.errors import ErrorCode

LOOPBACK = "127.0.0.1"
# API Gateway's own payload limit; the handlers refuse far smaller bodies themselves.
MAX_REQUEST_BYTES = 10 * 1024 * 1024
LOCAL_CALLER_ARN = "arn:aws:iam::000000000000:user/local-developer"
# Powertools keeps the event being resolved in class attributes (BaseRouter.current_event), and the
# Logger and Metrics are process-wide: like a Lambda execution environment, this process runs one
# invocation at a time, or concurrent requests read each other's events.
INVOCATION_LOCK = threading.Lock()


@dataclass(frozen=True)
class LocalContext:
    """The parts of the Lambda context that the handlers and Powertools read."""

    function_name: str
    aws_request_id: str
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:local:000000000000:function:local"
    log_group_name: str = "local"
    log_stream_name: str = "local"

    def get_remaining_time_in_millis(self) -> int:
        return 29_000  # API Gateway's integration timeout


class RouteTable:
    """Matches a method and a percent-encoded path to a route and its path parameters."""

    def __init__(self, routes: tuple[Route, ...] = API_ROUTES) -> None:
        self._routes = [(route, pattern) for route in routes for pattern in route.path_patterns]
        self._modules: dict[str, ModuleType] = {}

    def match(self, method: str, path: str) -> tuple[Route | None, dict[str, str], list[str]]:
        """The route, its decoded path parameters, and the methods the path allows."""
        allowed: list[str] = []
        for route, pattern in self._routes:
            found = pattern.fullmatch(path)
            if not found:
                continue
            allowed.append(route.method)
            if route.method == method:
                parameters = {name: unquote(value) for name, value in found.groupdict().items()}
                return route, parameters, allowed
        return None, {}, allowed

    def handler_of(self, route: Route) -> Any:
        if route.module not in self._modules:
            self._modules[route.module] = importlib.import_module(f"handlers.{route.module}")
        return self._modules[route.module].handler


def build_event(
    route: Route,
    raw_path: str,
    *,
    query: str = "",
    headers: list[tuple[str, str]] | None = None,
    body: str | None = None,
    path_parameters: dict[str, str] | None = None,
    source_ip: str = LOOPBACK,
) -> dict[str, Any]:
    """An API Gateway REST proxy event, as an IAM-authorised API Gateway would send it."""
    multi_headers: dict[str, list[str]] = {}
    for name, value in headers or []:
        multi_headers.setdefault(name, []).append(value)
    multi_query = parse_qs(query, keep_blank_values=True)
    request_id = str(uuid.uuid4())
    template = next(
        (path for path in route.paths if path_pattern(path).fullmatch(raw_path)), route.path
    )
    return {
        "resource": template,
        "path": raw_path,
        "httpMethod": route.method,
        "headers": {name: values[-1] for name, values in multi_headers.items()},
        "multiValueHeaders": multi_headers,
        "queryStringParameters": {k: v[-1] for k, v in multi_query.items()} or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": path_parameters or None,
        "stageVariables": None,
        "requestContext": {
            "requestId": request_id,
            "resourcePath": template,
            "httpMethod": route.method,
            "path": f"/local{raw_path}",
            "stage": "local",
            "accountId": "000000000000",
            "identity": {
                "sourceIp": source_ip,
                "caller": "local-developer",
                "userArn": LOCAL_CALLER_ARN,
                "accountId": "000000000000",
            },
        },
        "body": body,
        "isBase64Encoded": False,
    }


class ApiRequestHandler(BaseHTTPRequestHandler):
    """Turns each HTTP request into a handler call and the handler's answer into the response."""

    server: LocalApiServer
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own refusals, as JSON 4xx like every other: an unknown method goes to
        the route table (405 with Allow, or 404), a request line it cannot take is a 400."""
        if code == HTTPStatus.NOT_IMPLEMENTED and self.command:
            self._serve()
            return
        status = HTTPStatus(code) if code < 500 else HTTPStatus.BAD_REQUEST
        if self.request_version == "HTTP/0.9":  # what it assumes of a broken request line
            self.request_version = "HTTP/1.0"
        self.close_connection = True
        self._refuse(status, message or status.phrase)

    def log_message(self, format: str, *args: Any) -> None:
        if not self.server.quiet:
            super().log_message(format, *args)

    def _serve(self) -> None:
        # The target as sent: http.server turns a leading '//' into '/' in self.path.
        target = self.requestline.split()[1] if len(self.requestline.split()) > 1 else ""
        path, _, query = target.partition("?")
        route, parameters, allowed = self.server.routes.match(self.command, path)
        try:
            body = self._read_body()
        except _RefusedBodyError as refused:
            self.close_connection = True  # what is left of the body is not a request
            self._refuse(refused.status, str(refused))
            return
        if not path.startswith("/"):
            # An absolute URL (or '*') as the target: API Gateway serves paths only.
            self._refuse(
                HTTPStatus.BAD_REQUEST,
                f"the request target {target!r} is not a path: send the path alone, "
                "e.g. GET /resources",
            )
            return
        if route is None:
            status = HTTPStatus.METHOD_NOT_ALLOWED if allowed else HTTPStatus.NOT_FOUND
            headers = {"Allow": ", ".join(allowed)} if allowed else {}
            hint = "" if allowed else unencoded_slash_hint(path)
            self._refuse(status, f"no route for {self.command} {path}{hint}", headers)
            return
        event = build_event(
            route,
            path,
            query=query,
            headers=[(name, as_utf8(value)) for name, value in self.headers.items()],
            body=body,
            path_parameters=parameters,
            source_ip=self.client_address[0],
        )
        context = LocalContext(route.function_id, event["requestContext"]["requestId"])
        with INVOCATION_LOCK:
            answer = self.server.routes.handler_of(route)(event, context)
        headers = {name: str(value) for name, value in (answer.get("headers") or {}).items()}
        for name, values in (answer.get("multiValueHeaders") or {}).items():
            headers[name] = ", ".join(map(str, values))
        self._reply(HTTPStatus(answer["statusCode"]), headers, answer.get("body"))

    def _read_body(self) -> str | None:
        if "Transfer-Encoding" in self.headers:
            raise _RefusedBodyError(
                HTTPStatus.LENGTH_REQUIRED, "send the body with a Content-Length, not chunked"
            )
        length = self.headers.get("Content-Length")
        if length is None:
            return None
        if not re.fullmatch(r"[0-9]{1,12}", length.strip()):
            raise _RefusedBodyError(HTTPStatus.BAD_REQUEST, "Content-Length must be a number")
        size = int(length)
        if size > MAX_REQUEST_BYTES:
            raise _RefusedBodyError(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                f"the request body is too large: over {MAX_REQUEST_BYTES} bytes",
            )
        raw = self.rfile.read(size)
        return raw.decode("utf-8", errors="surrogateescape")

    def _refuse(
        self, status: HTTPStatus, message: str, headers: dict[str, str] | None = None
    ) -> None:
        """A refusal of the server's own, in the handlers' error shape."""
        code = REFUSAL_CODES.get(status, ErrorCode.INVALID_INPUT)
        self._reply(status, headers or {}, json.dumps({"message": message, "code": code}))

    def _reply(self, status: HTTPStatus, headers: dict[str, str], body: str | None) -> None:
        payload = (body or "").encode("utf-8", errors="surrogateescape")
        self.send_response(status)
        headers = {
            name: value for name, value in headers.items() if name.lower() != "content-length"
        }
        if payload and not any(name.lower() == "content-type" for name in headers):
            headers["Content-Type"] = JSON_MEDIA_TYPE
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)


def as_utf8(value: str) -> str:
    """A header value as API Gateway passes it on: its bytes read as UTF-8 (http.server reads
    them as Latin-1, which garbles any character beyond ASCII)."""
    return value.encode("latin-1").decode("utf-8", errors="replace")


class LocalApiServer(ThreadingHTTPServer):
    """A threaded HTTP server on loopback that serves the API routes through their handlers."""

    daemon_threads = True

    def __init__(self, port: int, quiet: bool = False) -> None:
        self.routes = RouteTable()
        self.quiet = quiet
        super().__init__((LOOPBACK, port), ApiRequestHandler)

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.server_address[1]}"


# The codes of the server's own refusals; any other (a request line or header http.server cannot
# take) is the client's bad input.
REFUSAL_CODES: dict[HTTPStatus, ErrorCode | EdgeErrorCode] = {
    HTTPStatus.NOT_FOUND: EdgeErrorCode.NO_ROUTE,
    HTTPStatus.METHOD_NOT_ALLOWED: EdgeErrorCode.METHOD_NOT_ALLOWED,
    HTTPStatus.LENGTH_REQUIRED: EdgeErrorCode.LENGTH_REQUIRED,
    HTTPStatus.REQUEST_ENTITY_TOO_LARGE: EdgeErrorCode.CONTENT_TOO_LARGE,
}


class _RefusedBodyError(Exception):
    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status
