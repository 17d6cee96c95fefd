"""The resource-registry command against the local server on DynamoDB Local: plan, apply and
export round trips, a change made between plan and apply, bad files and exit statuses."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from resource_registry_client import NoSigner, RegistryClient, parse_named
from resource_registry_client.cli import run

pytestmark = pytest.mark.integration
SCRIPT = Path(sys.executable).parent / "resource-registry"

FILE = """\
namespaces:
  default:
    gpt-4:
      rpm: 500/1m
      tpm: 100000/1m,burst=150000
    openai/gpt-4:
      rpm: 60/1m,refill=1
"""


class Cli:
    """Runs the command in this process against one endpoint; returns (status, stdout, stderr)."""

    def __init__(self, url: str, capsys: pytest.CaptureFixture[str]) -> None:
        self.url = url
        self.capsys = capsys

    def __call__(self, *args: str) -> tuple[int, str, str]:
        self.capsys.readouterr()
        status = run(["--endpoint", self.url, *args])
        out, err = self.capsys.readouterr()
        # The server runs in this process too: drop the metrics and logs its handlers print
        # (one JSON object a line; the command's own JSON is indented).
        out = "".join(line for line in out.splitlines(True) if not line.startswith('{"'))
        return status, out, err


@pytest.fixture
def cli(api_url: str, capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(api_url, capsys)


@pytest.fixture
def client(api_url: str) -> RegistryClient:
    return RegistryClient(api_url, signer=NoSigner())


def write(tmp_path: Path, text: str, name: str = "limits.yaml") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_apply_then_plan_shows_no_change_and_export_round_trips(
    cli: Cli, client: RegistryClient, tmp_path: Path
) -> None:
    file = write(tmp_path, FILE)
    status, out, _ = cli("plan", file)
    assert status == 2
    assert "+ create gpt-4" in out and "+ tpm  100000/1m,burst=150000" in out
    assert "Plan: 2 to create, 0 to update; 0 unchanged." in out

    status, out, _ = cli("apply", file, "--yes")
    assert status == 0, out
    assert "gpt-4 (namespace default): created" in out and "Applied 2 change(s)." in out
    assert client.get_defaults("gpt-4").limits == (
        parse_named("rpm=500/1m"),
        parse_named("tpm=100000/1m,burst=150000"),
    )
    assert client.get_defaults("openai/gpt-4").limits[0].refill_amount == 1

    assert cli("plan", file)[:2] == (0, "No changes: 2 resource(s) already as the file says.\n")

    exported = str(tmp_path / "exported.yaml")
    status, _, err = cli("export", "--output", exported)
    assert status == 0 and "wrote 2 resource(s) in 1 namespace(s)" in err
    assert cli("plan", exported)[0] == 0
    assert cli("export")[1] == Path(exported).read_text()


def test_plan_shows_updates_limit_by_limit_and_deletions_with_prune(
    cli: Cli, client: RegistryClient, tmp_path: Path
) -> None:
    client.set_defaults("gpt-4", [parse_named("rpm=400/1m"), parse_named("rpd=9/1d")])
    client.set_defaults("old-model", [parse_named("rpm=1/1s")])
    file = write(tmp_path, FILE)

    status, out, _ = cli("plan", file)
    assert status == 2
    assert "~ update gpt-4" in out
    assert "~ rpm  400/1m -> 500/1m" in out
    assert "+ tpm  100000/1m,burst=150000" in out
    assert "- rpd  9/1d" in out
    assert "old-model" not in out  # not without --prune

    status, out, _ = cli("plan", file, "--prune")
    assert status == 2 and "- delete old-model" in out
    assert "Plan: 1 to create, 1 to update, 1 to delete; 0 unchanged." in out

    status, out, _ = cli("--json", "plan", file, "--prune")
    document = json.loads(out)
    assert (status, document["create"], document["update"], document["delete"]) == (2, 1, 1, 1)

    assert cli("apply", file, "--prune", "--yes")[0] == 0
    assert client.list_resources(consistent=True) == ["gpt-4", "openai/gpt-4"]
    assert cli("plan", file, "--prune")[0] == 0


def test_apply_asks_and_changes_nothing_when_told_no(
    api_url: str, client: RegistryClient, tmp_path: Path
) -> None:
    file = write(tmp_path, FILE)
    done = apply_on_a_terminal(api_url, [file], answer="n")
    assert done.returncode == 1
    assert "Apply these 2 change(s)" in done.stderr and "not applied" in done.stderr
    assert client.list_resources(consistent=True) == []


@pytest.mark.parametrize("waiting", [None, "y\n"], ids=["nothing", "a yes"])
def test_apply_off_a_terminal_asks_nothing_and_says_to_pass_yes(
    api_url: str, client: RegistryClient, tmp_path: Path, waiting: str | None
) -> None:
    # Given a plan with changes, and no terminal to answer on (a pipeline)
    file = write(tmp_path, FILE)

    # When apply runs without --yes, even with a "y" waiting on its stdin
    unattended = subprocess.run(
        [str(SCRIPT), "--endpoint", api_url, "apply", file],
        input=waiting,
        stdin=subprocess.DEVNULL if waiting is None else None,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    # Then it asks nothing, says to pass --yes, and changes nothing
    assert unattended.returncode == 1
    assert "[y/N]" not in unattended.stderr and "aborted" not in unattended.stderr
    assert unattended.stderr.splitlines()[-1] == (
        "error: not applied; nothing changed: apply asks before 2 change(s), and there is no "
        "terminal to answer on; pass --yes to apply without asking"
    )
    assert client.list_resources(consistent=True) == []


def apply_on_a_terminal(
    url: str, arguments: list[str], answer: str = "y", meanwhile=lambda: None
) -> subprocess.CompletedProcess[str]:
    """Runs apply (the installed console script) with a terminal as its stdin, and when it asks,
    calls ``meanwhile`` (a change made by someone else after the plan read the resources), then
    answers ``answer``."""
    terminal, stdin = pty.openpty()
    process = subprocess.Popen(
        [str(SCRIPT), "--endpoint", url, "apply", *arguments],
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
    )
    os.close(stdin)
    watchdog = threading.Timer(60, process.kill)
    watchdog.start()
    try:
        assert process.stderr is not None
        asked = ""
        while not asked.endswith("[y/N]: "):
            character = process.stderr.read(1)
            assert character, f"apply exited before asking: {asked}"
            asked += character
        meanwhile()
        os.write(terminal, f"{answer}\n".encode())
        out, err = process.communicate(timeout=60)
    finally:
        watchdog.cancel()
        os.close(terminal)
    return subprocess.CompletedProcess(process.args, process.returncode, out, asked + err)


def test_a_change_between_plan_and_apply_is_refused_for_that_resource_only(
    api_url: str, client: RegistryClient, tmp_path: Path
) -> None:
    client.set_defaults("gpt-4", [parse_named("rpm=400/1m")])
    client.set_defaults("claude", [parse_named("rpm=1/1s")])
    client.set_defaults("old-model", [parse_named("rpm=1/1s")])
    file = write(
        tmp_path,
        "namespaces:\n  default:\n    gpt-4:\n      rpm: 500/1m\n    claude:\n      rpm: 2/1s\n",
    )
    someone_else = [parse_named("rpm=450/1m")]

    def meanwhile() -> None:
        client.set_defaults("gpt-4", someone_else)
        client.set_defaults("old-model", [parse_named("rpm=3/1s")])

    done = apply_on_a_terminal(api_url, [file], meanwhile=meanwhile)
    assert done.returncode == 1, done
    assert re.search(
        r"gpt-4 \(namespace default\): not updated: it changed after the plan read it "
        r'\(it was at ETag "1-[0-9a-f]{12}"\); nothing was written to it\. Run plan again\.',
        done.stdout,
    )
    assert "claude (namespace default): updated" in done.stdout
    assert "1 of 2 change(s) applied" in done.stderr
    assert client.get_defaults("gpt-4").limits == tuple(someone_else)  # not overwritten
    assert client.get_defaults("claude").limits == (parse_named("rpm=2/1s"),)


def test_a_prune_of_a_resource_changed_since_the_plan_is_refused(
    api_url: str, client: RegistryClient, tmp_path: Path
) -> None:
    client.set_defaults("old-model", [parse_named("rpm=1/1s")])
    file = write(tmp_path, "namespaces:\n  default: {}\n")

    def meanwhile() -> None:
        client.set_defaults("old-model", [parse_named("rpm=3/1s")])

    done = apply_on_a_terminal(api_url, ["--prune", file], meanwhile=meanwhile)
    assert done.returncode == 1, done
    assert "old-model (namespace default): not deleted: it changed after the plan read it" in (
        done.stdout
    )
    assert client.get_defaults("old-model").limits == (parse_named("rpm=3/1s"),)


def test_a_bad_file_is_refused_with_its_lines(cli: Cli, tmp_path: Path) -> None:
    file = write(tmp_path, "namespaces:\n  default:\n    gpt-4:\n      rpm: 500\n      tpm: 5/1w\n")
    for command in ("plan", "apply"):
        status, out, err = cli(command, file, "--yes") if command == "apply" else cli(command, file)
        assert (status, out) == (1, "")
        assert f"{file}:4:12: resource 'gpt-4', limit rpm: '500' is not CAPACITY/PERIOD" in err
        assert (
            f"{file}:5:12: resource 'gpt-4', limit tpm: the period's unit 'w' is not s, m, h or d"
            in err
        )


def test_errors_exit_1_and_say_what_is_wrong(cli: Cli, tmp_path: Path) -> None:
    status, _, err = cli("get", "gpt-4")
    assert status == 1 and err.startswith("error: 404 ")
    status, _, err = cli("plan", str(tmp_path / "missing.yaml"))
    assert status == 1 and "cannot read" in err
    status, _, err = cli("set", "gpt-4", "--limit", "rpm=5")
    assert status == 1 and "is not CAPACITY/PERIOD" in err  # a usage error is 1, not click's 2
    assert cli("no-such-command")[0] == 1
    status, _, err = cli("set", "gpt-4", "-l", "rpm=5/1m", "--if-match", '"1"', "--create-only")
    assert status == 1 and "exclude each other" in err
    assert run(["--endpoint", "http://127.0.0.1:9", "list"]) == 1
    status, _, err = cli("--endpoint", "ftp://example.com", "list")
    assert status == 1 and "is not an http(s) URL" in err
    status, _, err = cli("--namespace", "prod", "plan", write(tmp_path, FILE))
    assert status == 1 and "the file has no namespace 'prod'" in err


def test_everyday_commands(cli: Cli, client: RegistryClient) -> None:
    status, out, _ = cli("set", "gpt-4", "-l", "rpm=500/1m", "-l", "tpm=100000/1m,burst=150000")
    assert status == 0 and re.search(r'gpt-4  ETag "1-[0-9a-f]{12}"', out)
    assert "tpm    100000    150000  100000  60s     100000/1m,burst=150000" in out
    assert cli("list") == (0, "gpt-4\n", "")
    assert json.loads(cli("list", "--json")[1]) == {"resources": ["gpt-4"]}
    document = json.loads(cli("--json", "get", "gpt-4")[1])
    etag = document["etag"]
    assert etag.startswith('"1-') and document["limits"][1]["burst"] == 150000
    assert cli("get", "gpt-4", "--etag") == (0, f"{etag}\n", "")  # for $(...) in a shell
    status, _, err = cli("get", "nope", "--etag")
    assert status == 1 and err.startswith("error: 404 ")
    status, _, err = cli("set", "gpt-4", "-l", "rpm=1/1s", "--if-match", '"7-0123456789ab"')
    assert status == 1 and "412" in err
    assert cli("delete", "gpt-4", "--if-match", etag)[:2] == (0, "deleted gpt-4\n")
    assert client.list_resources(consistent=True) == []
    assert cli("list")[1] == "(none)\n"


def test_the_console_script_is_installed_and_reads_its_endpoint_from_the_environment(
    api_url: str,
) -> None:
    done = subprocess.run(
        [str(SCRIPT), "list", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "RESOURCE_REGISTRY_URL": api_url},
    )
    assert (done.returncode, json.loads(done.stdout)) == (0, {"resources": []})


def test_a_create_someone_else_made_between_plan_and_apply_is_refused(
    api_url: str, client: RegistryClient, tmp_path: Path
) -> None:
    # Given a plan that creates gpt-4 (it has no defaults when the plan reads it)
    file = write(tmp_path, "namespaces:\n  default:\n    gpt-4:\n      rpm: 500/1m\n")
    someone_else = [parse_named("rpm=450/1m")]

    # When someone else creates it before apply sends the create (If-None-Match: *)
    done = apply_on_a_terminal(
        api_url, [file], meanwhile=lambda: client.set_defaults("gpt-4", someone_else)
    )

    # Then the create is refused with 412 and their defaults stand
    assert done.returncode == 1, done
    assert "gpt-4 (namespace default): not created" in done.stdout
    assert client.get_defaults("gpt-4").limits == tuple(someone_else)


def test_get_if_changed_answers_304_while_the_etag_is_current(client: RegistryClient) -> None:
    etag = client.set_defaults("gpt-4", [parse_named("rpm=5/1s")]).etag
    assert etag is not None
    assert client.get_defaults_if_changed("gpt-4", etag) is None
    client.set_defaults("gpt-4", [parse_named("rpm=6/1s")])
    changed = client.get_defaults_if_changed("gpt-4", etag)
    assert changed is not None and changed.limits == (parse_named("rpm=6/1s"),)


def test_history_shows_each_change_newest_first(cli: Cli, client: RegistryClient) -> None:
    client.set_defaults("gpt-4", [parse_named("rpm=5/1s")])
    client.set_defaults("gpt-4", [parse_named("rpm=6/1s")])
    client.delete_defaults("gpt-4")

    status, out, _ = cli("--json", "history", "gpt-4", "--all")

    assert status == 0
    events = json.loads(out)["events"]
    assert [event["action"] for event in events] == ["limits_deleted", "limits_set", "limits_set"]
    assert [event["limits"][0]["capacity"] for event in events[1:]] == [6, 5]


def test_history_of_a_resource_that_never_existed_is_a_404_as_get_is(cli: Cli) -> None:
    status, out, err = cli("history", "nope")
    assert (status, out) == (1, "")
    assert err == "error: 404 ResourceNotFound: resource 'nope' has no history and no defaults\n"
