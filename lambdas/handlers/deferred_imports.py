"""Cold start: a package whose ``__init__`` imports every submodule imports only those used.

Powertools' ``event_handler`` and ``utilities.data_classes`` packages import each of their
resolvers and each of about fifty event classes when first touched, where a REST handler needs a
handful: about a fifth of a handler's cold start over boto3's (benchmarks/cold_start.py). A
deferred package is registered unexecuted, and each name its ``__init__`` would import from a
submodule is imported from that submodule when first asked for. Any other attribute runs the real
``__init__`` first, so nothing the package defines goes missing.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import sys
from pathlib import Path
from typing import Any

DEFERRED_PACKAGES = (
    # Before Powertools, which imports it: the X-Ray SDK's wrapt, whose caching pulls in asyncio.
    "wrapt",
    "aws_lambda_powertools.event_handler",
    # The REST resolver needs the OpenAPI config and constants, not the document merger.
    "aws_lambda_powertools.event_handler.openapi",
    "aws_lambda_powertools.utilities.data_classes",
)


def defer_package_init(name: str) -> None:
    """Register package ``name`` so that its submodules load on first use, not all at once."""
    if name in sys.modules:
        return
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None or spec.loader is None:
        return
    module = importlib.util.module_from_spec(spec)
    exports = _exports(name, Path(spec.origin).read_text(encoding="utf-8"))
    initialised = False

    def initialise() -> None:
        nonlocal initialised
        if not initialised:
            initialised = True
            assert spec.loader is not None
            spec.loader.exec_module(module)

    def __getattr__(attribute: str) -> Any:  # noqa: N807 (PEP 562's name)
        if attribute in exports:
            submodule, original = exports[attribute]
            value = getattr(importlib.import_module(submodule), original)
        elif importlib.util.find_spec(f"{name}.{attribute}") is not None:
            # `from package import submodule` asks the package for the attribute first.
            value = importlib.import_module(f"{name}.{attribute}")
        else:
            initialise()
            if attribute not in module.__dict__:
                raise AttributeError(f"module {name!r} has no attribute {attribute!r}")
            value = module.__dict__[attribute]
        setattr(module, attribute, value)
        return value

    module.__getattr__ = __getattr__  # type: ignore[method-assign]
    sys.modules[name] = module
    parent, _, child = name.rpartition(".")
    if parent:
        setattr(sys.modules[parent], child, module)


def _exports(package: str, source: str) -> dict[str, tuple[str, str]]:
    """What the package's ``__init__`` imports from its own submodules: name -> (module, name)."""
    exports = {}
    for node in ast.parse(source).body:
        if not isinstance(node, ast.ImportFrom) or node.module is None:
            continue
        if node.level == 1:
            submodule = f"{package}.{node.module}"
        elif node.level == 0 and node.module.startswith(f"{package}."):
            submodule = node.module
        else:
            continue
        for alias in node.names:
            exports[alias.asname or alias.name] = (submodule, alias.name)
    return exports


def defer_heavy_packages() -> None:
    """Defer every package of DEFERRED_PACKAGES (before anything imports them)."""
    for name in DEFERRED_PACKAGES:
        defer_package_init(name)
