"""The function code and the shared layer as the stack deploys them: sources plus runtime bytecode.

Lambda's filesystem is read-only, so from an asset of sources alone every module of ours is
compiled again at every cold start (about 20 ms of a handler's; benchmarks/cold_start.py). Each
asset therefore also carries the bytecode the functions' Python would have written, compiled by
that Python (python3.13). The caches are hash-based and unchecked: CDK zips every file with one
fixed time, which timestamp-checked caches would be rejected against, and an asset never changes
once built. A build is byte-for-byte the same on every machine with that Python (its code objects
name the files where Lambda unpacks them, never a build directory), so synth stays deterministic.

No aws_cdk import here: the cold-start benchmark loads the very directories CDK zips.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from infra.sources import LAMBDAS_DIR, LAYER_DIR, PROJECT_ROOT

# The Python of the Lambda runtime infra/layers.py deploys (tests/infra check they agree).
LAMBDA_PYTHON = (3, 13)
LAMBDA_PYTHON_COMMAND = "python{}.{}".format(*LAMBDA_PYTHON)
BUILD_DIR = PROJECT_ROOT / "build" / "lambda-assets"
# Where Lambda unpacks a function's code and its layers.
FUNCTION_ROOT = "/var/task"
LAYER_ROOT = "/opt"
PYTHON_CACHE_DIR = "__pycache__"
# Raise it when the way assets are built changes, so that no older build is reused.
BUILD_FORMAT = "1"


@dataclass(frozen=True)
class LambdaAssets:
    """The two directories the stack zips: the functions' code and the shared layer's."""

    functions: Path  # the handlers package, unpacked at /var/task
    layer: Path  # python/resource_registry, unpacked at /opt

    @property
    def search_path(self) -> tuple[Path, Path]:
        """Where the runtime finds them: the function code first, then the layer's python/."""
        return self.functions, self.layer / "python"


def build_assets(lambdas_dir: Path = LAMBDAS_DIR, build_dir: Path = BUILD_DIR) -> LambdaAssets:
    """The assets of the sources under ``lambdas_dir``, built once per content under ``build_dir``.

    A build is named by the hash of what it is made of, so it is never stale, and it is moved
    into place whole, so concurrent syntheses (the test workers) never see half of one.
    """
    layer_dir = lambdas_dir / LAYER_DIR.relative_to(LAMBDAS_DIR)
    python = lambda_python()
    sources = {
        "functions": _source_files(lambdas_dir, skip=layer_dir),
        "layer": _source_files(layer_dir),
    }
    built = build_dir / _build_key(sources, compiled=python is not None)
    if not built.exists():
        build_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".building-", dir=build_dir))
        try:
            for asset, files in sources.items():
                for relative, source in files.items():
                    target = staging / asset / relative
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(source, target)
            if python is not None:
                _compile(python, staging / "functions", FUNCTION_ROOT)
                _compile(python, staging / "layer", LAYER_ROOT)
            else:
                print(
                    f"note: no {LAMBDA_PYTHON_COMMAND} found: the function assets carry sources "
                    "only, which Lambda compiles at every cold start; install it to ship bytecode",
                    file=sys.stderr,
                )
            staging.rename(built)
        except OSError:
            if not built.exists():  # not another process's build landing first
                raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return LambdaAssets(built / "functions", built / "layer")


def lambda_python() -> str | None:
    """An interpreter of the functions' Python version: this one, else one on PATH or pyenv's.

    Looked for as the Makefile looks for it: a pyenv shim on PATH may not run its version.
    """
    if sys.version_info[:2] == LAMBDA_PYTHON:
        return sys.executable
    candidates = [shutil.which(LAMBDA_PYTHON_COMMAND)]
    pyenv_versions = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    version = "{}.{}".format(*LAMBDA_PYTHON)
    candidates += sorted(map(str, pyenv_versions.glob(f"{version}*/bin/{LAMBDA_PYTHON_COMMAND}")))
    for candidate in filter(None, candidates):
        probe = [candidate, "-c", f"import sys; sys.exit(sys.version_info[:2] != {LAMBDA_PYTHON})"]
        if subprocess.run(probe, capture_output=True, check=False).returncode == 0:
            return candidate
    return None


def _source_files(root: Path, skip: Path | None = None) -> dict[str, Path]:
    """Every file under ``root`` but caches (and ``skip``), by its path relative to ``root``."""
    return {
        path.relative_to(root).as_posix(): path
        for path in sorted(root.rglob("*"))
        if path.is_file()
        and PYTHON_CACHE_DIR not in path.parts
        and path.suffix != ".pyc"
        and (skip is None or not path.is_relative_to(skip))
    }


def _build_key(sources: dict[str, dict[str, Path]], *, compiled: bool) -> str:
    digest = hashlib.sha256(f"{BUILD_FORMAT} {LAMBDA_PYTHON} {compiled}".encode())
    for asset, files in sources.items():
        for relative, path in files.items():
            digest.update(f"\0{asset}/{relative}\0".encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:20]


def _compile(python: str, tree: Path, deployed_at: str) -> None:
    """Write ``tree``'s bytecode as Lambda would load it from ``deployed_at``."""
    command = [
        python,
        "-m",
        "compileall",
        "-q",
        "--invalidation-mode",
        "unchecked-hash",
        "-s",
        str(tree),
        "-p",
        deployed_at,
        str(tree),
    ]
    # A fixed hash seed: the order of a set constant in the bytecode must not vary between builds.
    environment = {**os.environ, "PYTHONHASHSEED": "0"}
    environment.pop("PYTHONPYCACHEPREFIX", None)
    result = subprocess.run(command, env=environment, capture_output=True, text=True, check=False)
    if result.returncode:
        raise RuntimeError(f"compiling the Lambda assets failed: {result.stdout}{result.stderr}")
