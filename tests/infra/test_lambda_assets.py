"""The function and layer assets load their modules from shipped bytecode, as Lambda would."""

from __future__ import annotations

import filecmp
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from infra.lambda_assets import build_assets, lambda_python
from infra.sources import LAMBDAS_DIR

# What CDK gives every file it zips, and what Lambda's unpacked files then carry.
ZIP_TIME = 315_532_800  # 1980-01-01T00:00:00Z
POISON = "raise RuntimeError('compiled from source at the cold start')\n"
# For each source file, the code the import system would run for it: its cache's, if it takes it.
LOAD_EACH = """
import importlib.machinery, pathlib, sys
for root in sys.argv[1:]:
    for path in sorted(pathlib.Path(root).rglob("*.py")):
        code = importlib.machinery.SourceFileLoader("probe", str(path)).get_code("probe")
        print(path, "compiled from source" in repr(code.co_consts))
"""


@pytest.fixture(scope="module")
def python() -> str:
    found = lambda_python()
    assert found, "the functions' Python (python3.13) is needed to build and load their assets"
    return found


def test_every_module_loads_from_its_bytecode_as_lambda_unpacks_it(
    python: str, tmp_path: Path
) -> None:
    """Sources replaced and every file's time set to the zip's: only the shipped bytecode gives
    the modules' real code (no timestamp-checked cache would pass)."""
    assets = build_assets()
    shutil.copytree(assets.functions, tmp_path / "task")
    shutil.copytree(assets.layer, tmp_path / "opt")
    sources = sorted(tmp_path.rglob("*.py"))
    assert len(sources) > 20
    for path in tmp_path.rglob("*"):
        if path.suffix == ".py":
            path.write_text(POISON, encoding="utf-8")
        os.utime(path, (ZIP_TIME, ZIP_TIME))
    result = subprocess.run(
        [python, "-c", LOAD_EACH, str(tmp_path / "task"), str(tmp_path / "opt")],
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
        check=True,
    )
    loaded = dict(line.split() for line in result.stdout.splitlines())
    assert sorted(loaded) == sorted(map(str, sources))
    assert {path for path, from_source in loaded.items() if from_source != "False"} == set()


def test_the_build_is_the_same_every_time(python: str, tmp_path: Path) -> None:
    """Synth stays deterministic: the asset hashes CDK computes do not change from run to run."""
    first = build_assets(LAMBDAS_DIR, tmp_path / "first")
    second = build_assets(LAMBDAS_DIR, tmp_path / "second")
    for one, other in ((first.functions, second.functions), (first.layer, second.layer)):
        files = sorted(path.relative_to(one) for path in one.rglob("*") if path.is_file())
        assert files == sorted(
            path.relative_to(other) for path in other.rglob("*") if path.is_file()
        )
        _, differing, missing = filecmp.cmpfiles(one, other, files, shallow=False)
        assert (differing, missing) == ([], [])


def test_a_changed_source_gets_a_new_build(python: str, tmp_path: Path) -> None:
    sources = tmp_path / "lambdas"
    shutil.copytree(LAMBDAS_DIR, sources, ignore=shutil.ignore_patterns("__pycache__"))
    before = build_assets(sources, tmp_path / "build")
    with (sources / "handlers" / "routes.py").open("a", encoding="utf-8") as routes:
        routes.write("CHANGED = True\n")
    after = build_assets(sources, tmp_path / "build")
    assert after.functions != before.functions
    assert "CHANGED" in (after.functions / "handlers" / "routes.py").read_text(encoding="utf-8")
