"""For every entity and resource, the effective view answers what zae-limiter itself resolves.

A property test against the real thing: zae-limiter 0.17.0 (namespaced) and 0.9.1 (composite)
write random configurations through their own API at all four levels: system defaults (with
``on_unavailable``), resource defaults, each entity's ``_default_`` and its config per resource;
plain, soft, scheduled, quota and windowed limits on 0.17, with ``disabled`` (``True``, ``False``,
``"bypass"``) and ``cascade`` at the three levels that carry them, set with the limits or alone
(``disable_entity``, ``bypass_entity``, ``set_entity_cascade``...), and entities with a parent
and a cascade flag. Then for every (entity, resource) pair, an entity and a resource with no
config anywhere among them, the service's ``GET .../effective`` must equal zae-limiter's own
``resolve_limits`` (the limits as stored, each limit's deciding level, ``on_unavailable``) and, on
0.17, ``resolve_access`` (disabled or bypass, the cascade policy, and the level of each); and its
``levels`` must show exactly the items written. 0.9.1 has resolve_limits and no access flags.

As in test_any_configuration_served.py, Hypothesis draws and this file judges: every check of
every example is recorded, nothing is shrunk, examples are derandomized. Each 0.17 configuration
lives in a namespace of its own; on 0.9.1 (one namespace) its names carry its number.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, Phase, given, settings
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
    TIMEZONES,
    Ledger,
    limit_of_0_9,
    limit_of_0_17,
)

pytestmark = pytest.mark.integration

EXAMPLES_PER_VERSION = 20
NAMESPACED, COMPOSITE = "0.17.0", "0.9.1"
# Configured at some levels, at random; the last of each never configured anywhere. (0.9.1 takes
# no ':' in a resource name.)
RESOURCES = {
    NAMESPACED: ("gpt-4", "openai/gpt-4o", "llama3:8b"),
    COMPOSITE: ("gpt-4", "openai/gpt-4o", "anthropic.claude-v2"),
}
UNCONFIGURED_RESOURCE = "mistral-7b"
PARENT = "team-a"
ENTITIES = (PARENT, "alice", "bob@example.com", "sk-proj-1a2b")
UNCONFIGURED_ENTITY = "nobody"
# Few names, so that levels share some and a level that wins hides the others' whole.
LIMIT_NAMES = ("rpm", "tpm", "rpd")
ON_UNAVAILABLE = (None, "allow", "block")
LEVELS = ("entity", "entity_default", "resource", "system")


@dataclass(frozen=True)
class Level:
    """One config item zae-limiter writes: its limits and, where the level carries them, flags.

    ``alone``: the flags are set with the methods that set nothing else (disable_entity,
    bypass_entity, enable_entity, set_entity_cascade) after the limits, not with them.
    """

    limits: tuple[dict[str, Any], ...]
    kinds: tuple[str, ...]
    disabled: bool | str | None = None
    cascade: bool | None = None
    alone: bool = False

    def flags(self) -> dict[str, Any]:
        flags: dict[str, Any] = {}
        if self.disabled is not None:
            flags["disabled"] = self.disabled
        if self.cascade is not None:
            flags["cascade"] = self.cascade
        return flags


@dataclass(frozen=True)
class Configuration:
    """A namespace's whole configuration, as zae-limiter is asked to write it."""

    system: Level | None
    on_unavailable: str | None
    resources: dict[str, Level]
    entity_defaults: dict[str, Level]
    entity_configs: dict[tuple[str, str], Level]
    # Each entity zae-limiter creates: its parent (or None) and its cascade flag.
    entities: dict[str, tuple[str | None, bool]]

    def describe(self, version: str) -> str:
        return (
            f"zae-limiter {version}: system {'set' if self.system else 'absent'}"
            f" (on_unavailable {self.on_unavailable!r}), resource defaults for "
            f"{sorted(self.resources)}, _default_ for {sorted(self.entity_defaults)}, entity "
            f"configs {sorted(self.entity_configs)}"
        )


@st.composite
def levels(draw: st.DrawFn, version: str, *, flags: bool, alone: bool = False) -> Level:
    """A config item of 0 to 3 limits; on 0.17 of any kind and, with ``flags``, flags."""
    names = draw(st.lists(st.sampled_from(LIMIT_NAMES), max_size=3, unique=True))
    if version == COMPOSITE:
        limits = tuple(draw(limit_of_0_9(name, fractions=False)) for name in names)
        return Level(limits, (PLAIN,) * len(limits))
    tz = draw(st.sampled_from(TIMEZONES))  # one time zone per item
    kinds = tuple(draw(st.sampled_from(KINDS)) for _ in names)
    limits = tuple(
        draw(limit_of_0_17(name, kind, tz, fractions=False))
        for name, kind in zip(names, kinds, strict=True)
    )
    if not flags:
        return Level(limits, kinds)
    return Level(
        limits,
        kinds,
        disabled=draw(st.sampled_from(DISABLED)),
        cascade=draw(st.sampled_from(CASCADE)),
        alone=alone and draw(st.booleans()),
    )


@st.composite
def configurations(draw: st.DrawFn, version: str) -> Configuration:
    flags = version == NAMESPACED
    maybe = partial(st.one_of, st.none())
    system = draw(maybe(levels(version, flags=False)))
    resources = {
        resource: level
        for resource in RESOURCES[version]
        if (level := draw(maybe(levels(version, flags=flags)))) is not None
    }
    entity_level = levels(version, flags=flags, alone=True)
    entity_defaults = {
        entity: level for entity in ENTITIES if (level := draw(maybe(entity_level))) is not None
    }
    entity_configs = {
        (entity, resource): level
        for entity in ENTITIES
        for resource in RESOURCES[version]
        if (level := draw(maybe(entity_level))) is not None
    }
    entities: dict[str, tuple[str | None, bool]] = {}
    for entity in ENTITIES:
        if draw(st.booleans()):
            parent = None if entity == PARENT else draw(st.sampled_from((None, PARENT)))
            entities[entity] = (parent, parent is not None and draw(st.booleans()))
    if entities and any(parent for parent, _ in entities.values()):
        entities.setdefault(PARENT, (None, False))
    return Configuration(
        system=system,
        on_unavailable=draw(st.sampled_from(ON_UNAVAILABLE)) if system else None,
        resources=resources,
        entity_defaults=entity_defaults,
        entity_configs=entity_configs,
        entities=entities,
    )


class Judge:
    """zae-limiter and the service over one table, and the checks of one example after another."""

    def __init__(self, limiter: ZaeLimiter, ledger: Ledger) -> None:
        self.limiter = limiter
        self.ledger = ledger
        self.serial = itertools.count()

    def prepare(self) -> None:
        """zae-limiter's table, opened; on 0.17 readers new enough for every limit kind and flag."""
        self.limiter.create_table()
        self.limiter.open()
        if self.limiter.namespaced:
            self.limiter.set_version_record("0.10.0", lambda_version="0.17.0")

    def judge(self, configuration: Configuration) -> None:
        serial = next(self.serial)
        if self.limiter.namespaced:
            namespace, suffix = f"effective-{serial}", ""
            self.limiter.register_namespace(namespace)
        else:
            namespace, suffix = "default", f"-{serial}"
        example = configuration.describe(self.limiter.version)
        self.write(configuration, namespace, suffix)
        pairs = [
            (entity, resource)
            for entity in (*ENTITIES, UNCONFIGURED_ENTITY)
            for resource in (*RESOURCES[self.limiter.version], UNCONFIGURED_RESOURCE)
        ]
        resolved = self.limiter.many(
            [
                self.limiter.request(
                    "resolve",
                    entity_id=entity + suffix,
                    resource=resource + suffix,
                    namespace=namespace,
                )
                for entity, resource in pairs
            ]
        )
        self.ledger.exercised["configurations"] += 1
        for (entity, resource), theirs in zip(pairs, resolved, strict=True):
            assert "error" not in theirs, f"zae-limiter could not resolve: {theirs}"
            written = written_levels(configuration, entity, resource)
            self.compare(
                entity + suffix,
                resource + suffix,
                namespace,
                theirs=theirs["result"],
                written=written,
                example=example,
            )

    def write(self, configuration: Configuration, namespace: str, suffix: str) -> None:
        """zae-limiter's own writes of the configuration, in one probe call."""
        request = partial(self.limiter.request, namespace=namespace)
        requests = [request("delete_system_defaults")]  # 0.9.1 has one system config for all
        if configuration.system is not None:
            requests.append(
                request(
                    "set_system_defaults",
                    limits=list(configuration.system.limits),
                    on_unavailable=configuration.on_unavailable,
                )
            )
        for resource, level in configuration.resources.items():
            requests.append(
                request(
                    "set_resource_defaults",
                    resource=resource + suffix,
                    limits=list(level.limits),
                    **level.flags(),
                )
            )
        for entity in sorted(configuration.entities, key=lambda name: name != PARENT):
            parent, cascade = configuration.entities[entity]
            requests.append(
                request(
                    "create_entity",
                    entity_id=entity + suffix,
                    parent_id=parent + suffix if parent else None,
                    cascade=cascade,
                )
            )
        entity_levels = [
            (entity, "_default_", level) for entity, level in configuration.entity_defaults.items()
        ]
        entity_levels += [
            (entity, resource + suffix, level)
            for (entity, resource), level in configuration.entity_configs.items()
        ]
        for entity, resource, level in entity_levels:
            requests += self.entity_requests(request, entity + suffix, resource, level)
        for answer in self.limiter.many(requests):
            # zae-limiter refusing a configuration is this test's bug, not the service's
            assert "error" not in answer, f"zae-limiter refused {configuration}: {answer}"

    @staticmethod
    def entity_requests(
        request: Callable[..., dict[str, Any]], entity: str, resource: str, level: Level
    ) -> list[dict[str, Any]]:
        if not level.alone:
            return [
                request(
                    "set_limits",
                    entity_id=entity,
                    resource=resource,
                    limits=list(level.limits),
                    **level.flags(),
                )
            ]
        # The flags through the operator's methods, which create a config item without limits
        # when there is none (scoped to no resource, they set the entity's _default_).
        scoped = None if resource == "_default_" else resource
        requests = []
        if level.limits:
            requests.append(
                request(
                    "set_limits", entity_id=entity, resource=resource, limits=list(level.limits)
                )
            )
        if level.disabled is not None:
            requests.append(
                request(
                    "set_entity_disabled", entity_id=entity, resource=scoped, value=level.disabled
                )
            )
        if level.cascade is not None:
            requests.append(
                request(
                    "set_entity_cascade", entity_id=entity, resource=scoped, cascade=level.cascade
                )
            )
        if not requests:  # nothing to set alone: an item without limits, as set_limits writes it
            requests.append(request("set_limits", entity_id=entity, resource=resource, limits=[]))
        return requests

    def compare(
        self,
        entity: str,
        resource: str,
        namespace: str,
        *,
        theirs: dict[str, Any],
        written: dict[str, bool],
        example: str,
    ) -> None:
        ledger = self.ledger
        where = f"{example}; pair ({entity}, {resource})"
        answer = self.explain(entity, resource, namespace)
        ledger.exercised["pairs"] += 1
        ledger.exercised[f"decided by {theirs['source']}"] += 1
        if not ledger.check(
            "the effective view answers 200",
            answer["statusCode"] == 200,
            where,
            lambda: f"{answer['statusCode']}: {answer['body'][:200]}",
        ):
            return
        ours = json.loads(answer["body"], parse_float=Decimal)
        ledger.check(
            "source is resolve_limits' config source",
            ours["source"] == theirs["source"],
            where,
            lambda: f"ours {ours['source']!r}, theirs {theirs['source']!r}",
        )
        ledger.check(
            "limits are resolve_limits' limits, as stored (numbers, soft, schedules, windows)",
            our_limits(ours) == their_limits(theirs),
            where,
            lambda: f"ours {our_limits(ours)}, theirs {their_limits(theirs)}",
        )
        ledger.check(
            "each limit's level is the deciding level",
            all(limit["level"] == theirs["source"] for limit in ours["limits"] or []),
            where,
            lambda: f"levels {[limit['level'] for limit in ours['limits']]}",
        )
        ledger.check(
            "on_unavailable is resolve_limits' on_unavailable",
            ours["on_unavailable"] == theirs["on_unavailable"],
            where,
            lambda: f"ours {ours['on_unavailable']!r}, theirs {theirs['on_unavailable']!r}",
        )
        ledger.check(
            "levels show exactly the config items written",
            {level: ours["levels"][level] is not None for level in LEVELS} == written,
            where,
            lambda: f"shown {ours['levels']}, written {written}",
        )
        ledger.exercised.update(f"{level} level present" for level, held in written.items() if held)
        ledger.exercised["limits compared"] += len(theirs["limits"] or [])
        ledger.exercised.update(
            f"{kind} limits compared" for kind in limit_kinds(theirs["limits"] or [])
        )
        access = theirs.get("access")
        if access is None:
            return
        disabled = "bypass" if access["bypass"] else access["disabled"]
        ledger.exercised[f"disabled {disabled!r} by {access['disabled_level']}"] += 1
        ledger.exercised[f"cascade {access['cascade']!r} by {access['cascade_level']}"] += 1
        ledger.check(
            "disabled and its level are resolve_access'",
            ours["disabled"] == {"value": disabled, "level": access["disabled_level"]},
            where,
            lambda: f"ours {ours['disabled']}, theirs {access}",
        )
        ledger.check(
            "cascade and its level are resolve_access'",
            ours["cascade"] == {"value": access["cascade"], "level": access["cascade_level"]},
            where,
            lambda: f"ours {ours['cascade']}, theirs {access}",
        )

    def explain(self, entity: str, resource: str, namespace: str) -> dict[str, Any]:
        prefix = "" if namespace == "default" else f"/namespaces/{quote(namespace, safe='')}"
        path = f"{prefix}/entities/{quote(entity, safe='')}/resources/{quote(resource, safe='')}"
        try:
            return api_call("GET", f"{path}/effective")
        except Exception as error:  # the handler itself must answer, never raise
            return {"statusCode": 599, "body": repr(error)}


def written_levels(configuration: Configuration, entity: str, resource: str) -> dict[str, bool]:
    """Which of the pair's four config items the configuration wrote."""
    return {
        "entity": (entity, resource) in configuration.entity_configs,
        "entity_default": entity in configuration.entity_defaults,
        "resource": resource in configuration.resources,
        "system": configuration.system is not None,
    }


def our_limits(answer: dict[str, Any]) -> list[dict[str, Any]] | None:
    """The view's limits in one comparable form."""
    if answer["limits"] is None:
        return None
    return sorted(
        (
            {
                **{f: limit.get(f) for f in ("name", "capacity", "burst", "refill_amount")},
                "refill_period_seconds": limit["refill_period_seconds"],
                "soft": limit.get("soft", False),
                "schedule": limit.get("schedule"),
                "reset_schedule": limit.get("reset_schedule"),
                "time_zone": limit.get("schedule_time_zone"),
                "reset_after_seconds": limit.get("reset_after_seconds"),
            }
            for limit in answer["limits"]
        ),
        key=lambda limit: str(limit["name"]),
    )


def their_limits(resolved: dict[str, Any]) -> list[dict[str, Any]] | None:
    """zae-limiter's resolved limits in the same form (burst where its Limit has one)."""
    if resolved["limits"] is None:
        return None
    return sorted(
        (
            {
                **{f: limit.get(f) for f in ("name", "capacity", "burst", "refill_amount")},
                "refill_period_seconds": limit["refill_period_seconds"],
                "soft": limit.get("soft", False),
                "schedule": limit.get("schedule_compact"),
                "reset_schedule": limit.get("reset_schedule_compact"),
                "time_zone": limit.get("schedule_tz"),
                "reset_after_seconds": limit.get("reset_after_seconds"),
            }
            for limit in resolved["limits"]
        ),
        key=lambda limit: str(limit["name"]),
    )


def limit_kinds(limits: list[dict[str, Any]]) -> Iterator[str]:
    for limit in limits:
        if limit.get("soft"):
            yield "soft"
        if "schedule" in limit:
            yield "scheduled"
        if "reset_schedule" in limit:
            yield "quota"
        if "reset_after_seconds" in limit:
            yield "windowed"


class EffectiveLedger(Ledger):
    def summary(self) -> str:
        counted = ", ".join(
            f"{n} {name}"
            for name, n in sorted(self.exercised.items())
            if name not in ("configurations", "pairs")
        )
        return (
            f"zae-limiter {self.version}: {self.exercised['configurations']} configurations, "
            f"{self.exercised['pairs']} (entity, resource) pairs compared ({counted}); "
            f"{self.checks.total()} checks of {len(self.checks)} properties"
        )


@pytest.mark.parametrize("version", [NAMESPACED, COMPOSITE])
def test_the_effective_view_is_zae_limiters_own_resolution(
    version: str,
    zae_limiter_factory: Callable[[str], ZaeLimiter],
    dynamodb_local: DynamoDBLocal,
    monkeypatch: pytest.MonkeyPatch,
    record_property: Callable[[str, object], None],
) -> None:
    limiter = zae_limiter_factory(version)
    ledger = EffectiveLedger(version)
    judge = Judge(limiter, ledger)

    @settings(
        max_examples=EXAMPLES_PER_VERSION,
        deadline=None,
        derandomize=True,
        database=None,
        # Nothing to shrink: failures are recorded, not raised (see the module's docstring).
        phases=(Phase.explicit, Phase.generate),
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(configurations(version))
    def each_configuration(configuration: Configuration) -> None:
        judge.judge(configuration)

    with limiter.running():
        judge.prepare()
        serve(limiter, dynamodb_local, monkeypatch)
        each_configuration()

    print(ledger.summary())
    record_property("compared", ledger.summary())
    assert ledger.exercised["pairs"] == 20 * EXAMPLES_PER_VERSION
    assert not ledger.failures, ledger.report()
