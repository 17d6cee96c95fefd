"""Pytest plugin: every DynamoDB request a handler makes in any test must be one its role allows.

DynamoDB Local and moto do not enforce IAM, so a handler could call what its role in the stack
denies and every test would still pass. This plugin records, for each test, the DynamoDB requests
made while a handler module (any of handlers.routes') is on the calling thread's stack, or on the
stack that submitted the work to a thread pool (the healer reads and repairs in a pool), turns each
into the IAM actions DynamoDB authorises it by (a transaction per item, with the item's partition
key), and fails the test at teardown when the function's role in the synthesized template allows
one of them nowhere: by action, resource (the table or one index) and the statement's
``dynamodb:LeadingKeys`` conditions, evaluated on the partition keys touched as IAM evaluates them.
A new route or a new operation is covered without touching this file.
"""

from __future__ import annotations

import re
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from typing import Any

import pytest
from botocore import handlers as botocore_handlers

from handlers import routes
from resource_registry import schema

# The function id each handler module belongs to, from the one route table.
FUNCTION_OF_MODULE = {
    route.handler.rsplit(".", 1)[0]: route.function_id for route in routes.API_ROUTES
} | {
    routes.BACKFILL_HANDLER.rsplit(".", 1)[0]: routes.BACKFILL_FUNCTION_ID,
    routes.HEALER_HANDLER.rsplit(".", 1)[0]: routes.HEALER_FUNCTION_ID,
}
PARTITION_KEY = schema.table_key_definition()["KeySchema"][0]["AttributeName"]
# Each item of a transaction is authorised as the single-item action it performs.
TRANSACT_ITEM_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
    "Get": "GetItem",
}
EQUALITY = re.compile(r"(#?\w+)\s*=\s*(:\w+)")


@dataclass(frozen=True)
class Access:
    """One IAM authorisation a DynamoDB request needs."""

    action: str  # dynamodb:GetItem
    # Partition keys the request touches; None when it cannot be told (then no LeadingKeys
    # condition may be relied on); empty for a Scan, which has none.
    leading_keys: tuple[str, ...] | None
    index: str | None = None  # a Query or Scan of an index needs the index's ARN


@dataclass(frozen=True)
class Call:
    """A DynamoDB request made by a handler."""

    function_id: str
    operation: str
    accesses: tuple[Access, ...]


class Recorder:
    """Collects the DynamoDB requests handlers make; one per test process."""

    def __init__(self) -> None:
        self.calls: list[Call] = []

    def before_parameter_build(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        function_id = calling_function()
        if function_id is not None:
            self.calls.append(Call(function_id, model.name, accesses(model.name, params)))


# The function that submitted what a pool's thread is running: its stack is not that thread's.
SUBMITTED = threading.local()


def calling_function() -> str | None:
    """The function whose handler module is on this thread's stack (or on the stack that gave
    this thread its work), if any."""
    submitted: str | None = getattr(SUBMITTED, "function_id", None)
    if submitted is not None:
        return submitted
    frame = sys._getframe(1)
    while frame is not None:
        function_id = FUNCTION_OF_MODULE.get(frame.f_globals.get("__name__", ""))
        if function_id is not None:
            return function_id
        frame = frame.f_back  # type: ignore[assignment]
    return None


def accesses(operation: str, params: dict[str, Any]) -> tuple[Access, ...]:
    """The IAM authorisations DynamoDB checks for one request."""
    if operation in {"TransactWriteItems", "TransactGetItems"}:
        return tuple(
            Access(f"dynamodb:{TRANSACT_ITEM_ACTIONS[kind]}", _item_keys(request))
            for item in params["TransactItems"]
            for kind, request in item.items()
        )
    if operation == "BatchGetItem":
        return tuple(
            Access("dynamodb:BatchGetItem", _item_keys(key))
            for table in params["RequestItems"].values()
            for key in table["Keys"]
        )
    if operation == "BatchWriteItem":
        return tuple(
            Access("dynamodb:BatchWriteItem", _item_keys(request))
            for requests in params["RequestItems"].values()
            for write in requests
            for request in write.values()
        )
    if operation == "Query":
        return (Access("dynamodb:Query", _queried_keys(params), params.get("IndexName")),)
    if operation == "Scan":
        return (Access("dynamodb:Scan", (), params.get("IndexName")),)
    return (Access(f"dynamodb:{operation}", _item_keys(params)),)


def _item_keys(request: dict[str, Any]) -> tuple[str, ...] | None:
    key = request.get("Key") or request.get("Item") or request
    value = key.get(PARTITION_KEY, {}).get("S")
    return (value,) if value is not None else None


def _queried_keys(params: dict[str, Any]) -> tuple[str, ...] | None:
    if params.get("IndexName"):
        return None  # LeadingKeys is the table's partition key, not the index's
    names = params.get("ExpressionAttributeNames", {})
    values = params.get("ExpressionAttributeValues", {})
    for name, placeholder in EQUALITY.findall(params.get("KeyConditionExpression", "")):
        if names.get(name, name) == PARTITION_KEY:
            return (values[placeholder]["S"],)
    return None


# Role checking against the synthesized template.


@cache
def role_statements_by_function() -> tuple[dict[str, list[dict[str, Any]]], Any]:
    """Each function's role statements in the stack as `make synth` builds it, and the table ARN."""
    import tempfile
    from pathlib import Path

    from tests.infra.conftest import role_statements, synthesize, table_arn

    with tempfile.TemporaryDirectory() as outdir:
        synthesized = synthesize(Path(outdir))
    statements = {
        function_id: role_statements(synthesized, function_id)
        for function_id in set(FUNCTION_OF_MODULE.values())
    }
    return statements, table_arn(synthesized)


def allowed(access: Access, statements: list[dict[str, Any]], table: Any) -> bool:
    """Whether one Allow statement grants ``access`` (there are no Deny statements to weigh)."""
    wanted = "TABLE" if access.index is None else f"TABLE/index/{access.index}"
    for statement in statements:
        if statement["Effect"] != "Allow":
            continue
        actions = (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
        if access.action not in actions and "dynamodb:*" not in actions:
            continue
        resources = statement["Resource"]
        resources = resources if isinstance(resources, list) else [resources]
        if not any(_covers(_render(resource, table), wanted) for resource in resources):
            continue
        if _condition_holds(statement.get("Condition"), access):
            return True
    return False


def _render(resource: Any, table: Any) -> str:
    """A resource as text, the table's ARN written TABLE."""
    if resource == table:
        return "TABLE"
    if isinstance(resource, dict) and "Fn::Join" in resource:
        separator, parts = resource["Fn::Join"]
        return str(separator).join(_render(part, table) for part in parts)
    return resource if isinstance(resource, str) else repr(resource)


def _covers(pattern: str, wanted: str) -> bool:
    return re.fullmatch(re.escape(pattern).replace(r"\*", ".*"), wanted) is not None


def _string_like(pattern: str, value: str) -> bool:
    """IAM's StringLike: case-sensitive; '*' any run of characters, '/' and '#' too; '?' one."""
    expression = re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".")
    return re.fullmatch(expression, value, re.DOTALL) is not None


LEADING_KEYS = "dynamodb:LeadingKeys"
# The LeadingKeys operators modelled: how each compares a key with one permitted value, and
# whether it is negated (a key must then match none of the values, IAM's NOR, not any of them).
LEADING_KEYS_OPERATORS: dict[str, tuple[Callable[[str, str], bool], bool]] = {
    "ForAllValues:StringEquals": (str.__eq__, False),
    "ForAllValues:StringLike": (_string_like, False),
    "ForAllValues:StringNotEquals": (str.__eq__, True),
    "ForAllValues:StringNotLike": (_string_like, True),
}


def _condition_holds(condition: dict[str, Any] | None, access: Access) -> bool:
    """Whether a statement's condition holds for ``access``: all its operators (IAM ANDs them)."""
    if not condition:
        return True
    return all(_operator_holds(operator, keys, access) for operator, keys in condition.items())


def _operator_holds(operator: str, keys: dict[str, Any], access: Access) -> bool:
    """One operator's test of every partition key the access touches (ForAllValues: each one;
    none at all, as for a Scan, passes, as in IAM)."""
    if operator not in LEADING_KEYS_OPERATORS or set(keys) != {LEADING_KEYS}:
        return False  # a condition this plugin does not model: never rely on it
    if access.leading_keys is None:
        return False
    permitted = keys[LEADING_KEYS]
    permitted = permitted if isinstance(permitted, list) else [permitted]
    if any("${" in value for value in permitted):
        return False  # a policy variable: not modelled
    matches, negated = LEADING_KEYS_OPERATORS[operator]
    return all(
        any(matches(value, key) for value in permitted) is not negated
        for key in access.leading_keys
    )


def violations(calls: list[Call]) -> list[str]:
    """What the calls needed that their functions' roles do not allow."""
    if not calls:
        return []
    statements, table = role_statements_by_function()
    found = []
    for call in calls:
        for access in call.accesses:
            if not allowed(access, statements[call.function_id], table):
                found.append(
                    f"{call.function_id} called {call.operation}, which needs {access.action}"
                    f" (partition keys {access.leading_keys}, index {access.index}); its role"
                    " in the synthesized template does not allow that"
                )
    return sorted(set(found))


RECORDER = Recorder()
_submit = ThreadPoolExecutor.submit


def _submit_on_behalf(
    pool: ThreadPoolExecutor, fn: Callable[..., Any], /, *args: Any, **kwargs: Any
) -> Future[Any]:
    function_id = calling_function()

    def run() -> Any:
        SUBMITTED.function_id = function_id
        try:
            return fn(*args, **kwargs)
        finally:
            SUBMITTED.function_id = None

    return _submit(pool, run)


# A pool's work is charged to the function that submitted it (map submits too).
ThreadPoolExecutor.submit = _submit_on_behalf  # type: ignore[method-assign,assignment]
# Every botocore session made from now on calls the recorder; handlers' clients included.
botocore_handlers.BUILTIN_HANDLERS.append(
    ("before-parameter-build.dynamodb", RECORDER.before_parameter_build)
)


@pytest.fixture(autouse=True)
def dynamodb_calls_within_roles() -> Iterator[None]:
    """Fails the test when a handler made a DynamoDB request its role does not allow."""
    start = len(RECORDER.calls)
    yield
    made = RECORDER.calls[start:]
    del RECORDER.calls[start:]
    problems = violations(made)
    assert not problems, "\n".join(problems)
