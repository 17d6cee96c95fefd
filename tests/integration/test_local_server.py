"""The local server: real HTTP to the same handlers, over DynamoDB Local; and `make run` itself."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devtools.dynamodb_local import NO_BROWSER_ORIGIN, ROOT, DynamoDBLocal, free_port, local_client
from devtools.environment import SettingError
from devtools.local_server import LOOPBACK, LocalApiServer
from devtools.run_local import prepare_table
from resource_registry import schema
from resource_registry.detection import detect_table
from tests.conftest import Table

pytestmark = pytest.mark.integration
HEAL_WAIT_SECONDS = 30
LIMITS = {"limits": [{"name": "rpm", "capacity": 100, "refill_period_seconds": 60}]}


def request(
    url: str, method: str = "GET", body: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], Any]:
    data = json.dumps(body).encode() if body is not None else None
    all_headers = {"Content-Type": "application/json"} if body is not None else {}
    all_headers.update(headers or {})
    outgoing = urllib.request.Request(url, data=data, method=method, headers=all_headers)
    try:
        with urllib.request.urlopen(outgoing, timeout=30) as response:
            raw = response.read()
            return response.status, dict(response.headers), json.loads(raw) if raw else None
    except urllib.error.HTTPError as error:
        raw = error.read()
        return error.code, dict(error.headers), json.loads(raw) if raw else None


@pytest.fixture
def server(local_table: Table) -> Iterator[str]:
    api = LocalApiServer(0, quiet=True)
    thread = threading.Thread(target=api.serve_forever, daemon=True)
    thread.start()
    yield api.url
    api.shutdown()
    api.server_close()


def test_a_curl_session_behaves_as_the_contract_says(server: str, local_table: Table) -> None:
    status, headers, body = request(f"{server}/resources/gpt-4/defaults", "PUT", LIMITS)
    etag = headers["ETag"]
    assert (status, etag[:3], body["resource"]) == (200, '"1-', "gpt-4")
    assert request(f"{server}/resources")[2] == {"resources": ["gpt-4"]}
    status, headers, body = request(f"{server}/resources/gpt-4/defaults")
    assert (status, headers["ETag"], body["limits"][0]["burst"]) == (200, etag, 100)
    keys = [(item["PK"]["S"], item["SK"]["S"]) for item in local_table.items()]
    # An audit event's sort key holds its ULID.
    layout = {(pk, "#AUDIT#{ulid}" if sk.startswith("#AUDIT#") else sk) for pk, sk in keys}
    assert layout == {
        ("RESOURCE#gpt-4", "#LIMIT#rpm"),
        ("RESOURCE#gpt-4", "#VERSION"),
        ("SYSTEM#", "#RESOURCES"),
        ("AUDIT#$RESOURCE:gpt-4", "#AUDIT#{ulid}"),  # the set's event, in zae-limiter's layout
    }
    assert request(f"{server}/resources/gpt-4/defaults", "DELETE")[0] == 204
    assert request(f"{server}/resources?consistent=true")[2] == {"resources": []}
    assert request(f"{server}/resources/gpt-4/defaults")[0] == 404


def test_unknown_paths_and_methods_are_json_4xx(server: str) -> None:
    status, _, body = request(f"{server}/nowhere")
    assert status == 404 and "no route" in body["message"]
    status, headers, body = request(f"{server}/resources", "POST", {})
    assert status == 405 and headers["Allow"] == "GET"


def raw_request(url: str, request_line: str, headers: bytes = b"", body: bytes = b"") -> Any:
    """Send one request exactly as written (no client library tidies it); its status and body."""
    port = int(url.rsplit(":", 1)[1])
    length = f"Content-Length: {len(body)}\r\n".encode() if body else b""
    with socket.create_connection((LOOPBACK, port), timeout=30) as connection:
        connection.sendall(
            request_line.encode()
            + b"\r\nHost: x\r\nConnection: close\r\n"
            + headers
            + length
            + b"\r\n"
            + body
        )
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    head, _, content = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(content)


@pytest.mark.parametrize("target", ["//resources", "//resources/gpt-4/defaults", "/resources//"])
def test_an_empty_path_segment_is_no_route(server: str, target: str) -> None:
    # API Gateway has no route with an empty segment; http.server would fold the leading '//'.
    assert request(f"{server}/resources/gpt-4/defaults", "PUT", LIMITS)[0] == 200
    assert raw_request(server, f"GET {target} HTTP/1.1") == (
        404,
        {"message": f"no route for GET {target}", "code": "NoRoute"},
    )


@pytest.mark.parametrize(
    "target", ["http://127.0.0.1/resources", "http://elsewhere/resources/gpt-4/defaults", "*"]
)
def test_a_request_target_that_is_not_a_path_is_400(server: str, target: str) -> None:
    status, body = raw_request(server, f"GET {target} HTTP/1.1")
    assert status == 400
    assert body == {
        "message": f"the request target {target!r} is not a path: send the path alone, "
        "e.g. GET /resources",
        "code": "InvalidInput",
    }


def test_an_unencoded_slash_in_a_name_is_no_route_with_a_hint(server: str) -> None:
    status, _, body = request(f"{server}/resources/openai/gpt-4/defaults")
    assert status == 404
    assert body == {
        "message": "no route for GET /resources/openai/gpt-4/defaults; a name holding '/' is "
        "one segment, with '/' written %2F: /resources/openai%2Fgpt-4/defaults",
        "code": "NoRoute",
    }


def test_a_header_beyond_ascii_is_read_as_utf8(server: str) -> None:
    # A placeholder ETag pasted from the docs, with a real ellipsis (UTF-8 on the wire)
    assert request(f"{server}/resources/gpt-4/defaults", "PUT", LIMITS)[0] == 200
    status, body = raw_request(
        server,
        "PUT /resources/gpt-4/defaults HTTP/1.1",
        'If-Match: "2-\u2026"\r\nContent-Type: application/json\r\n'.encode(),
        json.dumps(LIMITS).encode(),
    )
    assert status == 412
    assert body["message"].startswith("If-Match '\"2-\u2026\"' matches no ETag")


def test_the_server_listens_on_loopback_only(server: str) -> None:
    assert server.startswith(f"http://{LOOPBACK}:")


def wait_for(url: str, process: subprocess.Popen[str], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"make run exited early: {process.communicate()}")
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except OSError:
            time.sleep(0.3)
    raise AssertionError("make run did not start serving")


def start_run(port: int, dynamodb_port: int, data_dir: Path) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "PORT": str(port),
        "DYNAMODB_LOCAL_PORT": str(dynamodb_port),
        "LOCAL_DATA_DIR": str(data_dir),
        "TABLE_NAME": "resource-registry",
        "PYTHONPATH": os.pathsep.join(
            str(ROOT / part) for part in ("", "lambdas/layer/python", "lambdas")
        ),
    }
    env.pop("AWS_ENDPOINT_URL_DYNAMODB", None)
    return subprocess.Popen(
        [sys.executable, "-m", "devtools.run_local"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def stop_run(process: subprocess.Popen[str], how: signal.Signals = signal.SIGINT) -> None:
    process.send_signal(how)  # SIGINT is what Ctrl-C sends
    process.communicate(timeout=30)


def test_make_run_keeps_data_across_a_restart_and_stops_dynamodb_local(tmp_path: Path) -> None:
    port, dynamodb_port = free_port(), free_port()
    url = f"http://127.0.0.1:{port}"
    first = start_run(port, dynamodb_port, tmp_path)
    try:
        wait_for(f"{url}/resources", first)
        assert request(f"{url}/resources/gpt-4/defaults", "PUT", LIMITS)[0] == 200
    finally:
        stop_run(first)
    with socket.socket() as probe:  # Ctrl-C stopped the DynamoDB Local it started
        assert probe.connect_ex(("127.0.0.1", dynamodb_port)) != 0
    second = start_run(port, dynamodb_port, tmp_path)
    try:
        wait_for(f"{url}/resources", second)
        # The table it created is zae-limiter 0.17's, with a second namespace to try
        assert request(f"{url}/namespaces")[2] == {"namespaces": ["default", "prod"]}
        assert request(f"{url}/resources")[2] == {"resources": ["gpt-4"]}
        assert request(f"{url}/resources/gpt-4/defaults")[0] == 200
    finally:
        stop_run(second, signal.SIGTERM)
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", dynamodb_port)) != 0


def test_make_run_on_a_taken_port_is_a_one_line_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        process = start_run(taken.getsockname()[1], free_port(), tmp_path)
        _, stderr = process.communicate(timeout=60)
    assert process.returncode == 1
    assert stderr.strip().count("\n") == 0
    assert "is taken" in stderr


def child_pids(pid: int) -> list[int]:
    """The processes ``pid`` started (Linux /proc)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(child) for child in children]


def test_make_run_stops_with_one_line_when_its_dynamodb_local_dies(tmp_path: Path) -> None:
    port = free_port()
    process = start_run(port, free_port(), tmp_path)
    try:
        wait_for(f"http://127.0.0.1:{port}/resources", process)
        (java,) = child_pids(process.pid)
        arguments = Path(f"/proc/{java}/cmdline").read_text().split("\0")
        os.kill(java, signal.SIGKILL)
        _, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            stop_run(process)
    assert process.returncode == 1
    assert "Traceback" not in stderr
    assert stderr.strip().splitlines()[-1] == (  # after the request log
        "error: DynamoDB Local was killed by signal 9; the API stopped with it. "
        "Run make run again to restart both"
    )
    # The flags the tools start DynamoDB Local with: no telemetry, no browser access.
    assert "-disableTelemetry" in arguments
    assert arguments[arguments.index("-cors") + 1] == NO_BROWSER_ORIGIN


def run_local_once(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`make run`'s program with ``env`` (plus the import path), to its end."""
    parts = ("", "lambdas/layer/python", "lambdas")
    python_path = os.pathsep.join(str(ROOT / part) for part in parts)
    return subprocess.run(
        [sys.executable, "-m", "devtools.run_local"],
        cwd=ROOT,
        env={**env, "PYTHONPATH": python_path},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("setting", "advice"),
    [
        ("PORT=abc", "use one from 1 to 65535"),
        ("PORT=0", "use a number from 1 to 65535"),
        ("DYNAMODB_LOCAL_PORT=abc", "use one from 1 to 65535"),
        ("TABLE_LAYOUT=bogus", "use flat, composite or namespaced, or unset it"),
        ("TABLE_NAME=x", "use 3 to 255 letters, digits"),
        ("AWS_ENDPOINT_URL_DYNAMODB=notaurl", "set it to DynamoDB's URL"),
        ("AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:abc", "has port 'abc'"),
        ("AWS_ENDPOINT_URL_DYNAMODB=http://[::1", "has an unclosed '['"),
        ("AWS_PROFILE=no-such-profile", "is not a profile in your AWS config"),
    ],
)
@pytest.mark.parametrize("region", ["eu-west-1", None], ids=["region", "no region"])
def test_make_run_with_a_bad_setting_refuses_to_start_in_one_line(
    tmp_path: Path, setting: str, advice: str, region: str | None
) -> None:
    name, value = setting.split("=", 1)
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("AWS_ENDPOINT_URL_DYNAMODB", "AWS_REGION", "AWS_DEFAULT_REGION")
    }
    env |= {
        "PORT": str(free_port()),
        "LOCAL_DATA_DIR": str(tmp_path),
        "AWS_CONFIG_FILE": str(tmp_path / "config"),  # no profile region either
        name: value,
    }
    if region is not None:
        env["AWS_REGION"] = region
    done = run_local_once(env)
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith(f"error: {name}=")
    assert advice in done.stderr
    assert not (tmp_path / "shared-local-instance.db").exists()  # nothing started


def test_make_run_makes_the_older_layouts_on_request_and_keeps_a_tables_layout(
    dynamodb_local: DynamoDBLocal,
) -> None:
    client, name = dynamodb_local.client(), f"run-{uuid.uuid4().hex[:12]}"
    # TABLE_LAYOUT=flat for a new table: as zae-limiter 0.6.0 makes it, no namespaces
    assert prepare_table(client, name, "flat") == (
        f"table {name} created as zae-limiter 0.6.0's create_table makes it (flat layout)"
    )
    assert detect_table(client, name, None).layout.name == "flat"
    # An existing table keeps its layout: unset, it is found; another layout is refused
    assert prepare_table(client, name, None) == f"table {name} found (flat layout)"
    assert prepare_table(client, name, "flat") == f"table {name} found (flat layout)"
    with pytest.raises(SettingError) as refused:
        prepare_table(client, name, "namespaced")
    assert str(refused.value).startswith(
        f"TABLE_LAYOUT=namespaced chooses the layout of a new table, but table {name} exists "
        "with the flat layout: unset TABLE_LAYOUT"
    )
    composite = f"run-{uuid.uuid4().hex[:12]}"
    assert "0.9.1's create_table" in prepare_table(client, composite, "composite")
    assert detect_table(client, composite, None).layout.name == "composite"


def test_make_run_without_credentials_for_aws_says_so_in_one_line(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    env |= {
        "PORT": str(free_port()),
        "AWS_ENDPOINT_URL_DYNAMODB": "https://dynamodb.eu-west-1.amazonaws.com",
        "AWS_CONFIG_FILE": str(tmp_path / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    done = run_local_once(env)
    assert done.returncode == 1
    assert done.stderr.startswith("error: no AWS credentials found: set AWS_PROFILE")
    assert done.stderr.count("\n") == 1


def allowed_origin(endpoint: str, origin: str) -> str | None:
    """What DynamoDB Local's CORS preflight answer allows a page from ``origin``, if anything."""
    preflight = urllib.request.Request(
        endpoint,
        method="OPTIONS",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type,x-amz-target",
        },
    )
    with urllib.request.urlopen(preflight, timeout=10) as answer:
        allowed: str | None = answer.headers.get("Access-Control-Allow-Origin")
        return allowed


def test_dynamodb_local_allows_no_web_page_to_call_it(local_table: Table) -> None:
    endpoint = os.environ["AWS_ENDPOINT_URL_DYNAMODB"]
    assert allowed_origin(endpoint, "http://some-web-page.example") is None
    assert allowed_origin(endpoint, "http://127.0.0.1:3000") is None
    # CORS is on, for the one origin no page can have (.invalid is reserved).
    assert allowed_origin(endpoint, NO_BROWSER_ORIGIN) == NO_BROWSER_ORIGIN


def test_make_run_heals_an_interrupted_zae_limiter_write_and_writes_its_change_event(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given make run, and zae-limiter's set interrupted before its registry update (the config
    # item written straight into DynamoDB Local, as its PutItem does)
    events = tmp_path / "events.jsonl"
    monkeypatch.setenv("EVENTS_FILE", str(events))
    port, dynamodb_port = free_port(), free_port()
    url = f"http://127.0.0.1:{port}"
    process = start_run(port, dynamodb_port, tmp_path / "dynamodb")
    try:
        wait_for(f"{url}/resources", process)
        client = local_client(f"http://127.0.0.1:{dynamodb_port}")
        prefix = namespace_prefix(client)
        client.put_item(
            TableName="resource-registry",
            Item={
                **schema.config_key("gpt-4", prefix),
                "resource": {"S": "gpt-4"},
                "config_version": {"N": "1"},
                "l_rpm_cp": {"N": "100"},
                "l_rpm_ra": {"N": "100"},
                "l_rpm_rp": {"N": "60"},
            },
        )
        # When nobody runs backfill
        written = time.monotonic()
        # The goal is 2 s (make bench measures the lag); the bound here only ends a wait for a
        # healer that does not run, so a loaded machine cannot fail it.
        while request(f"{url}/resources?consistent=true")[2] != {"resources": ["gpt-4"]}:
            assert time.monotonic() - written < HEAL_WAIT_SECONDS, "not healed"
            time.sleep(0.1)
        healed_after = time.monotonic() - written
    finally:
        stop_run(process)
    # Then the registry lists it within seconds, and the change event is in the file
    print(f"healed after {healed_after:.2f} s")
    (line,) = events.read_text().splitlines()
    event = json.loads(line)
    assert (event["source"], event["detail-type"]) == (
        "resource-registry",
        "Resource defaults changed",
    )
    assert (event["detail"]["resource"], event["detail"]["writer"]) == ("gpt-4", "other")


def namespace_prefix(client: Any) -> str:
    """The key prefix of namespace default on make run's (namespaced) table."""
    item = client.get_item(
        TableName="resource-registry", Key=schema.namespace_key("default"), ConsistentRead=True
    )["Item"]
    return schema.namespace_prefix(item[schema.ATTR_NAMESPACE_ID]["S"])
