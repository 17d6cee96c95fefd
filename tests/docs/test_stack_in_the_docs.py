"""What docs/deploy.md and the README say the stack holds is what the synthesized template holds:
the number of functions and alarms, each function by name, and every output."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.infra.conftest import HANDLERS, Synthesized, synthesize

ROOT = Path(__file__).resolve().parent.parent.parent
DEPLOY = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
README = (ROOT / "README.md").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(tmp_path_factory.mktemp("cdk.out"))


def stated_count(text: str, noun: str) -> int:
    """The number in the one sentence that counts ``noun``, written in digits ("7 Lambda
    functions"); fails when the count is missing, stated twice, or spelt out."""
    counts = re.findall(rf"\b(\d+) {noun}\b", text)
    assert len(counts) == 1, f"deploy.md should state once, in digits, how many {noun}: {counts}"
    spelt = re.findall(rf"\b(?:one|two|three|four|five|six|seven|eight|nine|ten)\b {noun}", text)
    assert not spelt, f"deploy.md spells out a count of {noun}: {spelt}"
    return int(counts[0])


def test_deploy_md_counts_the_functions_and_alarms_of_the_template(
    synthesized: Synthesized,
) -> None:
    functions = synthesized.of_type("AWS::Lambda::Function")
    alarms = synthesized.of_type("AWS::CloudWatch::Alarm")
    assert stated_count(DEPLOY, "Lambda functions") == len(functions)
    assert stated_count(DEPLOY, "CloudWatch alarms") == len(alarms)


def test_deploy_md_names_every_function(synthesized: Synthesized) -> None:
    (row,) = [line for line in DEPLOY.splitlines() if line.startswith("| `Functions` ")]
    named = set(re.findall(r"`([A-Za-z]+)`", row)) - {"Functions"}
    handlers = {
        function["Properties"]["Handler"]
        for function in synthesized.of_type("AWS::Lambda::Function").values()
    }
    assert {HANDLERS[name] for name in named} == handlers


def test_every_output_is_listed_in_deploy_md_and_the_readme(synthesized: Synthesized) -> None:
    outputs = set(synthesized.outputs)
    table = re.search(r"\| output \| meaning \|\n\| --- \| --- \|\n((?:\|.*\n)+)", DEPLOY)
    assert table is not None, "deploy.md lost its table of stack outputs"
    assert set(re.findall(r"^\| `(\w+)` \|", table.group(1), re.MULTILINE)) == outputs
    sentence = re.search(r"The stack\s+outputs (.+?)\.\s", README, re.DOTALL)
    assert sentence is not None, "the README lost its sentence listing the stack outputs"
    assert set(re.findall(r"`(\w+)`", sentence.group(1))) == outputs
