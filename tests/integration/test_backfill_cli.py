"""`make backfill` / `make verify` / `make prune`: the backfill's code over threads, here."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ReadTimeoutError

from devtools import backfill_cli
from devtools.scan_progress import BAR_WIDTH, ScanProgress
from resource_registry import service
from resource_registry.backfill.reconciler import RegistryReconciler
from resource_registry.backfill.summary import BackfillSummary
from resource_registry.model import Limit
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
    # 12 names: a count and the first 10.
    assert report["drift found: unregistered"] == (f"12: {', '.join(LEGACY[:10])}, ... (first 10)")
    assert report["drift found: registered_without_defaults"] == "-"
    assert report["verdict"] == (
        "drift: 12 resources have defaults but are not registered (run make backfill)"
    )
    assert local_table.registry() == set()

    assert backfill_cli.main(["backfill", "--segments", "3"]) == 0
    assert local_table.registry() == set(LEGACY)
    report = rows(capsys.readouterr().out)
    assert report["resources_found"] == str(len(LEGACY))
    # What the backfill found it repaired: nothing reads as drift remaining.
    assert report["drift left: unregistered"] == "-"
    assert report["verdict"] == "in sync: no drift left"

    assert backfill_cli.main(["verify", "--segments", "3"]) == 0
    assert rows(capsys.readouterr().out)["verdict"].startswith("in sync: the registry lists")


def test_after_a_backfill_the_verdict_points_at_prune_for_names_without_defaults(
    local_table: Table, capsys: pytest.CaptureFixture[str]
) -> None:
    write_legacy_limits(local_table, "legacy-model")
    local_table.store.set_defaults("gone", [Limit("rpm", 1, 1, 1, 60)])
    local_table.client.delete_item(
        TableName=local_table.name, Key={"PK": {"S": "RESOURCE#gone"}, "SK": {"S": "#LIMIT#rpm"}}
    )

    assert backfill_cli.main(["backfill", "--segments", "2"]) == 0
    report = rows(capsys.readouterr().out)
    assert report["added"] == "1: legacy-model"
    assert report["drift left: unregistered"] == "-"
    assert report["drift left: registered_without_defaults"] == "1: gone"
    assert report["verdict"] == "drift: 1 registered name has no defaults (run make prune)"

    assert backfill_cli.main(["prune"]) == 0
    assert rows(capsys.readouterr().out)["verdict"] == "in sync: no drift left"
    assert local_table.registry() == {"legacy-model"}


def test_progress_off_a_terminal_is_plain_lines_on_stderr(
    local_table: Table, capsys: pytest.CaptureFixture[str]
) -> None:
    write_noise(local_table, 20)
    assert backfill_cli.main(["verify", "--segments", "2"]) == 0
    err = capsys.readouterr().err
    assert "\r" not in err
    assert "\x1b[" not in err  # no terminal control sequences in a log
    assert err.splitlines()[-1] == "2/2 segments done, scanned 20 items, found 0 resources"


def test_a_missing_table_is_a_one_line_error(
    local_table: Table, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TABLE_NAME", "no-such-table")
    assert backfill_cli.main(["verify"]) == 1
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        "error: table no-such-table does not exist there: make run creates it, or set "
        "TABLE_NAME to an existing table"
    )


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("SEGMENTS=0", "error: SEGMENTS=0 is out of range: use a number from 1 to 256"),
        ("SEGMENTS=abc", "error: SEGMENTS='abc' is not a whole number: use one from 1 to 256"),
        (
            "TABLE_NAME=x",
            "error: TABLE_NAME='x' is not a DynamoDB table name: use 3 to 255 letters, digits, "
            "'_', '.' or '-' (or unset it for resource-registry)",
        ),
        (
            "TABLE_LAYOUT=bogus",
            "error: TABLE_LAYOUT='bogus' is not a layout: use flat, composite or namespaced, or "
            "unset it (a new table is namespaced, as zae-limiter 0.17.0 makes it)",
        ),
        (
            "AWS_ENDPOINT_URL_DYNAMODB=notaurl",
            "error: AWS_ENDPOINT_URL_DYNAMODB='notaurl' is not an http(s) URL (did you mean "
            "http://notaurl?): set it to DynamoDB's URL, e.g. http://127.0.0.1:8000 or "
            "https://dynamodb.eu-west-1.amazonaws.com, or unset it to use a DynamoDB Local",
        ),
        (
            "NAMESPACE=prod",  # the flat layout has one namespace
            "error: NAMESPACE='prod' is not an active namespace of table {table}: use one of "
            "default, or unset it for every namespace",
        ),
    ],
)
def test_a_bad_setting_is_a_one_line_error(
    local_table: Table,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    setting: str,
    message: str,
) -> None:
    name, value = setting.split("=", 1)
    monkeypatch.setenv(name, value)
    assert backfill_cli.main(["verify"]) == 1
    assert capsys.readouterr().err == message.format(table=local_table.name) + "\n"
    assert local_table.registry() == set()


class Terminal(io.StringIO):
    """What a terminal would show, written as to one."""

    def isatty(self) -> bool:
        return True


def test_progress_on_a_terminal_is_a_bar_of_segments_with_counts() -> None:
    screen = Terminal()
    with ScanProgress(2, screen) as progress:
        for segment in (0, 1):
            summary = BackfillSummary("verify", segment, 2, items_read=5 + segment)
            summary.of("default").resources_found.add(["a"] if segment else [])
            progress.page(summary)
            progress.run_done(summary)
    drawn = screen.getvalue()
    assert drawn.endswith("\n")
    final = drawn.rsplit("\r", 1)[-1]
    assert final.startswith(f"segments [{'#' * BAR_WIDTH}] 2/2  ")  # the bar, full
    assert "scanned 11 items, found 1 resource  0:0" in final


@pytest.fixture
def no_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No AWS credentials anywhere: not in the environment, not in ~/.aws, no instance role."""
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)  # it keeps the credentials it found


@pytest.mark.usefixtures("no_credentials")
def test_a_local_endpoint_needs_no_credentials(
    local_table: Table, capsys: pytest.CaptureFixture[str]
) -> None:
    assert backfill_cli.main(["verify"]) == 0
    assert rows(capsys.readouterr().out)["verdict"].startswith("in sync")


@pytest.mark.usefixtures("no_credentials")
def test_aws_without_credentials_is_a_one_line_error_naming_them(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", "https://dynamodb.eu-west-1.amazonaws.com")
    assert backfill_cli.main(["verify"]) == 1
    err = capsys.readouterr().err
    assert err.splitlines()[-1].startswith("error: no AWS credentials found: set AWS_PROFILE")
    assert "Traceback" not in err


def test_names_the_api_cannot_serve_are_named_in_the_verdict_and_fail_verify(
    local_table: Table, capsys: pytest.CaptureFixture[str]
) -> None:
    write_legacy_limits(local_table, "9lives")
    assert backfill_cli.main(["backfill"]) == 0
    capsys.readouterr()

    assert backfill_cli.main(["verify"]) == 1

    assert rows(capsys.readouterr().out)["verdict"] == (
        "drift: 1 resource with defaults has a name the API cannot serve: 9lives; "
        "rename or delete it"
    )
    assert local_table.registry() == set()


class Scans:
    """The batch client's Scans, counted; the one numbered ``fail_at`` times out."""

    def __init__(self, fail_at: int | None = None) -> None:
        self.count, self.fail_at = 0, fail_at
        service.batch_table().client.meta.events.register("before-call.dynamodb.Scan", self._scan)

    def _scan(self, **_: object) -> None:
        self.count += 1
        if self.count == self.fail_at:
            raise ReadTimeoutError(endpoint_url="http://dynamodb")

    def restart(self, fail_at: int | None = None) -> None:
        self.count, self.fail_at = 0, fail_at


def write_legacy_in_pages(local_table: Table, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every legacy resource's limits, without a registry, read two items a page."""
    for resource in LEGACY:
        write_legacy_limits(local_table, resource)
    monkeypatch.setattr(RegistryReconciler, "__init__", partial_pages(RegistryReconciler.__init__))


def stopped_run(mode: str, segments: int, capsys: pytest.CaptureFixture[str]) -> str:
    """Run ``mode``, which DynamoDB stops; the RESUME value it printed."""
    assert backfill_cli.main([mode, "--segments", str(segments)]) == 1
    error = capsys.readouterr().err
    assert "DynamoDB did not answer in time" in error
    resume = re.search(rf"make {mode} RESUME=(\S+)", error)
    assert resume is not None, error
    return resume.group(1)


def test_a_run_that_dynamodb_stops_prints_where_to_resume_and_resumes_there(
    local_table: Table, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a backfill whose second page of one segment DynamoDB never answers
    write_legacy_in_pages(local_table, monkeypatch)
    Scans(fail_at=3)

    # When it runs, then runs again from what it printed
    resume = stopped_run("backfill", 2, capsys)
    assert backfill_cli.main(["backfill", "--resume", resume]) == 0

    # Then the second run continued only what the first left, and the registry is whole
    assert "resuming 1 of them" in capsys.readouterr().err
    assert local_table.registry() == set(LEGACY)


def test_a_resumed_verify_reports_the_drift_the_stopped_run_found(
    local_table: Table, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given drift in every segment, and a verify whose third page DynamoDB never answers (so one
    # segment finishes, finding its drift, and the other stops)
    write_legacy_in_pages(local_table, monkeypatch)
    Scans(fail_at=3)
    resume = stopped_run("verify", 2, capsys)

    # When the verify resumes
    status = backfill_cli.main(["verify", "--resume", resume])

    # Then its verdict covers the whole table: every unregistered name, the finished segment's too
    assert status == 1
    report = rows(capsys.readouterr().out)
    assert report["drift found: unregistered"] == (f"12: {', '.join(LEGACY[:10])}, ... (first 10)")
    assert local_table.registry() == set()


def test_a_resumed_run_continues_from_its_last_checkpoint_not_from_the_start(
    local_table: Table, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given drift, pages of two items, a checkpoint after every page, and a count of the scans
    write_legacy_in_pages(local_table, monkeypatch)
    monkeypatch.setattr(backfill_cli, "CHECKPOINT_SECONDS", -1.0)
    scans = Scans()
    assert backfill_cli.main(["verify", "--segments", "1"]) == 1
    pages = scans.count
    assert pages > 4

    # When a verify stops at its fourth page, then resumes
    scans.restart(fail_at=4)
    resume = stopped_run("verify", 1, capsys)
    scans.restart()
    assert backfill_cli.main(["verify", "--resume", resume]) == 1

    # Then the resumed run read the pages from the one that failed on, and reports them all
    assert scans.count == pages - 3
    report = rows(capsys.readouterr().out)
    assert report["drift found: unregistered"] == (f"12: {', '.join(LEGACY[:10])}, ... (first 10)")


def test_a_resume_value_that_is_not_one_a_run_printed_is_a_one_line_error(
    local_table: Table, capsys: pytest.CaptureFixture[str]
) -> None:
    assert backfill_cli.main(["verify", "--resume", "bm90IGEgdG9rZW4="]) == 1
    assert capsys.readouterr().err == (
        "error: RESUME is not a value a run printed: copy it whole\n"
    )


def partial_pages(init: Any) -> Any:
    """The reconciler's constructor, reading two items a page (so a segment has many pages)."""

    def constructor(self: RegistryReconciler, table: Any, **options: Any) -> None:
        init(self, table, **{**options, "page_size": 2})

    return constructor


@pytest.mark.parametrize("value", ["257", "100000"])
def test_more_segments_than_a_machine_runs_is_a_one_line_error(
    local_table: Table, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    assert backfill_cli.main(["verify", "--segments", value]) == 1
    error = capsys.readouterr().err
    assert error.startswith(f"error: --segments {value}: use a number from 1 to 256")
    assert error.count("\n") == 1
