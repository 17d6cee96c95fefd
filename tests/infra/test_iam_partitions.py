"""No function's role reaches zae-limiter's entity, bucket or namespace items, whatever the layout
(but the effective view's BatchGetItem of an entity's config items).

Each request below is one a handler bug or a stolen function credential could send. The IAM
fidelity plugin (tests/iam_fidelity.py) turns it into the authorisations DynamoDB checks (a
transaction: one per item, on that item's partition) and judges them against each function's role
in the synthesized template, evaluating the LeadingKeys conditions as IAM does.
"""

from __future__ import annotations

from hashlib import sha256
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from handlers import routes
from resource_registry import schema
from resource_registry.validation import RESOURCE_NAME_PATTERN
from tests.iam_fidelity import accesses, allowed, role_statements_by_function
from tests.infra.conftest import HANDLERS

# A namespace id as zae-limiter 0.10 and later make them (secrets.token_urlsafe(8)).
NSID = "aB3dE_6gH-9"
NAMESPACE_IDS = st.from_regex(r"[A-Za-z0-9_-]{11}", fullmatch=True)
# zae-limiter's partitions that are not this service's, as its releases key them (0.17.0's
# schema.pk_entity, pk_bucket, pk_audit; 0.6-0.9's unprefixed ENTITY# and AUDIT#).
NOT_OURS = {
    "an entity (namespaced)": f"{NSID}/ENTITY#user-1",
    "an entity (flat, composite)": "ENTITY#user-1",
    "a bucket": f"{NSID}/BUCKET#user-1#gpt-4#0",
    # Resource names may hold '/': without the guard on '#', "*/RESOURCE#*" would match these.
    "a bucket of resource 'openai/RESOURCE'": f"{NSID}/BUCKET#user-1#openai/RESOURCE#0",
    "a bucket of resource 'x/SYSTEM'": f"{NSID}/BUCKET#user-1#x/SYSTEM#3",
    "a bucket of resource 'x/AUDIT'": f"{NSID}/BUCKET#user-1#x/AUDIT#0",
    "a bucket of resource 'x/CHANGE_EVENTS'": f"{NSID}/BUCKET#user-1#x/CHANGE_EVENTS#0",
    "an entity's audit events (namespaced)": f"{NSID}/AUDIT#user-1",
    "an entity's audit events (flat, composite)": "AUDIT#user-1",
    "the system's audit events": f"{NSID}/AUDIT#$SYSTEM",
    "a partition that merely contains a resource key": "x/ENTITY#y/RESOURCE#z",
}
# Of those, the partitions only the bucket guard keeps from the resource patterns. The backfill,
# which may Scan the whole table, reads resource partitions without it (test_iam.py).
RESOURCE_LOOKALIKES = {
    "a bucket of resource 'openai/RESOURCE'",
    "a partition that merely contains a resource key",
}
# The effective view reads an entity's config items, in one BatchGetItem (docs/decisions/0013):
# that, and no other call, may reach an entity's partition (a condition sees partitions, not sort
# keys: on flat and composite tables an entity's buckets share it, read-only).
ENTITY_CONFIGS = {"an entity (namespaced)", "an entity (flat, composite)"}
READS = ("Get", "Query", "ConditionCheck")
WRITES = ("Put", "Update", "Delete", "ConditionCheck")
SINGLE_ITEM_CALLS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "Get": "GetItem",
}
# What each function must still be allowed: the denials below are not a role that allows nothing.
MUST_ALLOW = {
    routes.LIST_RESOURCES.function_id: ("Get", schema.system_pk(f"{NSID}/")),
    routes.LIST_NAMESPACES.function_id: ("Query", schema.namespace_pk()),
    routes.GET_DEFAULTS.function_id: ("Query", schema.resource_pk("openai/gpt-4", f"{NSID}/")),
    routes.GET_HISTORY.function_id: ("Query", schema.audit_pk("openai/gpt-4", f"{NSID}/")),
    routes.SET_DEFAULTS.function_id: ("Put", schema.resource_pk("openai/gpt-4", f"{NSID}/")),
    routes.DELETE_DEFAULTS.function_id: ("Delete", schema.resource_pk("openai/gpt-4")),
    routes.GET_EFFECTIVE_LIMITS.function_id: ("BatchGet", schema.entity_pk("user-1", f"{NSID}/")),
    routes.BACKFILL_FUNCTION_ID: ("Update", schema.system_pk(f"{NSID}/")),
    routes.HEALER_FUNCTION_ID: ("Update", schema.system_pk(f"{NSID}/")),
}
# The functions that check, in their transactions, that a namespace is still active.
CHECK_NAMESPACES = {
    routes.SET_DEFAULTS.function_id,
    routes.DELETE_DEFAULTS.function_id,
    routes.BACKFILL_FUNCTION_ID,
    routes.HEALER_FUNCTION_ID,
}


def key(partition: str) -> schema.Key:
    return {schema.PARTITION_KEY: {"S": partition}, schema.SORT_KEY: {"S": "#CONFIG"}}


def item_request(kind: str, partition: str) -> dict[str, Any]:
    """One item of a transaction, or the parameters of the single-item call."""
    if kind == "Put":
        return {"TableName": "t", "Item": key(partition)}
    return {"TableName": "t", "Key": key(partition)}


def requests(kind: str, partition: str) -> list[tuple[str, dict[str, Any]]]:
    """Every way to ``kind`` an item of ``partition``: the single-item call first, then in a
    transaction, then in a batch."""
    if kind == "BatchGet":
        return [("BatchGetItem", {"RequestItems": {"t": {"Keys": [key(partition)]}}})]
    if kind == "Query":
        query: dict[str, Any] = {
            "TableName": "t",
            "KeyConditionExpression": "#pk = :pk",
            "ExpressionAttributeNames": {"#pk": schema.PARTITION_KEY},
            "ExpressionAttributeValues": {":pk": {"S": partition}},
        }
        return [("Query", query)]
    transaction = "TransactGetItems" if kind == "Get" else "TransactWriteItems"
    found: list[tuple[str, dict[str, Any]]] = [
        (transaction, {"TransactItems": [{kind: item_request(kind, partition)}]})
    ]
    if kind in SINGLE_ITEM_CALLS:
        found.insert(0, (SINGLE_ITEM_CALLS[kind], item_request(kind, partition)))
    if kind == "Get":
        found.append(("BatchGetItem", {"RequestItems": {"t": {"Keys": [key(partition)]}}}))
    return found


def role_allows(function_id: str, operation: str, params: dict[str, Any]) -> bool:
    statements, table = role_statements_by_function()
    return all(
        allowed(access, statements[function_id], table) for access in accesses(operation, params)
    )


def test_every_function_is_checked() -> None:
    assert set(MUST_ALLOW) == set(HANDLERS)


@pytest.mark.parametrize("function_id", sorted(MUST_ALLOW))
def test_each_role_still_allows_what_its_function_does(function_id: str) -> None:
    kind, partition = MUST_ALLOW[function_id]
    operation, params = requests(kind, partition)[0]
    assert role_allows(function_id, operation, params), (function_id, operation, partition)


@pytest.mark.parametrize(
    ("function_id", "kind", "what"),
    [
        (function_id, kind, what)
        for function_id in sorted(HANDLERS)
        for kind in (*WRITES, "Get", "Query")
        for what in sorted(NOT_OURS)
        if not (
            function_id == routes.BACKFILL_FUNCTION_ID
            and kind in READS
            and what in RESOURCE_LOOKALIKES
        )
    ],
)
def test_no_role_reads_or_writes_partitions_not_the_services(
    function_id: str, kind: str, what: str
) -> None:
    for operation, params in requests(kind, NOT_OURS[what]):
        if (
            function_id == routes.GET_EFFECTIVE_LIMITS.function_id
            and operation == "BatchGetItem"
            and what in ENTITY_CONFIGS
        ):
            assert role_allows(function_id, operation, params), what
            continue
        assert not role_allows(function_id, operation, params), (function_id, operation, what)


def test_the_backfill_reads_the_partition_of_a_name_the_api_cannot_serve() -> None:
    # Given limits another program wrote under a name the naming rule refuses (it holds '#')
    for partition in (schema.resource_pk("a#b"), schema.resource_pk("a#b", f"{NSID}/")):
        # Then the backfill may read them, to count the name, and check them; never write them
        for kind in READS:
            (request, *_) = requests(kind, partition)
            assert role_allows(routes.BACKFILL_FUNCTION_ID, *request), (kind, partition)
        for kind in ("Put", "Update", "Delete"):
            for request in requests(kind, partition):
                assert not role_allows(routes.BACKFILL_FUNCTION_ID, *request), (kind, partition)


@pytest.mark.parametrize("function_id", sorted(HANDLERS))
def test_a_cold_start_reads_the_first_registered_name_whatever_it_holds(function_id: str) -> None:
    # On a flat or composite table without a version record, layout detection reads the config
    # item of the registry's first name, which another program may have written
    (request, *_) = requests("Get", schema.resource_pk("a#b"))
    assert role_allows(function_id, *request)


@pytest.mark.parametrize("function_id", sorted(HANDLERS))
@pytest.mark.parametrize("kind", ["Put", "Update", "Delete"])
def test_no_role_writes_the_namespace_partition(function_id: str, kind: str) -> None:
    # zae-limiter's namespace items and its version record live there.
    for operation, params in requests(kind, schema.namespace_pk()):
        assert not role_allows(function_id, operation, params), (function_id, operation)


@pytest.mark.parametrize("function_id", sorted(HANDLERS))
def test_only_transactional_writers_check_the_namespace_partition(function_id: str) -> None:
    (transaction,) = requests("ConditionCheck", schema.namespace_pk())
    assert role_allows(function_id, *transaction) is (function_id in CHECK_NAMESPACES)


@given(
    resource=st.from_regex(RESOURCE_NAME_PATTERN, fullmatch=True),
    namespace_id=NAMESPACE_IDS,
    namespaced=st.booleans(),
)
def test_a_write_reaches_every_partition_a_valid_name_has_in_every_layout(
    resource: str, namespace_id: str, namespaced: bool
) -> None:
    prefix = schema.namespace_prefix(namespace_id if namespaced else None)
    writes = {
        schema.resource_pk(resource, prefix): ("Put", "Update", "Delete"),
        schema.audit_pk(resource, prefix): ("Put",),
        schema.system_pk(prefix): ("Update",),
        schema.idempotency_key(sha256(resource.encode()).hexdigest(), prefix)[schema.PARTITION_KEY][
            "S"
        ]: ("Put",),
    }
    for partition, kinds in writes.items():
        # The bucket guard holds because none of ours has more than one '#'.
        assert partition.count("#") == 1, partition
        for kind in kinds:
            for request in requests(kind, partition):
                assert role_allows(routes.SET_DEFAULTS.function_id, *request), (kind, partition)


@given(
    resource=st.from_regex(RESOURCE_NAME_PATTERN, fullmatch=True),
    namespace_id=NAMESPACE_IDS,
    namespaced=st.booleans(),
)
def test_the_healer_reaches_what_it_heals_and_publishes_and_never_writes_a_limit(
    resource: str, namespace_id: str, namespaced: bool
) -> None:
    prefix = schema.namespace_prefix(namespace_id if namespaced else None)
    resources = schema.resource_pk(resource, prefix)
    marks = schema.published_key(resource, prefix)[schema.PARTITION_KEY]["S"]
    # It reads in batches: what one change concerns, in one BatchGetItem.
    reaches = {
        resources: ("BatchGet", "Query", "ConditionCheck"),
        schema.system_pk(prefix): ("BatchGet", "Update"),
        schema.audit_pk(resource, prefix): ("BatchGet",),
        marks: ("BatchGet", "Update"),
    }
    for partition, kinds in reaches.items():
        # The bucket guard holds because none of these has more than one '#'.
        assert partition.count("#") == 1, partition
        for kind in kinds:
            request = requests("Get", partition)[-1] if kind == "BatchGet" else None
            request = request or requests(kind, partition)[0]
            assert role_allows(routes.HEALER_FUNCTION_ID, *request), (kind, partition)
    for kind in ("Put", "Update", "Delete"):
        for request in requests(kind, resources):
            assert not role_allows(routes.HEALER_FUNCTION_ID, *request), (kind, resources)
