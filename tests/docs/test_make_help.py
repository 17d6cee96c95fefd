"""`make help` lists every target the Makefile declares, and the environment they read."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def test_make_help_lists_every_declared_target_and_setting() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    (declared,) = re.findall(r"^\.PHONY: (.+)$", makefile, re.MULTILINE)
    shown = subprocess.run(
        ["make", "--no-print-directory", "help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    listed = {word for line in shown.splitlines() if line.startswith("  ") for word in line.split()}
    assert set(declared.split()) - listed == set()
    settings = {"TABLE_NAME", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_REGION,", "AWS_PROFILE", "PORT"}
    settings |= {"DYNAMODB_LOCAL_PORT", "LOCAL_DATA_DIR", "SEGMENTS", "BENCH_ARGS", "PYTHON"}
    settings |= {"TABLE_LAYOUT", "NAMESPACE", "STACK"}
    assert settings - listed == set()
