"""The rooms of the code base and which way their imports go, read from the code itself.

`python -m devtools.architecture` prints the Mermaid diagram that docs/architecture.md shows;
tests/docs/test_architecture.py fails when the two differ, or when an import goes a way the rules
below forbid.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAYER = "lambdas/layer/python/resource_registry"
# Each room and the source files it holds (paths relative to the repository, globbed).
ROOMS: dict[str, tuple[str, ...]] = {
    "client": ("client/resource_registry_client/*.py",),
    "handlers": ("lambdas/handlers/*.py",),
    "service wiring": (f"{LAYER}/service.py", f"{LAYER}/clients.py", f"{LAYER}/observability.py"),
    "use cases": (
        f"{LAYER}/store.py",
        f"{LAYER}/repairs.py",
        f"{LAYER}/idempotency.py",
        f"{LAYER}/healer.py",
        f"{LAYER}/change_events.py",
        f"{LAYER}/registry_commit.py",
        f"{LAYER}/audit.py",
        f"{LAYER}/namespaces.py",
        f"{LAYER}/effective.py",
        f"{LAYER}/backfill/*.py",
    ),
    "detection": (f"{LAYER}/detection.py",),
    "layouts": (f"{LAYER}/layouts/*.py",),
    "foundations": (
        f"{LAYER}/__init__.py",
        f"{LAYER}/schema.py",
        f"{LAYER}/model.py",
        f"{LAYER}/records.py",
        f"{LAYER}/errors.py",
        f"{LAYER}/validation.py",
        f"{LAYER}/dynamodb.py",
        f"{LAYER}/retry.py",
        f"{LAYER}/table.py",
        f"{LAYER}/ulid.py",
        f"{LAYER}/json_text.py",
        f"{LAYER}/stream_filter.py",
    ),
    "infra": ("app.py", "infra/*.py"),
    "devtools": ("devtools/**/*.py",),
    "benchmarks": ("benchmarks/*.py",),
}
# Imports that must never exist, with the reason (what the layering protects).
FORBIDDEN: dict[tuple[str, str], str] = {
    ("client", "handlers"): "the client installs alone: no service code",
    ("client", "use cases"): "the client installs alone: no service code",
    ("client", "foundations"): "the client installs alone: no service code",
    ("foundations", "handlers"): "the layer knows nothing of HTTP",
    ("use cases", "handlers"): "the layer knows nothing of HTTP",
    ("layouts", "handlers"): "the layer knows nothing of HTTP",
    ("use cases", "detection"): "the layout is detected once, by the service wiring",
    ("handlers", "layouts"): "a handler asks the store, never a layout",
    ("handlers", "infra"): "functions never import the stack",
    ("foundations", "use cases"): "foundations are the bottom room",
    ("layouts", "use cases"): "a layout maps items; use cases sit above it",
}


def room_files() -> dict[str, list[Path]]:
    """Each room's files."""
    return {
        room: sorted(path for pattern in patterns for path in ROOT.glob(pattern))
        for room, patterns in ROOMS.items()
    }


def module_of(path: Path) -> str:
    """The dotted name a file is imported by."""
    relative = path.relative_to(ROOT)
    for base in ("lambdas/layer/python", "lambdas", "client"):
        if relative.is_relative_to(base):
            relative = relative.relative_to(base)
            break
    parts = relative.with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> Iterator[str]:
    """The modules a file imports when it runs (absolute names), at any depth of the file; those
    under ``if TYPE_CHECKING:`` are for the type checker alone and left out."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and ast.unparse(node.test).endswith("TYPE_CHECKING")
        for statement in node.body
        for inner in ast.walk(statement)
    }
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def edges() -> set[tuple[str, str]]:
    """Which room imports which (a room's imports of itself left out)."""
    files = room_files()
    room_of_module = {module_of(path): room for room, paths in files.items() for path in paths}
    found: set[tuple[str, str]] = set()
    for room, paths in files.items():
        for path in paths:
            for module in imports_of(path):
                target = room_of_module.get(module)
                if target is not None and target != room:
                    found.add((room, target))
    return found


def mermaid() -> str:
    """The diagram: one arrow per pair of rooms, from the importer to what it imports."""
    lines = ["flowchart TD"]
    names = {room: room.replace(" ", "_") for room in ROOMS}
    lines += [f'    {names[room]}["{room}"]' for room in ROOMS]
    order = list(ROOMS)
    for source, target in sorted(
        edges(), key=lambda pair: (order.index(pair[0]), order.index(pair[1]))
    ):
        lines.append(f"    {names[source]} --> {names[target]}")
    return "\n".join(lines)


def main() -> None:
    print(mermaid())


if __name__ == "__main__":
    main()
