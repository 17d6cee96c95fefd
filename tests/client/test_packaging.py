"""`pip install .` ships the client and the console script, and nothing of the service."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from devtools.dynamodb_local import ROOT


def test_the_wheel_holds_only_the_client_and_its_command(tmp_path: Path) -> None:
    # Built from a copy, so the build leaves nothing in the working tree.
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(
        ROOT / "client",
        source / "client",
        ignore=shutil.ignore_patterns("*.egg-info", "__pycache__"),
    )
    for other in ("lambdas", "devtools", "infra", "tests"):  # there, but not to be packaged
        shutil.copytree(ROOT / other, source / other, ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--wheel-dir",
            str(tmp_path / "dist"),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = next(name for name in names if name.endswith(".dist-info/METADATA"))
        requires = [
            line
            for line in archive.read(metadata).decode().splitlines()
            if line.startswith("Requires-Dist:")
        ]
        entry_points = archive.read(metadata.replace("METADATA", "entry_points.txt")).decode()
    packaged = {name.split("/")[0] for name in names if ".dist-info/" not in name}
    assert packaged == {"resource_registry_client"}
    assert "resource_registry_client/py.typed" in names
    assert "resource-registry = resource_registry_client.cli:main" in entry_points
    required = sorted(
        re.split(r"[<>=!~ ;]", line.removeprefix("Requires-Dist: "))[0] for line in requires
    )
    assert required == ["PyYAML", "botocore", "click"]


def test_the_pinned_client_requirements_satisfy_the_packages_ranges() -> None:
    pins = {
        line.split("==")[0].lower(): line.split("==")[1]
        for line in (ROOT / "requirements-client.txt").read_text().splitlines()
        if "==" in line
    }
    constraints = (ROOT / "constraints.txt").read_text()
    assert set(pins) == {"botocore", "click", "pyyaml"}
    for name, version in pins.items():
        assert any(line.lower() == f"{name}=={version}" for line in constraints.splitlines()), (
            f"{name} is pinned differently in constraints.txt"
        )
