"""The README and deploy.md give the number of end-to-end journeys tests/e2e holds."""

from __future__ import annotations

import ast
import re

from devtools.dynamodb_local import ROOT


def test_the_docs_count_the_end_to_end_journeys() -> None:
    module = ast.parse((ROOT / "tests/e2e/test_journeys.py").read_text(encoding="utf-8"))
    journeys = [
        node.name
        for node in module.body
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
    ]
    for document in ("README.md", "docs/deploy.md"):
        text = (ROOT / document).read_text(encoding="utf-8")
        assert re.findall(r"\b(\d+) user journeys\b", text) == [str(len(journeys))], document
