"""cfn-lint finds no error or warning in the synthesized template."""

from __future__ import annotations

import json

import pytest
from cfnlint.api import lint
from cfnlint.config import ManualArgs

from tests.infra.conftest import Synthesized, synthesize

REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2"]


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(tmp_path_factory.mktemp("cdk.out"))


def test_template_is_cfn_lint_clean(synthesized: Synthesized) -> None:
    template = json.dumps(synthesized.template.to_json())
    matches = lint(template, config=ManualArgs(regions=REGIONS))
    assert [f"{match.rule.id} {match.message}" for match in matches] == []
