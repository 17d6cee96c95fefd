"""The shell examples of README.md and docs/deploy.md work as written, pasted in order.

Each document's blocks run in one bash session against `make run`'s program (with `PORT` set to
the port it serves on, the project's virtualenv on `PATH`, as `source .venv/bin/activate` puts
it). A block is left out only when it is listed below with the reason. The session stops at the
first command that fails; every HTTP answer curl gets must be the one its example promises.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from devtools.dynamodb_local import ROOT, DynamoDBLocal
from tests.e2e.targets import LocalRun, local_run

pytestmark = pytest.mark.integration

# Blocks not run, by their first line, with why. Each must still be in its document.
DEPLOYS = "deploys to AWS"
DEPLOYED_BACKFILL = "invokes the deployed backfill (make backfill runs its code here, tested in "
DEPLOYED_BACKFILL += "tests/integration/test_backfill_cli.py)"
NOT_RUN = {
    "README.md": {
        "make run     # DynamoDB Local (data under .local/) + the table + the API on "
        "http://127.0.0.1:3000": "installs the tools, then serves until Ctrl-C: the test starts "
        "the same program (python -m devtools.run_local) itself; make test is what runs this",
    },
    "docs/deploy.md": {
        "make deps": "bootstraps the CDK in an AWS account",
        "npx cdk deploy ResourceRegistry": DEPLOYS,
        "npx cdk deploy ResourceRegistry -c existingTableName=my-zae-limiter-table \\": DEPLOYS,
        "aws cloudformation describe-stacks --stack-name ResourceRegistry \\": "reads a "
        "deployed stack's outputs",
        "output() {": "reads a deployed stack's outputs: the test sets API_URL to make run's "
        "URL and REGION to us-east-1 instead",
        'awscurl --service execute-api --region "$REGION" "${API_URL}resources"': "awscurl is "
        "a separate install that the project does not pin",
        'aws lambda invoke --function-name "$BACKFILL" \\': DEPLOYED_BACKFILL,
        "continuation=null": DEPLOYED_BACKFILL,
        "MACHINE=$(output BackfillStateMachineArn)": DEPLOYED_BACKFILL,
        'TABLE_NAME="$TABLE" AWS_REGION="$REGION" \\': "make verify against DynamoDB in AWS "
        "(tests/integration/test_backfill_cli.py runs it on DynamoDB Local)",
        "aws dynamodb update-table --table-name my-zae-limiter-table \\": "changes an adopted "
        "table in AWS (make run's tables are born with their stream)",
        "BUS=$(output EventBusArn)": "EventBridge rules are AWS only (make run writes the events "
        "to .local/events.jsonl)",
        "DEAD_LETTERS=$(output HealerDeadLetterQueueUrl)": "the dead-letter queue is AWS only",
        "make e2e STACK=ResourceRegistry": "runs against a deployed stack (make test runs the "
        "same suite against make run's program)",
    },
}
# Lines left out of blocks that run, with why.
LINES_LEFT_OUT = {
    'eval "$(aws configure export-credentials --format env)"': "the AWS CLI's credentials: the "
    "session has AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY already (make run ignores the "
    "signature)",
}
FENCES = {"README.md": "sh", "docs/deploy.md": "bash"}
# Every curl call is logged, expanded and on one line, then its answer's status.
PREAMBLE = r"""set -euo pipefail
curl() {
  local call="$*"
  printf '@@call %s\n' "${call//$'\n'/ }" >&2
  command curl --write-out '%{stderr}@@status %{http_code}\n' "$@"
}
"""


@dataclass(frozen=True)
class Block:
    first_line: str
    text: str


def blocks(document: str) -> list[Block]:
    """The document's shell blocks, in order."""
    text = (ROOT / document).read_text(encoding="utf-8")
    fence = FENCES[document]
    found = re.findall(rf"^```{fence}\n(.*?)^```$", text, re.DOTALL | re.MULTILINE)
    return [Block(body.splitlines()[0], body) for body in found]


def runnable(document: str) -> list[Block]:
    """The blocks that run, each without the lines left out; every NOT_RUN entry must match."""
    every = blocks(document)
    not_run = NOT_RUN[document]
    stale = set(not_run) - {block.first_line for block in every}
    assert not stale, f"{document} no longer has a block starting {stale}: update NOT_RUN"
    return [
        Block(
            block.first_line,
            "\n".join(line for line in block.text.splitlines() if line not in LINES_LEFT_OUT),
        )
        for block in every
        if block.first_line not in not_run
    ]


def promised_status(call: str) -> int:
    """What an example's curl call answers when it works as the document says: a DELETE 204 (a
    dry run's 200, with what it would do), a GET with If-None-Match at the ETag just read 304 (no
    body), anything else 200."""
    if "-X DELETE" in call and "dry_run=true" not in call:
        return 204
    if "If-None-Match:" in call and "-X PUT" not in call:
        return 304
    return 200


@dataclass(frozen=True)
class Session:
    exit_code: int
    output: str
    finished: list[int]  # the blocks that ran to their end
    calls: list[tuple[str, int]]  # each curl call, expanded, and its status


def run_session(document: str, server: LocalRun, directory: Path, **variables: str) -> Session:
    """``document``'s runnable blocks, in order, in one bash session in ``directory``."""
    script = [PREAMBLE]
    for number, block in enumerate(runnable(document)):
        script += [block.text, f"echo '@@finished {number}' >&2"]
    virtualenv = str(Path(sys.executable).parent)
    environment = {
        **server.environment,
        "PATH": f"{virtualenv}:{server.environment['PATH']}",
        **variables,
    }
    done = subprocess.run(
        ["bash", "-c", "\n".join(script)],
        cwd=directory,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    finished, calls, call = [], [], ""
    for line in done.stderr.splitlines():
        if line.startswith("@@finished "):
            finished.append(int(line.split()[1]))
        elif line.startswith("@@call "):
            call = line.removeprefix("@@call ")
        elif line.startswith("@@status "):
            calls.append((call, int(line.split()[1])))
    return Session(done.returncode, done.stdout + done.stderr, finished, calls)


def check(document: str, session: Session) -> None:
    count = len(runnable(document))
    assert session.exit_code == 0, f"{document}: a command failed:\n{session.output[-4000:]}"
    assert session.finished == list(range(count)), session.output[-4000:]
    wrong = [(call, status) for call, status in session.calls if status != promised_status(call)]
    assert wrong == [], f"{document}: answers the examples do not promise: {wrong}"


@pytest.fixture(scope="module")
def server(
    dynamodb_local: DynamoDBLocal, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalRun]:
    """make run's program over a new table: namespaced, with the namespaces default and prod."""
    with local_run(dynamodb_local.endpoint, tmp_path_factory.mktemp("make-run")) as run:
        yield run


def test_the_readmes_shell_examples_work_as_written(server: LocalRun, tmp_path: Path) -> None:
    session = run_session("README.md", server, tmp_path, PORT=server.url.rsplit(":", 1)[1])
    check("README.md", session)
    # The command-line examples ran, and the curl examples made every call they show
    assert (tmp_path / "limits.yaml").exists()
    assert len(session.calls) >= 15


def test_the_deploy_guides_examples_work_against_make_runs_server(
    server: LocalRun, tmp_path: Path
) -> None:
    # Given the variables the guide reads from the stack's outputs, pointing at make run's API
    session = run_session(
        "docs/deploy.md", server, tmp_path, API_URL=f"{server.url}/", REGION="us-east-1"
    )
    check("docs/deploy.md", session)
    assert len(session.calls) >= 5
