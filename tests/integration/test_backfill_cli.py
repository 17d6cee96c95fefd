"""`make backfill` / `make verify` / `make prune`: the backfill's code over threads, here."""

from __future__ import annotations

import re

import pytest

from devtools import backfill_cli
from resource_registry.backfill import SAMPLE_SIZE
from tests.conftest import Table
from tests.integration.test_backfill import LEGACY, write_legacy_limits, write_noise

pytestmark = pytest.mark.integration


def rows(report: str) -> dict[str, str]:
    """The printed summary table, by row name."""
    return dict(re.split(r"\s{2,}", line.strip(), maxsplit=1) for line in report.splitlines())


def test_verify_fails_on_drift_backfill_repairs_it_and_verify_then_passes(
    local_table: Table, capsys: pytest.CaptureFixture[str]
) -> None:
    for resource in LEGACY:
        write_legacy_limits(local_table, resource)
    write_noise(local_table, 50)

    assert backfill_cli.main(["verify", "--segments", "3"]) == 1
    report = rows(capsys.readouterr().out)
    assert (report["drift"], report["unregistered"]) == (str(len(LEGACY)), str(len(LEGACY)))
    shown = LEGACY[:SAMPLE_SIZE]
    more = f" and {len(LEGACY) - len(shown)} more" if len(LEGACY) > len(shown) else ""
    assert report["unregistered (names)"] == ", ".join(shown) + more
    assert report["registered_without_defaults"] == "0"
    assert local_table.registry() == set()

    assert backfill_cli.main(["backfill", "--segments", "3"]) == 0
    assert local_table.registry() == set(LEGACY)
    assert rows(capsys.readouterr().out)["resources_found"] == str(len(LEGACY))

    assert backfill_cli.main(["verify", "--segments", "3"]) == 0


def test_a_missing_table_is_a_one_line_error(
    local_table: Table, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TABLE_NAME", "no-such-table")
    assert backfill_cli.main(["verify"]) == 1
    assert capsys.readouterr().err.strip().splitlines()[-1].startswith("error: ")
