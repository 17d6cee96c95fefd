"""Packaging: `pip install ./client` ships the client and its command and nothing of the service;
the repository's own project installs every package from where it lives, so the tools import
from any directory with no path set."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

from devtools.dynamodb_local import ROOT

# The source trees of the repository's project, and the directories no package lives in.
SOURCE_TREES = ("lambdas", "client", "infra", "devtools", "benchmarks")
NOT_PACKAGED = {"tests"}


def wheel_of(source: Path, tmp_path: Path) -> zipfile.ZipFile:
    """The wheel pip builds of the project at ``source``."""
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
    return zipfile.ZipFile(wheel)


def test_the_client_wheel_holds_only_the_client_and_its_command(tmp_path: Path) -> None:
    # Built from a copy, so the build leaves nothing in the working tree.
    source = tmp_path / "client"
    shutil.copytree(
        ROOT / "client", source, ignore=shutil.ignore_patterns("*.egg-info", "__pycache__")
    )
    with wheel_of(source, tmp_path) as archive:
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


def test_the_repositorys_project_packages_every_package_of_its_source_trees() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]
    roots = project["setuptools"]["package-dir"]
    listed = set(project["setuptools"]["packages"])
    found = set()
    for tree in SOURCE_TREES:
        for init in (ROOT / tree).rglob("__init__.py"):
            directory = init.parent.relative_to(ROOT)
            for package, root in roots.items():
                if directory.is_relative_to(root):
                    relative = directory.relative_to(root).parts
                    found.add(".".join((package, *relative)))
    assert found == listed


def test_a_tool_runs_from_any_directory_without_a_path_set(tmp_path: Path) -> None:
    environment = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "devtools.openapi", "--check"],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    assert (done.returncode, done.stderr) == (0, "")


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
