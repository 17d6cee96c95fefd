"""The public contract lives in the repository (docs/contract.md), and everything cites it there."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
CONTRACT = ROOT / "docs" / "contract.md"
SECTIONS = {
    1: "Table layouts",
    2: "Names and limits",
    3: "HTTP API",
    4: "Backfill",
    5: "Registry healer and change events",
    6: "Commands",
}
# What a reader of a fresh clone cannot open: the workspace's copy of the contract.
OUTSIDE_REFERENCES = re.compile(r"\.\./shared|CONTRACT\.md|CONTRACT[ ]section")
CITATION = re.compile(r"contract\.md,? section (\d+)")


def tracked_text_files() -> dict[str, str]:
    """Every file git tracks, by path, with its text (binary files left out)."""
    listing = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout
    texts = {}
    for path in filter(None, listing.split("\0")):
        try:
            texts[path] = (ROOT / path).read_text(encoding="utf-8")
        except (UnicodeDecodeError, FileNotFoundError):
            continue
    return texts


def test_the_contract_has_every_section_in_order() -> None:
    headings = re.findall(r"^## (\d+)\. (.+)$", CONTRACT.read_text(encoding="utf-8"), re.MULTILINE)
    assert [(int(number), title) for number, title in headings] == list(SECTIONS.items())


def test_no_tracked_file_points_outside_the_repository_for_the_contract() -> None:
    offenders = {
        path: match.group(0)
        for path, text in tracked_text_files().items()
        if (match := OUTSIDE_REFERENCES.search(text))
    }
    assert offenders == {}


def test_every_citation_names_a_section_the_contract_has() -> None:
    cited = {
        (path, int(number))
        for path, text in tracked_text_files().items()
        for number in CITATION.findall(text)
    }
    assert cited, "the code cites the contract by section"
    assert {(path, number) for path, number in cited if number not in SECTIONS} == set()


def test_the_readme_layout_names_every_test_folder() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    folders = {path.name for path in (ROOT / "tests").iterdir() if (path / "__init__.py").exists()}
    assert {folder for folder in folders if f"tests/{folder}/" not in readme} == set()
