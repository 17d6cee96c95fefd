"""Where the stack finds its inputs in the repository: the Lambda code, the layer and the pins."""

from __future__ import annotations

import re
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
LAMBDAS_DIR = PROJECT_ROOT / "lambdas"
LAYER_DIR = LAMBDAS_DIR / "layer"
REQUIREMENTS_FILE = PROJECT_ROOT / "requirements.txt"

# name[extras]==version, the only form a pin takes in requirements.txt.
_PIN = re.compile(
    r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*==\s*(?P<version>[^\s;]+)"
)


def pinned_version(package: str, requirements: Path = REQUIREMENTS_FILE) -> str:
    """The exact version ``requirements`` pins ``package`` to; ValueError when it is not pinned."""
    wanted = _normalized(package)
    for line in requirements.read_text(encoding="utf-8").splitlines():
        match = _PIN.match(line.split("#", 1)[0].strip())
        if match and _normalized(match["name"]) == wanted:
            return match["version"]
    raise ValueError(f"{requirements.name} does not pin {package} with '=='")


def _normalized(name: str) -> str:
    # PEP 503: names differing only in case and runs of '-', '_' or '.' are the same project.
    return re.sub(r"[-_.]+", "-", name).lower()
