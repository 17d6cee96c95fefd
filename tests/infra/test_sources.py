"""Reading the pinned versions the stack depends on from requirements.txt."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.sources import REQUIREMENTS_FILE, pinned_version


def _requirements(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "requirements.txt"
    path.write_text(text, encoding="utf-8")
    return path


def test_pin_with_extras_and_comments_is_read(tmp_path: Path) -> None:
    requirements = _requirements(
        tmp_path, "# runtime\naws-lambda-powertools[tracer]==3.37.0  # layer\nboto3==1.44.5\n"
    )
    assert pinned_version("aws-lambda-powertools", requirements) == "3.37.0"
    assert pinned_version("boto3", requirements) == "1.44.5"


def test_names_compare_as_pip_compares_them(tmp_path: Path) -> None:
    requirements = _requirements(tmp_path, "AWS_Lambda.Powertools==3.1.0\n")
    assert pinned_version("aws-lambda-powertools", requirements) == "3.1.0"


@pytest.mark.parametrize("line", ["aws-lambda-powertools>=3.0", "aws-lambda-powertools", ""])
def test_unpinned_package_is_an_error(tmp_path: Path, line: str) -> None:
    with pytest.raises(ValueError, match="aws-lambda-powertools"):
        pinned_version("aws-lambda-powertools", _requirements(tmp_path, line + "\n"))


def test_a_similar_name_is_not_the_package(tmp_path: Path) -> None:
    requirements = _requirements(tmp_path, "aws-lambda-powertools-extra==9.9.9\n")
    with pytest.raises(ValueError):
        pinned_version("aws-lambda-powertools", requirements)


def test_the_project_pins_powertools() -> None:
    assert pinned_version("aws-lambda-powertools", REQUIREMENTS_FILE).startswith("3.")
