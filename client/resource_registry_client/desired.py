"""The declarative file: desired default limits per namespace, in YAML.

    # resource-registry plan limits.yaml / apply limits.yaml / export --output limits.yaml
    namespaces:
      default:
        gpt-4:
          rpm: 500/1m
          tpm: 100000/1m,burst=150000
        openai/gpt-4:
          rpm: 60/1m,refill=1

``namespaces`` is the only top-level key; under it each namespace maps resource names to their
limits, each limit name to its compact form (see ``limits``). A namespace left empty (``{}``)
wants no resources: ``plan --prune`` then deletes every resource in it. Every mistake is reported
with its line and column, all of them at once.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from resource_registry_client.limits import (
    COMPACT_SYNTAX,
    Limit,
    LimitSyntaxError,
    check_limit_name,
    check_limit_set,
    check_resource_name,
    parse_compact,
)

TOP_LEVEL_KEY = "namespaces"
CORE_TAG = "tag:yaml.org,2002:"
HEADER = """\
# Desired default limits per namespace and resource (resource-registry plan/apply FILE).
# A limit is CAPACITY/PERIOD[,burst=N][,refill=N]: CAPACITY tokens, refilled by refill
# (default CAPACITY) every PERIOD (s, m, h or d), with room for burst (default CAPACITY).
"""


@dataclass(frozen=True)
class DesiredState:
    """Namespace → resource → its whole set of limits, sorted by name."""

    namespaces: Mapping[str, Mapping[str, tuple[Limit, ...]]] = field(default_factory=dict)


class DesiredFileError(ValueError):
    """A file that does not follow the schema; ``problems`` are ``(line, column, message)``,
    1-based, in file order."""

    def __init__(self, source: str, problems: list[tuple[int, int, str]]) -> None:
        self.source = source
        self.problems = sorted(problems)
        lines = [f"{source}:{line}:{column}: {message}" for line, column, message in self.problems]
        super().__init__("\n".join(lines))


def load_desired(text: str, source: str = "<file>") -> DesiredState:
    """Parse and check a declarative file; DesiredFileError lists every problem found."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise DesiredFileError(
            source, [(line, column, f"not valid YAML: {error.problem}")]
        ) from None
    except yaml.YAMLError as error:
        raise DesiredFileError(source, [(1, 1, f"not valid YAML: {error}")]) from None
    reader = _Reader()
    state = reader.read(root)
    if reader.problems:
        raise DesiredFileError(source, reader.problems)
    return state


def dump_desired(state: DesiredState) -> str:
    """The file for ``state``: load_desired(dump_desired(s)) == s."""
    document = {
        TOP_LEVEL_KEY: {
            namespace: {
                resource: {limit.name: limit.compact for limit in limits}
                for resource, limits in sorted(resources.items())
            }
            for namespace, resources in sorted(state.namespaces.items())
        }
    }
    return HEADER + yaml.safe_dump(document, sort_keys=False, default_flow_style=False)


class _Reader:
    """Walks the YAML node tree (not the loaded objects) to keep each value's position and to
    catch repeated keys, which yaml.safe_load silently resolves to the last one."""

    def __init__(self) -> None:
        self.problems: list[tuple[int, int, str]] = []

    def read(self, root: yaml.Node | None) -> DesiredState:
        if root is None:
            self._problem(None, f"the file is empty; it needs a top-level '{TOP_LEVEL_KEY}:' key")
            return DesiredState()
        namespaces: dict[str, dict[str, tuple[Limit, ...]]] = {}
        top = dict(self._entries(root, "the file"))
        for key, (key_node, _) in top.items():
            if key != TOP_LEVEL_KEY:
                self._problem(key_node, f"unknown key {key!r}; the file has only '{TOP_LEVEL_KEY}'")
        if TOP_LEVEL_KEY not in top and isinstance(root, yaml.MappingNode):
            self._problem(root, f"missing the top-level '{TOP_LEVEL_KEY}:' key")
        if TOP_LEVEL_KEY in top:
            for namespace, (name_node, resources) in self._entries(
                top[TOP_LEVEL_KEY][1], f"'{TOP_LEVEL_KEY}'"
            ):
                if not namespace or "/" in namespace:
                    self._problem(name_node, f"namespace name {namespace!r} is not valid")
                namespaces[namespace] = self._resources(namespace, resources)
        return DesiredState(namespaces)

    def _resources(self, namespace: str, node: yaml.Node) -> dict[str, tuple[Limit, ...]]:
        resources: dict[str, tuple[Limit, ...]] = {}
        if _is_null(node):
            return resources  # "default:" with nothing under it: no resources wanted
        for resource, (name_node, limits_node) in self._entries(node, f"namespace {namespace!r}"):
            try:
                check_resource_name(resource)
            except LimitSyntaxError as error:
                self._problem(name_node, str(error))
                continue
            limits = self._limits(resource, limits_node)
            if limits is not None:
                resources[resource] = limits
        return resources

    def _limits(self, resource: str, node: yaml.Node) -> tuple[Limit, ...] | None:
        if _is_null(node) or (isinstance(node, yaml.MappingNode) and not node.value):
            self._problem(node, f"resource {resource!r} has no limits; give 1 to 40")
            return None
        if not isinstance(node, yaml.MappingNode):
            self._problem(
                node, f"resource {resource!r} must map limit names to limits: rpm: 500/1m"
            )
            return None
        limits: list[Limit] = []
        clean = True
        for name, (name_node, spec_node) in self._entries(node, f"resource {resource!r}"):
            if not isinstance(spec_node, yaml.ScalarNode) or _is_null(spec_node):
                self._problem(spec_node, f"limit {name!r} of {resource!r} must be {COMPACT_SYNTAX}")
                clean = False
                continue
            try:
                check_limit_name(name)
            except LimitSyntaxError as error:
                self._problem(name_node, f"resource {resource!r}: {error}")
                clean = False
                continue
            try:
                limits.append(parse_compact(name, str(spec_node.value)))
            except LimitSyntaxError as error:
                self._problem(spec_node, f"resource {resource!r}, limit {error}")
                clean = False
        if not clean:
            return None
        try:
            return check_limit_set(limits)
        except LimitSyntaxError as error:
            self._problem(node, f"resource {resource!r}: {error}")
            return None

    def _entries(self, node: yaml.Node, what: str) -> Iterator[tuple[str, tuple[yaml.Node, Any]]]:
        """The (key, (key node, value node)) pairs of a mapping whose keys are plain scalars."""
        if not _plain(node):
            self._problem(node, f"{what} has the YAML tag {node.tag}; this file takes no tags")
            return
        if not isinstance(node, yaml.MappingNode):
            self._problem(node, f"{what} must be a mapping of names to values")
            return
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            if not _plain(key_node) or not _plain(value_node):
                self._problem(key_node, f"a YAML tag in {what}; this file takes no tags")
                continue
            if not isinstance(key_node, yaml.ScalarNode) or _is_null(key_node):
                self._problem(key_node, f"a key in {what} must be a name")
                continue
            key = str(key_node.value)
            if key in seen:
                self._problem(
                    key_node, f"{key!r} appears twice in {what} (first on line {seen[key]})"
                )
                continue
            seen[key] = key_node.start_mark.line + 1
            yield key, (key_node, value_node)

    def _problem(self, node: yaml.Node | None, message: str) -> None:
        mark = node.start_mark if node is not None else None
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        self.problems.append((line, column, message))


def _plain(node: yaml.Node) -> bool:
    """Whether a node has one of YAML's own tags; nothing in the file is ever constructed, but a
    tag (!!python/..., !custom) is a sign the file means something this schema does not."""
    return node.tag.startswith(CORE_TAG) and "/" not in node.tag.removeprefix(CORE_TAG)


def _is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null"
