"""The IAM fidelity plugin (tests/iam_fidelity.py) records handlers' requests and judges them."""

from __future__ import annotations

import pytest

from devtools.local_server import LocalContext
from handlers import handle_backfill, routes
from resource_registry import schema
from tests.conftest import Table, api_call
from tests.iam_fidelity import RECORDER, Access, Call, accesses, allowed, violations

REGISTRY_PARTITION = schema.SYSTEM_PARTITION


def test_a_handlers_requests_are_recorded_under_its_function(moto_table: Table) -> None:
    api_call("GET", "/resources")  # a cold start: the table's layout is read first
    start = len(RECORDER.calls)
    api_call("GET", "/resources")
    assert RECORDER.calls[start:] == [
        Call(
            routes.LIST_RESOURCES.function_id,
            "GetItem",
            (Access("dynamodb:GetItem", (REGISTRY_PARTITION,)),),
        )
    ]


def test_requests_outside_a_handler_are_not_recorded(moto_table: Table) -> None:
    start = len(RECORDER.calls)
    moto_table.client.get_item(TableName=moto_table.name, Key=schema.registry_key())
    assert RECORDER.calls[start:] == []


def test_the_backfill_is_recorded_as_the_backfill_function(moto_table: Table) -> None:
    start = len(RECORDER.calls)
    handle_backfill.handler({"mode": "verify"}, LocalContext("Backfill", "test-request"))
    made = RECORDER.calls[start:]
    assert made
    assert {call.function_id for call in made} == {routes.BACKFILL_FUNCTION_ID}
    assert "Scan" in {call.operation for call in made}


def test_a_transaction_needs_each_items_own_action() -> None:
    needed = accesses(
        "TransactWriteItems",
        {
            "TransactItems": [
                {"Put": {"TableName": "t", "Item": {"PK": {"S": "RESOURCE#a"}}}},
                {"Update": {"TableName": "t", "Key": {"PK": {"S": "SYSTEM#"}}}},
                {"ConditionCheck": {"TableName": "t", "Key": {"PK": {"S": "RESOURCE#b"}}}},
            ]
        },
    )
    assert needed == (
        Access("dynamodb:PutItem", ("RESOURCE#a",)),
        Access("dynamodb:UpdateItem", ("SYSTEM#",)),
        Access("dynamodb:ConditionCheckItem", ("RESOURCE#b",)),
    )


def test_a_query_needs_its_partition_key_and_index() -> None:
    (needed,) = accesses(
        "Query",
        {
            "KeyConditionExpression": "#pk = :pk AND begins_with(SK, :prefix)",
            "ExpressionAttributeNames": {"#pk": "PK"},
            "ExpressionAttributeValues": {":pk": {"S": "RESOURCE#a"}, ":prefix": {"S": "#"}},
        },
    )
    assert needed == Access("dynamodb:Query", ("RESOURCE#a",))
    (on_index,) = accesses("Query", {"IndexName": "GSI4", "KeyConditionExpression": "x = :x"})
    assert on_index == Access("dynamodb:Query", None, "GSI4")


@pytest.mark.parametrize(
    ("call", "refused"),
    [
        (Call("ListResources", "GetItem", (Access("dynamodb:GetItem", ("SYSTEM#",)),)), False),
        (Call("ListResources", "Scan", (Access("dynamodb:Scan", ()),)), True),
        (Call("GetDefaults", "PutItem", (Access("dynamodb:PutItem", ("RESOURCE#a",)),)), True),
        # The backfill may update the registry partition only.
        (Call("Backfill", "UpdateItem", (Access("dynamodb:UpdateItem", ("SYSTEM#",)),)), False),
        (Call("Backfill", "UpdateItem", (Access("dynamodb:UpdateItem", ("RESOURCE#a",)),)), True),
        (Call("Backfill", "UpdateItem", (Access("dynamodb:UpdateItem", None),)), True),
        # Nor a namespace's resource partition; but its registry partition, "{id}/SYSTEM#".
        (Call("Backfill", "UpdateItem", (Access("dynamodb:UpdateItem", ("n1/SYSTEM#",)),)), False),
        (
            Call("Backfill", "UpdateItem", (Access("dynamodb:UpdateItem", ("n1/RESOURCE#a",)),)),
            True,
        ),
        # The backfill may Query GSI4 (and no other index); no other role may read an index.
        (Call("Backfill", "Query", (Access("dynamodb:Query", None, "GSI4"),)), False),
        (Call("Backfill", "Query", (Access("dynamodb:Query", None, "GSI1"),)), True),
        (Call("GetDefaults", "Query", (Access("dynamodb:Query", None, "GSI4"),)), True),
        # A write reaches resource partitions, never a bucket's, whatever its resource's name.
        (Call("SetDefaults", "PutItem", (Access("dynamodb:PutItem", ("n1/RESOURCE#a",)),)), False),
        (
            Call(
                "SetDefaults",
                "PutItem",
                (Access("dynamodb:PutItem", ("n1/BUCKET#e#a/RESOURCE#0",)),),
            ),
            True,
        ),
        # The namespace partition is checked, never written.
        (
            Call(
                "SetDefaults",
                "TransactWriteItems",
                (Access("dynamodb:ConditionCheckItem", ("_/SYSTEM#",)),),
            ),
            False,
        ),
        (Call("SetDefaults", "UpdateItem", (Access("dynamodb:UpdateItem", ("_/SYSTEM#",)),)), True),
    ],
)
def test_requests_outside_the_role_are_violations(call: Call, refused: bool) -> None:
    assert bool(violations([call])) is refused


def statement(condition: dict[str, object]) -> list[dict[str, object]]:
    return [
        {"Effect": "Allow", "Action": "dynamodb:PutItem", "Resource": "T", "Condition": condition}
    ]


LIKE_A = {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["a*", "?/a*"]}}
NOT_LIKE_AB = {"ForAllValues:StringNotLike": {"dynamodb:LeadingKeys": ["*b*", "x"]}}


@pytest.mark.parametrize(
    ("condition", "keys", "holds"),
    [
        # StringLike: '*' any run (including '/' and '#'), '?' exactly one character.
        (LIKE_A, ("a",), True),
        (LIKE_A, ("n/a#/#",), True),
        (LIKE_A, ("nn/a",), False),
        (LIKE_A, ("A",), False),  # case-sensitive
        # ForAllValues: every key must pass; no key at all (a Scan) passes, as in IAM.
        (LIKE_A, ("a", "b"), False),
        (LIKE_A, (), True),
        (LIKE_A, None, False),  # keys that cannot be told: never rely on the condition
        # A negated operator: a key must match none of the values (NOR).
        (NOT_LIKE_AB, ("a",), True),
        (NOT_LIKE_AB, ("x",), False),
        (NOT_LIKE_AB, ("a", "ab"), False),
        (NOT_LIKE_AB, (), True),
        # Two operators: both must hold.
        ({**LIKE_A, **NOT_LIKE_AB}, ("a",), True),
        ({**LIKE_A, **NOT_LIKE_AB}, ("ab",), False),
        # What the plugin does not model never grants: other keys, policy variables.
        ({"ForAllValues:StringLike": {"dynamodb:Attributes": ["a"]}}, ("a",), False),
        ({"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["${aws:userid}"]}}, ("a",), False),
        ({"StringLike": {"dynamodb:LeadingKeys": ["a"]}}, ("a",), False),
    ],
)
def test_leading_keys_conditions_are_evaluated_as_iam_does(
    condition: dict[str, object], keys: tuple[str, ...] | None, holds: bool
) -> None:
    assert allowed(Access("dynamodb:PutItem", keys), statement(condition), "T") is holds
