"""What `make backfill` / `verify` / `prune` print after a run: counts and a verdict in words."""

from __future__ import annotations

from typing import Any

import pytest

from devtools.backfill_cli import counted, verdict


def summary(mode: str, unregistered: int, registered_without_defaults: int) -> dict[str, Any]:
    return {
        "mode": mode,
        "unregistered": unregistered,
        "registered_without_defaults": registered_without_defaults,
        "sample": {"unregistered": [], "registered_without_defaults": []},
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
