"""The HTTP routes: the one definition the stack, the local server and the OpenAPI document use."""

from __future__ import annotations

import re
from dataclasses import dataclass

JSON_MEDIA_TYPE = "application/json"  # of every body the API takes or answers with
PATH_PARAMETER = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Route:
    """One API operation and the Lambda function that serves it."""

    method: str
    path: str  # API Gateway's template syntax: /resources/{resource}/defaults
    function_id: str  # the name of the function's construct
    module: str  # the handler module under handlers/

    @property
    def parameters(self) -> tuple[str, ...]:
        """The names of the path's parameters, in order."""
        return tuple(PATH_PARAMETER.findall(self.path))

    @property
    def resolver_path(self) -> str:
        """The path in Powertools' syntax: /resources/<resource>/defaults."""
        return PATH_PARAMETER.sub(r"<\1>", self.path)

    @property
    def path_pattern(self) -> re.Pattern[str]:
        """Matches a request path, one segment per parameter, as API Gateway does."""
        segments = PATH_PARAMETER.split(self.path)
        # split() alternates literal text and parameter names.
        pattern = "".join(
            f"(?P<{part}>[^/]+)" if index % 2 else re.escape(part)
            for index, part in enumerate(segments)
        )
        return re.compile(pattern)

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

API_ROUTES: tuple[Route, ...] = (SET_DEFAULTS, GET_DEFAULTS, DELETE_DEFAULTS, LIST_RESOURCES)

# Invoked by hand, never through the API.
BACKFILL_FUNCTION_ID = "Backfill"
BACKFILL_HANDLER = "handlers.handle_backfill.handler"
