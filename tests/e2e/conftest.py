"""The end-to-end suite's target: make run's program here (make test), or the stack that
``make e2e STACK=name`` names (E2E_STACK)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from devtools.dynamodb_local import DynamoDBLocal
from tests.e2e.targets import (
    LOCAL_AWS,
    STACK_VARIABLE,
    Target,
    TargetError,
    local_run,
    local_target,
    stack_target,
)
from tests.e2e.workspace import Workspace


def deployed_stack() -> str | None:
    return os.environ.get(STACK_VARIABLE) or None


@pytest.fixture(scope="session")
def target(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Target]:
    """The API every journey drives, and its table."""
    stack = deployed_stack()
    if stack is not None:
        try:
            deployed = stack_target(stack)
        except TargetError as error:
            pytest.exit(f"error: {error}", returncode=2)
        yield deployed
        return
    # Asked for only here: against a stack, no DynamoDB Local starts.
    local: DynamoDBLocal = request.getfixturevalue("dynamodb_local")
    with local_run(local.endpoint, tmp_path_factory.mktemp("make-run")) as run:
        yield local_target(run, local.client())


@pytest.fixture(autouse=True)
def aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Against a stack, the caller's own credentials and region (the suite's others are fake);
    here, the local ones make run's program was given."""
    if deployed_stack() is not None:
        return
    for variable in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB"):
        monkeypatch.delenv(variable, raising=False)
    for variable, value in LOCAL_AWS.items():
        monkeypatch.setenv(variable, value)


@pytest.fixture
def workspace(target: Target, tmp_path: Path) -> Iterator[Workspace]:
    """A journey's namespace of its own on the target, deleted with its contents at the end."""
    space = Workspace(target, tmp_path)
    yield space
    space.clean_up()
