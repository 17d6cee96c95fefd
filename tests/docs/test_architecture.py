"""docs/architecture.md's diagram is the code's, and imports go only the ways the rooms allow."""

from __future__ import annotations

import re

from devtools import architecture
from devtools.dynamodb_local import ROOT

DIAGRAM = re.compile(r"```mermaid\n(.*?)\n```", re.DOTALL)


def test_the_documented_diagram_is_the_one_the_code_draws() -> None:
    document = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    match = DIAGRAM.search(document)
    assert match is not None, "docs/architecture.md has no mermaid diagram"
    assert match.group(1) == architecture.mermaid(), (
        "the diagram differs from the code: paste `python -m devtools.architecture` into it"
    )


def test_no_import_goes_a_forbidden_way() -> None:
    found = architecture.edges()
    broken = {pair: why for pair, why in architecture.FORBIDDEN.items() if pair in found}
    assert broken == {}


def test_every_source_file_of_the_layer_and_handlers_is_in_a_room() -> None:
    placed = {path for paths in architecture.room_files().values() for path in paths}
    sources = {
        path
        for base in ("lambdas", "client", "infra", "devtools", "benchmarks")
        for path in (ROOT / base).rglob("*.py")
    }
    assert sorted(str(path.relative_to(ROOT)) for path in sources - placed) == []


def test_only_the_layouts_package_and_detection_name_a_layout() -> None:
    layout_names = re.compile(r"\b(FlatLayout|CompositeLayout|NamespacedLayout|FLAT|COMPOSITE)\b")
    # The rooms that run in the functions, but for the layouts package and detection.
    asking = {"handlers", "service wiring", "use cases", "foundations"}
    offenders = [
        str(path.relative_to(ROOT))
        for room, paths in architecture.room_files().items()
        if room in asking
        for path in paths
        if layout_names.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []
