"""What `make backfill` / `verify` / `prune` print after a run: counts and a verdict in words."""

from __future__ import annotations

from typing import Any

import pytest

from devtools.backfill_report import counted, verdict


def summary(
    mode: str, unregistered: int, registered_without_defaults: int, unservable: int = 0
) -> dict[str, Any]:
    return {
        "mode": mode,
        "unregistered": unregistered,
        "registered_without_defaults": registered_without_defaults,
        "unservable": unservable,
        "sample": {
            "unregistered": [],
            "registered_without_defaults": [],
            "unservable": [f"{index}lives" for index in range(min(unservable, 10))],
        },
    }


@pytest.mark.parametrize(
    ("count", "words"), [(0, "0 items"), (1, "1 item"), (2, "2 items"), (1234, "1,234 items")]
)
def test_counts_agree_with_their_noun(count: int, words: str) -> None:
    assert counted(count, "item") == words


@pytest.mark.parametrize(
    ("unregistered", "registered_without_defaults", "line"),
    [
        (
            1,
            1,
            "drift: 1 resource has defaults but is not registered (run make backfill); "
            "1 registered name has no defaults (run make prune)",
        ),
        (
            2,
            1_500,
            "drift: 2 resources have defaults but are not registered (run make backfill); "
            "1,500 registered names have no defaults (run make prune)",
        ),
    ],
)
def test_the_verdict_of_verify_names_each_kind_of_drift_in_agreement(
    unregistered: int, registered_without_defaults: int, line: str
) -> None:
    assert verdict(summary("verify", unregistered, registered_without_defaults)) == (line, False)


def test_a_verify_without_drift_is_in_sync() -> None:
    assert verdict(summary("verify", 0, 0))[1] is True


@pytest.mark.parametrize(
    ("mode", "unservable", "line"),
    [
        (
            "backfill",
            1,
            "drift: 1 resource with defaults has a name the API cannot serve: 0lives; "
            "rename or delete it",
        ),
        (
            "prune",
            12,
            "drift: 12 resources with defaults have a name the API cannot serve: "
            "0lives, 1lives, 2lives, 3lives, 4lives, 5lives, 6lives, 7lives, 8lives, 9lives, ...; "
            "rename or delete them",
        ),
    ],
)
def test_names_the_api_cannot_serve_are_drift_no_mode_repairs(
    mode: str, unservable: int, line: str
) -> None:
    assert verdict(summary(mode, 0, 0, unservable)) == (line, False)
