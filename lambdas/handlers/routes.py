"""The HTTP routes: the one definition the stack, the local server and the OpenAPI document use."""

from __future__ import annotations

import re
from typing import Final

from resource_registry.records import Record

JSON_MEDIA_TYPE = "application/json"  # of every body the API takes or answers with
PATH_PARAMETER = re.compile(r"\{(\w+)\}")
# Every /resources route is also served in a named namespace; without the prefix, "default".
NAMESPACE_PREFIX = "/namespaces/{namespace}"
NAMESPACE_PARAMETER = "namespace"


class Route(Record):
    """One API operation and the Lambda function that serves it."""

    __slots__ = ("method", "path", "function_id", "module", "in_namespaces")
    method: Final[str]
    path: Final[str]  # API Gateway's template syntax: /resources/{resource}/defaults
    function_id: Final[str]  # the name of the function's construct
    module: Final[str]  # the handler module under handlers/
    in_namespaces: Final[bool]  # also served under NAMESPACE_PREFIX

    def __init__(
        self, method: str, path: str, function_id: str, module: str, in_namespaces: bool = True
    ) -> None:
        self.method = method
        self.path = path
        self.function_id = function_id
        self.module = module
        self.in_namespaces = in_namespaces

    @property
    def paths(self) -> tuple[str, ...]:
        """Every path the operation is served at: its own, and its namespaced twin."""
        return (self.path, NAMESPACE_PREFIX + self.path) if self.in_namespaces else (self.path,)

    @property
    def resolver_paths(self) -> tuple[str, ...]:
        """The paths in Powertools' syntax: /resources/<resource>/defaults."""
        return tuple(PATH_PARAMETER.sub(r"<\1>", path) for path in self.paths)

    @property
    def path_patterns(self) -> tuple[re.Pattern[str], ...]:
        """Match a request path, one segment per parameter, as API Gateway does."""
        return tuple(path_pattern(path) for path in self.paths)

    @property
    def handler(self) -> str:
        """The Lambda handler string."""
        return f"handlers.{self.module}.handler"


SET_DEFAULTS = Route("PUT", "/resources/{resource}/defaults", "SetDefaults", "handle_set_defaults")
GET_DEFAULTS = Route("GET", "/resources/{resource}/defaults", "GetDefaults", "handle_get_defaults")
DELETE_DEFAULTS = Route(
    "DELETE", "/resources/{resource}/defaults", "DeleteDefaults", "handle_delete_defaults"
)
LIST_RESOURCES = Route("GET", "/resources", "ListResources", "handle_list_resources")
GET_HISTORY = Route("GET", "/resources/{resource}/history", "GetHistory", "handle_get_history")
GET_EFFECTIVE_LIMITS = Route(
    "GET",
    "/entities/{entity}/resources/{resource}/effective",
    "GetEffectiveLimits",
    "handle_get_effective_limits",
)
LIST_NAMESPACES = Route(
    "GET", "/namespaces", "ListNamespaces", "handle_list_namespaces", in_namespaces=False
)

API_ROUTES: tuple[Route, ...] = (
    SET_DEFAULTS,
    GET_DEFAULTS,
    DELETE_DEFAULTS,
    LIST_RESOURCES,
    GET_HISTORY,
    GET_EFFECTIVE_LIMITS,
    LIST_NAMESPACES,
)

# Invoked by hand, never through the API.
BACKFILL_FUNCTION_ID = "Backfill"
BACKFILL_HANDLER = "handlers.handle_backfill.handler"
# Invoked by the table's stream.
HEALER_FUNCTION_ID = "Healer"
HEALER_HANDLER = "handlers.handle_stream.handler"


def path_parameters(path: str) -> tuple[str, ...]:
    """The names of a path's parameters, in order."""
    return tuple(PATH_PARAMETER.findall(path))


def unencoded_slash_hint(path: str) -> str:
    """For a path that names a route once a '/' in its names is written %2F, a hint saying so
    (to end a 404's message); else ''."""
    for route in API_ROUTES:
        for template in route.paths:
            # Here a parameter spans segments, as a name with an unencoded '/' does.
            segments = PATH_PARAMETER.split(template)
            spanning = "".join(
                f"(?P<{part}>[^/?]+(?:/[^/?]+)*?)" if index % 2 else re.escape(part)
                for index, part in enumerate(segments)
            )
            found = re.fullmatch(spanning, path)
            if found and any("/" in value for value in found.groupdict().values()):
                names = {
                    name: value.replace("/", "%2F") for name, value in found.groupdict().items()
                }
                encoded = template.format(**names)
                return f"; a name holding '/' is one segment, with '/' written %2F: {encoded}"
    return ""


def path_pattern(path: str) -> re.Pattern[str]:
    """Matches a request path, one segment per parameter, as API Gateway does."""
    segments = PATH_PARAMETER.split(path)
    # split() alternates literal text and parameter names.
    pattern = "".join(
        f"(?P<{part}>[^/]+)" if index % 2 else re.escape(part)
        for index, part in enumerate(segments)
    )
    return re.compile(pattern)
