"""Whatever configuration a released zae-limiter writes, the service reads, replaces and deletes.

A property test against the real thing: zae-limiter 0.17.0 (namespaced) and 0.9.1 (composite)
write random valid configurations through their own API, in their own virtualenvs: 0 to 200
limits, fractional numbers, and on 0.17 refill 0 (quotas), schedules, soft and windowed limits,
``disabled`` (``True``, ``False``, ``"bypass"``), ``cascade`` and a second namespace. Each is
written to two resources; then, through the service's handlers:

- GET of either answers 200 listing every stored limit with its numbers exactly as stored (burst
  too on 0.9.1), compared as decimals; an item without limits is no defaults (CONTRACT 1): GET and
  DELETE of it answer 404;
- GET /resources lists both;
- PUT of integer limits onto one answers 200 where every stored limit is one the API represents,
  after which zae-limiter reads back exactly the PUT limits and its own ``disabled`` and
  ``cascade`` unchanged; else 409 ``UnrepresentableLimit``, with the stored item unchanged;
- DELETE of the other answers 204, after which zae-limiter reads no defaults and neither registry
  lists it;
- no answer is a 5xx.

An example costs a second or so (zae-limiter's writes and reads on DynamoDB Local), so Hypothesis
is the generator and this file the judge: every check of every example is recorded, no example is
shrunk, and the test fails at the end naming each broken property with how often it broke and
its first example. The examples are derandomized, so every run (and CI) exercises the same ones.
"""

from __future__ import annotations

import itertools
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from devtools.dynamodb_local import DynamoDBLocal
from tests.conftest import api_call
from tests.interop.serving import serve
from tests.support.zae_limiter import ZaeLimiter
from tests.support.zae_limiter_configurations import (
    CASCADE,
    DISABLED,
    KINDS,
    PLAIN,
    QUOTA,
    SCHEDULED,
    SOFT,
    TIMEZONES,
    WINDOWED,
    is_fractional,
    limit_of_0_9,
    limit_of_0_17,
)
from tests.support.zae_limiter_configurations import Ledger as PropertyLedger

pytestmark = pytest.mark.integration

EXAMPLES_PER_LAYOUT = 20
NAMESPACED, COMPOSITE = "0.17.0", "0.9.1"
TENANT = "tenant-a"
MAX_LIMITS = 200
UNREPRESENTABLE = "UnrepresentableLimit"
ROUTE_OF = re.compile(r"/resources/[^/]+/")
NUMBER_FIELDS = ("capacity", "refill_amount", "refill_period_seconds")

# Stems chosen to trip a reader that parses attribute names (l_{name}_cp, w_{name}_cp) loosely.
LIMIT_STEMS = ("rpm", "tpm_", "l_", "w_", "x.cp-", "Tokens-", "a" * 61)
RESOURCE_STEMS = {
    NAMESPACED: ("openai/gpt-4", "anthropic.claude-v2:1", "llama3:8b", "Model_X"),
    COMPOSITE: ("openai/gpt-4", "anthropic.claude-v2", "gpt-4", "Model_X"),
}
PUT_NAMES = ("rpm", "tpm", "rpm0", "l_0", "requests.per-day")


@dataclass(frozen=True)
class Configuration:
    """What zae-limiter writes to two resources, and the integer limits PUT onto one of them."""

    resource: str
    namespace: str
    limits: tuple[dict[str, Any], ...]
    kinds: tuple[str, ...]
    disabled: bool | str | None
    cascade: bool | None
    put_limits: tuple[dict[str, Any], ...]

    @property
    def representable(self) -> bool:
        return all(kind == PLAIN for kind in self.kinds)

    def describe(self, version: str) -> str:
        fractional = sum(
            is_fractional(limit.get(f)) for limit in self.limits for f in number_fields()
        )
        kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(Counter(self.kinds).items()))
        flags = "" if version == COMPOSITE else f", disabled={self.disabled!r}"
        flags += "" if version == COMPOSITE else f", cascade={self.cascade!r}"
        return (
            f"zae-limiter {version}, namespace {self.namespace!r}: {len(self.limits)} limits "
            f"({kinds or 'none'}; {fractional} fractional numbers){flags}"
        )


def number_fields() -> tuple[str, ...]:
    return (*NUMBER_FIELDS, "burst")


@st.composite
def put_limits(draw: st.DrawFn, version: str) -> tuple[dict[str, Any], ...]:
    """Integer limits, as few as any layout's PUT accepts, some named as stored ones are."""
    names = draw(st.lists(st.sampled_from(PUT_NAMES), min_size=1, max_size=4, unique=True))
    limits = []
    for name in names:
        capacity = draw(st.integers(1, 10**9))
        limit = {
            "name": name,
            "capacity": capacity,
            "refill_amount": draw(st.integers(1, 10**9)),
            "refill_period_seconds": draw(st.integers(1, 86_400)),
        }
        if version == COMPOSITE and draw(st.booleans()):
            limit["burst"] = capacity + draw(st.integers(0, 10**6))
        limits.append(limit)
    return tuple(limits)


@st.composite
def configurations(draw: st.DrawFn, version: str) -> Configuration:
    count = draw(st.one_of(st.integers(0, 4), st.integers(5, 60), st.integers(61, MAX_LIMITS)))
    stem = draw(st.sampled_from(LIMIT_STEMS))
    names = [f"{stem}{index}" for index in range(count)]
    resource = draw(st.sampled_from(RESOURCE_STEMS[version]))
    # Half the configurations have integers only, so a large item meets the service without a
    # fraction in it too.
    fractions = draw(st.booleans())
    if version == COMPOSITE:
        return Configuration(
            resource=resource,
            namespace="default",
            limits=tuple(draw(limit_of_0_9(name, fractions)) for name in names),
            kinds=(PLAIN,) * count,
            disabled=None,
            cascade=None,
            put_limits=draw(put_limits(version)),
        )
    # Half the configurations hold only limits the API represents, so PUT has both outcomes.
    mixed = draw(st.booleans())
    kind = st.sampled_from((PLAIN, PLAIN, PLAIN, SOFT, SCHEDULED, QUOTA, WINDOWED))
    kinds = tuple(draw(kind) if mixed else PLAIN for _ in names)
    tz = draw(st.sampled_from(TIMEZONES))  # zae-limiter stores one timezone per item
    return Configuration(
        resource=resource,
        namespace=draw(st.sampled_from(("default", TENANT))),
        limits=tuple(
            draw(limit_of_0_17(name, kind, tz, fractions))
            for name, kind in zip(names, kinds, strict=True)
        ),
        kinds=kinds,
        disabled=draw(st.sampled_from(DISABLED)),
        cascade=draw(st.sampled_from(CASCADE)),
        put_limits=draw(put_limits(version)),
    )


def largest_fractional(version: str) -> Configuration:
    """The largest item a test must always meet: 200 limits, every number fractional."""
    limits: list[dict[str, Any]] = [
        {
            "name": f"rpm{index}",
            "capacity": 1.5 + index,
            "refill_amount": 0.25,
            "refill_period_seconds": 0.5,
        }
        for index in range(MAX_LIMITS)
    ]
    if version == COMPOSITE:
        limits = [{**limit, "burst": limit["capacity"] + 0.125} for limit in limits]
    rpm = {"name": "rpm", "capacity": 100, "refill_amount": 100, "refill_period_seconds": 60}
    return Configuration(
        resource="openai/gpt-4",
        namespace="default",
        limits=tuple(limits),
        kinds=(PLAIN,) * MAX_LIMITS,
        disabled="bypass" if version == NAMESPACED else None,
        cascade=False if version == NAMESPACED else None,
        put_limits=(rpm,),
    )


class Ledger(PropertyLedger):
    """The shared ledger, counting what each configuration exercised."""

    largest: int = 0

    def count(self, configuration: Configuration) -> None:
        limits = configuration.limits
        self.exercised["configurations"] += 1
        self.exercised["limits"] += len(limits)
        self.exercised.update(configuration.kinds)
        self.exercised["fractional numbers"] += sum(
            is_fractional(limit.get(f)) for limit in limits for f in number_fields()
        )
        self.exercised["with refill 0"] += sum(limit["refill_amount"] == 0 for limit in limits)
        # The sizes issue 19 found broken: 38+ limits on composite items, 50+ on namespaced ones.
        self.exercised["with 38 or more limits"] += len(limits) >= 38
        self.largest = max(self.largest, len(limits))
        self.exercised[f"in namespace {configuration.namespace}"] += 1
        self.exercised[f"disabled {configuration.disabled!r}"] += 1
        self.exercised[f"cascade {configuration.cascade!r}"] += 1

    def summary(self) -> str:
        def each(names: Iterable[str]) -> str:
            counted = [f"{self.exercised[name]} {name}" for name in names if self.exercised[name]]
            return ", ".join(counted) or "none"

        flags = [f"disabled {value!r}" for value in DISABLED]
        flags += [f"cascade {value!r}" for value in CASCADE]
        return (
            f"zae-limiter {self.version}: {self.exercised['configurations']} configurations "
            f"({each(['with 38 or more limits'])}, the largest {self.largest}; "
            f"{each(f'in namespace {name}' for name in ('default', TENANT))}"
            + (f"; {each(flags)}" if self.version == NAMESPACED else "")
            + f"), {self.exercised['limits']} limits ({each(KINDS)}; {each(['with refill 0'])}), "
            f"{self.exercised['fractional numbers']} fractional numbers; "
            f"{self.checks.total()} checks of {len(self.checks)} properties"
        )


class Judge:
    """The service over one zae-limiter table, and the checks of one example after another."""

    def __init__(self, limiter: ZaeLimiter, dynamodb_local: DynamoDBLocal, ledger: Ledger) -> None:
        self.limiter = limiter
        self.client = dynamodb_local.client()
        self.ledger = ledger
        self.namespace_ids: dict[str, str] = {}
        self.serial = itertools.count()

    def prepare(self) -> None:
        """zae-limiter's table, opened; on 0.17 readers new enough for every limit kind."""
        self.limiter.create_table()
        opened = self.limiter.open()
        self.namespace_ids["default"] = (opened or {}).get("namespace_id", "")
        if self.limiter.namespaced:
            # Soft limits, bypass, reset_after and cascade are each refused unless the version
            # record says the stack's Lambdas read them; DynamoDB Local has none to ask.
            self.limiter.set_version_record("0.10.0", lambda_version="0.17.0")
            self.namespace_ids[TENANT] = self.limiter.register_namespace(TENANT)

    def judge(self, configuration: Configuration) -> None:
        serial = next(self.serial)
        put_target = f"{configuration.resource}-p{serial}"
        delete_target = f"{configuration.resource}-d{serial}"
        has_defaults = bool(configuration.limits)
        example = configuration.describe(self.limiter.version)
        ledger, namespace = self.ledger, configuration.namespace
        ledger.count(configuration)
        self.write(configuration, [put_target, delete_target])

        # GET serves what zae-limiter stored, exactly
        for resource in (put_target, delete_target):
            got = self.api("GET", defaults_path(resource, namespace), example)
            if has_defaults:
                ledger.check(
                    "GET answers 200 with every stored limit, numbers exactly as stored",
                    got["statusCode"] == 200
                    and served_unlike_stored(got, configuration.limits) is None,
                    example,
                    partial(get_text, got, configuration.limits),
                )
            else:  # a config item without limits is no defaults (CONTRACT 1)
                ledger.check(
                    "GET of a config item without limits answers 404",
                    got["statusCode"] == 404,
                    example,
                    partial(answer_text, got),
                )
        if has_defaults:
            self.check_listed({put_target, delete_target}, set(), namespace, example)

        # PUT applies, or refuses to drop what the API cannot represent, changing nothing
        before = self.raw_config(put_target, namespace)
        body = {"limits": list(configuration.put_limits)}
        put = self.api("PUT", defaults_path(put_target, namespace), example, body)
        if configuration.representable:
            applied = ledger.check(
                "PUT answers 200 where every stored limit is one the API represents",
                put["statusCode"] == 200 and core(limits_of(put)) == core(configuration.put_limits),
                example,
                partial(answer_text, put),
            )
        else:
            applied = False
            ledger.check(
                "PUT answers 409 UnrepresentableLimit where a stored limit is soft, "
                "scheduled or windowed, and changes nothing",
                put["statusCode"] == 409
                and (put["json"] or {}).get("code") == UNREPRESENTABLE
                and self.raw_config(put_target, namespace) == before,
                example,
                partial(answer_text, put),
            )
        if applied:
            got = self.api("GET", defaults_path(put_target, namespace), example)
            ledger.check(
                "GET after a PUT answers the PUT limits",
                got["statusCode"] == 200 and core(limits_of(got)) == core(configuration.put_limits),
                example,
                partial(answer_text, got),
            )

        # DELETE applies
        deleted = self.api("DELETE", defaults_path(delete_target, namespace), example)
        gone = self.api("GET", defaults_path(delete_target, namespace), example)
        ledger.check(
            "DELETE answers 204 (404 without defaults) and the resource then has none",
            deleted["statusCode"] == (204 if has_defaults else 404) and gone["statusCode"] == 404,
            example,
            lambda: f"DELETE {answer_text(deleted)}; GET then {answer_text(gone)}",
        )
        # zae-limiter registers a resource even when it writes no limits: only the service's own
        # DELETE of defaults says it must be gone from the registry.
        self.check_listed(
            {put_target} if applied or has_defaults else set(),
            {delete_target} if has_defaults else set(),
            namespace,
            example,
        )
        self.check_zae_limiter_reads(configuration, put_target, delete_target, applied, example)

    def write(self, configuration: Configuration, resources: Iterable[str]) -> None:
        """zae-limiter's own write of the configuration to each resource, in one probe call."""
        flags: dict[str, Any] = {}
        if configuration.disabled is not None:
            flags["disabled"] = configuration.disabled
        if configuration.cascade is not None:
            flags["cascade"] = configuration.cascade
        requests = [
            self.limiter.request(
                "set_resource_defaults",
                resource=resource,
                limits=list(configuration.limits),
                namespace=configuration.namespace,
                **flags,
            )
            for resource in resources
        ]
        for answer in self.limiter.many(requests):
            # zae-limiter refusing a configuration is this test's bug, not the service's
            assert "error" not in answer, f"zae-limiter refused {configuration}: {answer}"

    def check_zae_limiter_reads(
        self,
        configuration: Configuration,
        put_target: str,
        delete_target: str,
        applied: bool,
        example: str,
    ) -> None:
        namespace, limiter = configuration.namespace, self.limiter
        requests = [
            limiter.request("get_resource_defaults", resource=delete_target, namespace=namespace),
            limiter.request("list_resources_with_defaults", namespace=namespace),
        ]
        if applied:
            requests.append(
                limiter.request("get_resource_defaults", resource=put_target, namespace=namespace)
            )
            if limiter.namespaced:
                requests += [
                    limiter.request(op, resource=put_target, namespace=namespace)
                    for op in ("get_resource_disabled", "get_resource_cascade")
                ]
        answers = limiter.many(requests)
        # As for GET /resources: a registry entry zae-limiter made for no limits may stay.
        registered = delete_target in answers[1].get("result", [delete_target])
        self.ledger.check(
            "after DELETE zae-limiter reads no defaults and its registry does not list it",
            answers[0] == {"result": []} and not (registered and configuration.limits),
            example,
            lambda: f"get_resource_defaults {answers[0]}; listed: {registered}",
        )
        if not applied:
            return
        expected = [zae_limiter_form(limit, limiter) for limit in configuration.put_limits]
        self.ledger.check(
            "after a PUT zae-limiter reads back exactly the PUT limits",
            by_name(answers[2].get("result", [])) == by_name(expected),
            example,
            lambda: f"read {answers[2]}, wrote {expected}",
        )
        if limiter.namespaced:
            self.ledger.check(
                "after a PUT zae-limiter's disabled and cascade are unchanged",
                answers[3:]
                == [{"result": configuration.disabled}, {"result": configuration.cascade}],
                example,
                lambda: f"disabled, cascade: {answers[3:]}",
            )

    def check_listed(
        self, listed: set[str], unlisted: set[str], namespace: str, example: str
    ) -> None:
        prefix = "" if namespace == "default" else f"/namespaces/{namespace}"
        answer = self.api("GET", f"{prefix}/resources", example)
        resources = set((answer["json"] or {}).get("resources", []))
        self.ledger.check(
            "GET /resources lists a resource while it has defaults, and only then",
            answer["statusCode"] == 200 and listed <= resources and not unlisted & resources,
            example,
            lambda: (
                f"{answer['statusCode']}; missing {sorted(listed - resources)}, "
                f"listed after DELETE {sorted(unlisted & resources)}"
            ),
        )

    def api(self, method: str, path: str, example: str, body: Any = None) -> dict[str, Any]:
        """One request to the service's handler; a 5xx, or an exception out of it, is recorded."""
        try:
            answer = api_call(method, path, body=body)
        except Exception as error:  # the handler itself must answer, never raise
            answer = {"statusCode": 599, "body": "", "json": None, "raised": repr(error)}
        self.ledger.check(
            "no answer is a 5xx",
            answer["statusCode"] < 500,
            example,
            lambda: f"{method} {ROUTE_OF.sub('/{resource}/', path)}: {answer_text(answer)}",
        )
        return answer

    def raw_config(self, resource: str, namespace: str) -> dict[str, Any] | None:
        """The config item itself, keyed as docs/contract.md section 1 says each layout keys it."""
        namespace_id = self.namespace_ids[namespace]
        prefix = f"{namespace_id}/" if self.limiter.namespaced else ""
        item: dict[str, Any] | None = self.client.get_item(
            TableName=self.limiter.table_name,
            Key={"PK": {"S": f"{prefix}RESOURCE#{resource}"}, "SK": {"S": "#CONFIG"}},
            ConsistentRead=True,
        ).get("Item")
        return item


def defaults_path(resource: str, namespace: str) -> str:
    prefix = "" if namespace == "default" else f"/namespaces/{quote(namespace, safe='')}"
    return f"{prefix}/resources/{quote(resource, safe='')}/defaults"


def served_unlike_stored(answer: dict[str, Any], stored: Iterable[dict[str, Any]]) -> str | None:
    """None when every stored limit is served once with its exact numbers; else the first gap."""
    served = limits_of(answer, parse_float=Decimal)
    by_served_name = {limit.get("name"): limit for limit in served}
    if len(by_served_name) != len(served):
        return "a limit is served twice"
    expected = {limit["name"]: limit for limit in stored}
    if by_served_name.keys() != expected.keys():
        missing, extra = expected.keys() - by_served_name.keys(), by_served_name.keys() - expected
        return f"{len(missing)} stored limits not served, {len(extra)} served that are not stored"
    for name, limit in expected.items():
        for number in (f for f in number_fields() if f in limit):
            value = by_served_name[name].get(number)
            if not is_number(value) or value != exact(limit[number]):
                return f"{name!r} {number} served as {value!r}, stored as {exact(limit[number])}"
    return None


def get_text(answer: dict[str, Any], stored: Iterable[dict[str, Any]]) -> str:
    if answer["statusCode"] != 200:
        return answer_text(answer)
    return f"200, but {served_unlike_stored(answer, stored)}"


def limits_of(answer: dict[str, Any], **parsing: Any) -> list[dict[str, Any]]:
    """The ``limits`` of an answer's body (numbers parsed as ``parsing`` says), or none."""
    try:
        limits = json.loads(answer.get("body") or "null", **parsing)["limits"]
    except (ValueError, TypeError, KeyError):
        return []
    return list(limits) if isinstance(limits, list) else []


def exact(value: int | float) -> Decimal:
    """The number zae-limiter stored for ``value``: str() of the int or float it was given."""
    return Decimal(str(value))


def is_number(value: Any) -> bool:
    return isinstance(value, int | Decimal) and not isinstance(value, bool)


def core(limits: Iterable[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """The fields every layout serves, in name order."""
    return sorted((limit["name"], *(limit[f] for f in NUMBER_FIELDS)) for limit in limits)


def by_name(limits: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(limits, key=lambda limit: str(limit["name"]))


def zae_limiter_form(limit: dict[str, Any], limiter: ZaeLimiter) -> dict[str, Any]:
    """A PUT limit as zae-limiter's Limit.to_dict gives it back (burst only where it has one)."""
    form = {"name": limit["name"], **{f: limit[f] for f in NUMBER_FIELDS}}
    if limiter.has_burst:
        form["burst"] = limit.get("burst", limit["capacity"])
    return form


def answer_text(answer: dict[str, Any]) -> str:
    if "raised" in answer:
        return f"raised {answer['raised']}"
    body = answer.get("json") or {}
    if answer["statusCode"] < 300 and "limits" in body:
        return f"{answer['statusCode']} with {len(body['limits'])} limits"
    detail = f" {body.get('code')}: {str(body.get('message', ''))[:160]}" if body else ""
    return f"{answer['statusCode']}{detail}"


@pytest.mark.parametrize("version", [NAMESPACED, COMPOSITE])
def test_whatever_zae_limiter_writes_is_read_replaced_and_deleted(
    version: str,
    zae_limiter_factory: Callable[[str], ZaeLimiter],
    dynamodb_local: DynamoDBLocal,
    monkeypatch: pytest.MonkeyPatch,
    record_property: Callable[[str, object], None],
) -> None:
    limiter = zae_limiter_factory(version)
    ledger = Ledger(version)
    judge = Judge(limiter, dynamodb_local, ledger)

    @settings(
        max_examples=EXAMPLES_PER_LAYOUT,
        deadline=None,
        derandomize=True,
        database=None,
        # Nothing to shrink: failures are recorded, not raised (see the module's docstring).
        phases=(Phase.explicit, Phase.generate),
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
        ],
    )
    @given(configurations(version))
    @example(largest_fractional(version))
    def each_configuration(configuration: Configuration) -> None:
        judge.judge(configuration)

    with limiter.running():
        judge.prepare()
        serve(limiter, dynamodb_local, monkeypatch)
        each_configuration()

    print(ledger.summary())
    record_property("exercised", ledger.summary())
    assert not ledger.failures, ledger.report()
