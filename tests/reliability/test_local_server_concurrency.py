"""Concurrent requests to the local server: each is answered for itself.

Powertools keeps the event being resolved in a class attribute (BaseRouter.current_event), shared by
every resolver in the process, so two handler invocations at once read each other's events. Lambda
runs one invocation per execution environment at a time; the local server must do the same.
"""

from __future__ import annotations

import contextlib
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from devtools.local_server import LocalApiServer
from handlers import handle_set_defaults, request_parsing
from tests.conftest import Table
from tests.reliability.conftest import HttpAnswer, send

pytestmark = pytest.mark.integration


def test_two_requests_in_flight_at_once_are_each_answered_and_applied_for_themselves(
    api_server: LocalApiServer, local_table: Table, monkeypatch: pytest.MonkeyPatch
) -> None:
    # If the server lets two invocations run at once, they meet here, inside the handler.
    meet = threading.Barrier(2, timeout=1)
    resource_parameter = request_parsing.resource_parameter

    def rendezvous(event: Any) -> str:
        with contextlib.suppress(threading.BrokenBarrierError):
            meet.wait()
        return resource_parameter(event)

    monkeypatch.setattr(handle_set_defaults, "resource_parameter", rendezvous)

    def put_own_limits(resource: str) -> HttpAnswer:
        body = {"limits": [{"name": f"own-{resource}", "capacity": 5, "refill_period_seconds": 1}]}
        path = f"/resources/{resource}/defaults"
        return send(api_server, "PUT", path, json.dumps(body), {"Content-Type": "application/json"})

    with ThreadPoolExecutor(2) as pool:
        answers = dict(zip(["one", "two"], pool.map(put_own_limits, ["one", "two"]), strict=True))

    for resource, answer in answers.items():
        assert answer.status == 200, answer.raw
        assert answer.json["resource"] == resource
        assert [limit["name"] for limit in answer.json["limits"]] == [f"own-{resource}"]
        stored = local_table.store.get_defaults(resource).limits
        assert [limit.name for limit in stored] == [f"own-{resource}"]
