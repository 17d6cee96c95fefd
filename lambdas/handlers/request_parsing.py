"""What a request says, parsed and checked: its path's names, its query, its JSON body and its
conditional headers. Each refusal is an HttpError or a domain error saying what is wrong.
"""

from __future__ import annotations

import hashlib
import json
import re
from http import HTTPStatus
from typing import Any, Final

from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

from handlers.error_codes import EdgeErrorCode
from handlers.routes import JSON_MEDIA_TYPE, NAMESPACE_PARAMETER
from resource_registry import json_text, schema, service
from resource_registry.effective import ETAG_PREFIX, EffectiveView
from resource_registry.errors import InvalidInputError, PreconditionFailedError
from resource_registry.idempotency import IdempotentRequest
from resource_registry.model import Limit, NoneMatch, Precondition
from resource_registry.records import Record
from resource_registry.store import RegistryStore
from resource_registry.validation import parse_limits, validate_entity_id, validate_resource_name

# 1,000 limits (the most a write holds: validation.MAX_LIMITS) of the longest names and largest
# numbers, with every field, are about 180 KB.
MAX_BODY_BYTES = 256 * 1024
# A valid body nests three levels ({"limits": [{...}]}); json's own limit varies with the stack.
MAX_NESTING = 16
# An ETag this API issues: strong, quoted, a resource's version (or the effective view's prefix)
# and a digest.
ETAG_PATTERN = re.compile(rf'"((?:\d{{1,20}}|{ETAG_PREFIX})-[0-9a-f]{{12}})"')
# The query parameter of a write that only says what the write would do.
DRY_RUN_PARAMETER = "dry_run"
BOOLEAN_VALUES = {"true": True, "false": False}
WEAK_PREFIX = "W/"
# Idempotency-Key: 1 to 255 printable ASCII characters (Stripe's bound).
IDEMPOTENCY_KEY_PATTERN = re.compile(r"[\x20-\x7e]{1,255}")


class HttpError(Exception):
    """A request the HTTP edge refuses before it reaches the domain."""

    def __init__(self, status: HTTPStatus, code: EdgeErrorCode, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


def namespace_store(event: APIGatewayProxyEvent) -> RegistryStore:
    """The store of the request's namespace (``default`` without the /namespaces prefix)."""
    parameters = event.path_parameters or {}
    return service.store_for(parameters.get(NAMESPACE_PARAMETER, schema.DEFAULT_NAMESPACE))


def namespace_effective_view(event: APIGatewayProxyEvent) -> EffectiveView:
    """The effective view of the request's namespace (``default`` without the prefix)."""
    parameters = event.path_parameters or {}
    return service.effective_view_for(parameters.get(NAMESPACE_PARAMETER, schema.DEFAULT_NAMESPACE))


def parse_json_body(event: APIGatewayProxyEvent) -> Any:
    """The request's JSON body, or HttpError/InvalidInputError saying what is wrong with it."""
    content_type = event.headers.get("content-type", "")
    if content_type.split(";")[0].strip().lower() != JSON_MEDIA_TYPE:
        raise HttpError(
            HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
            EdgeErrorCode.UNSUPPORTED_MEDIA_TYPE,
            f"Content-Type must be {JSON_MEDIA_TYPE}",
        )
    if not event.body:
        raise InvalidInputError("the request body is empty; send a JSON object")
    try:
        text = event.decoded_body or ""
    except (ValueError, UnicodeError):
        raise InvalidInputError("the request body is not valid base64-encoded UTF-8") from None
    if len(text.encode("utf-8", "surrogatepass")) > MAX_BODY_BYTES:
        raise HttpError(
            HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
            EdgeErrorCode.CONTENT_TOO_LARGE,
            f"the request body is over {MAX_BODY_BYTES} bytes",
        )
    if _nesting_depth(text) > MAX_NESTING:
        raise InvalidInputError(
            f"the request body is nested too deeply (over {MAX_NESTING} levels)"
        )
    try:
        return json_text.loads(text)
    except json_text.DuplicateKeyError as error:
        raise InvalidInputError(f"the request body is not valid: {error}") from None
    except (ValueError, RecursionError, UnicodeError) as error:
        raise InvalidInputError(f"the request body is not valid JSON: {_describe(error)}") from None


def parse_set_request(body: Any, resource: str) -> tuple[Limit, ...]:
    """The limits of a PUT body ``{"limits": [...]}``; a ``resource`` field must match the path."""
    if not isinstance(body, dict):
        raise InvalidInputError('the request body must be a JSON object: {"limits": [...]}')
    unknown = sorted(str(field) for field in body if field not in ("limits", "resource"))
    if unknown:
        raise InvalidInputError(
            f"unknown field(s) {', '.join(map(repr, unknown))}; allowed: 'limits'"
        )
    if "limits" not in body:
        raise InvalidInputError("the request body is missing 'limits'")
    if "resource" in body and body["resource"] != resource:
        raise InvalidInputError("'resource' in the body differs from the resource in the path")
    return parse_limits(body["limits"])


def resource_parameter(event: APIGatewayProxyEvent) -> str:
    """The path's resource name, decoded and validated.

    API Gateway keeps ``path`` percent-encoded but decodes ``pathParameters``; the router
    matches the former, so the name comes from the latter.
    """
    return validate_resource_name((event.path_parameters or {}).get("resource"))


def entity_parameter(event: APIGatewayProxyEvent) -> str:
    """The path's entity id, decoded and validated (zae-limiter's entity id rule)."""
    return validate_entity_id((event.path_parameters or {}).get("entity"))


def dry_run(event: APIGatewayProxyEvent) -> bool:
    """Whether a write's query asks only what it would do (``?dry_run=true``); the query may
    hold nothing else."""
    value = query_parameters(event, (DRY_RUN_PARAMETER,)).get(DRY_RUN_PARAMETER, "false")
    if value.lower() not in BOOLEAN_VALUES:
        raise InvalidInputError(f"{DRY_RUN_PARAMETER} must be 'true' or 'false'")
    return BOOLEAN_VALUES[value.lower()]


class EntityTags(Record):
    """An If-Match or If-None-Match header: ``*``, or a list of entity tags."""

    __slots__ = ("star", "issued", "foreign")
    star: Final[bool]  # the header is ``*``: any state of the resource
    issued: Final[frozenset[str]]  # the ETag tokens of the list that this API issues
    foreign: Final[tuple[str, ...]]  # the list's other members, as sent

    def __init__(self, star: bool, issued: frozenset[str], foreign: tuple[str, ...]) -> None:
        self.star = star
        self.issued = issued
        self.foreign = foreign


def entity_tags(header: str, weak_matches: bool) -> EntityTags:
    """Parse an entity-tag list (RFC 9110 8.8.3). With ``weak_matches`` (If-None-Match compares
    weakly) ``W/"3-..."`` names the same state as ``"3-..."``; otherwise a weak tag is foreign."""
    if header.strip() == "*":
        return EntityTags(True, frozenset(), ())
    issued: set[str] = set()
    foreign: list[str] = []
    for member in header.split(","):
        tag = member.strip()
        compared = tag.removeprefix(WEAK_PREFIX) if weak_matches else tag
        match = ETAG_PATTERN.fullmatch(compared)
        if match:
            issued.add(match.group(1))
        else:
            foreign.append(tag)
    return EntityTags(False, frozenset(issued), tuple(foreign))


def precondition(event: APIGatewayProxyEvent) -> Precondition | None:
    """What If-Match requires of the resource, None without the header.

    ``*`` requires defaults to exist; a list of ETags requires one of their versions. Weak ETags
    never match (If-Match compares strongly), and neither does anything this API did not issue.
    """
    header = event.headers.get("if-match")
    if header is None:
        return None
    tags = entity_tags(header, weak_matches=False)
    if tags.star:
        return Precondition()
    if tags.foreign:
        raise PreconditionFailedError(
            f"If-Match {tags.foreign[0][:80]!r} matches no ETag this API issues "
            '(quoted, as a GET answers it, e.g. "3-5d41402abc4b")'
        )
    return Precondition(tags.issued)


def create_only(event: APIGatewayProxyEvent) -> NoneMatch | None:
    """If-None-Match on a write: only ``*`` (create only) means anything there; any other value
    is InvalidInputError, lest a mistyped header be ignored and existing defaults overwritten."""
    header = event.headers.get("if-none-match")
    if header is None:
        return None
    if header.strip() != "*":
        raise InvalidInputError(
            f"If-None-Match on PUT takes only * (create only), not {header.strip()[:80]!r}"
        )
    return NoneMatch()


def none_match(event: APIGatewayProxyEvent) -> NoneMatch | None:
    """What If-None-Match requires of the resource, None without the header.

    ``*`` requires that it has no defaults; a list of ETags that it is at none of them (compared
    weakly); a tag this API never issued matches nothing.
    """
    header = event.headers.get("if-none-match")
    if header is None:
        return None
    tags = entity_tags(header, weak_matches=True)
    if tags.star:
        return NoneMatch()
    # Only tags this API never issued: no state of the resource fails that, so no condition.
    return NoneMatch(tags.issued) if tags.issued else None


def idempotent_request(event: APIGatewayProxyEvent, asked: object) -> IdempotentRequest | None:
    """The write's Idempotency-Key with a fingerprint of what it asks (``asked``, the parsed
    body, with the method, the namespace, the resource and its conditions); None without one."""
    key = event.headers.get("idempotency-key")
    if key is None:
        return None
    if not IDEMPOTENCY_KEY_PATTERN.fullmatch(key) or not key.strip():
        raise InvalidInputError("Idempotency-Key must be 1 to 255 printable ASCII characters")
    parameters = event.path_parameters or {}
    request = [
        event.http_method,
        parameters.get(NAMESPACE_PARAMETER, schema.DEFAULT_NAMESPACE),
        parameters.get("resource"),
        event.headers.get("if-match"),
        event.headers.get("if-none-match"),
        asked,
    ]
    fingerprint = hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest()
    return IdempotentRequest(key, fingerprint)


def query_parameters(event: APIGatewayProxyEvent, allowed: tuple[str, ...] = ()) -> dict[str, str]:
    """The query string, each parameter once and only those ``allowed``."""
    multi = event.multi_value_query_string_parameters or {}
    unknown = sorted(set(multi) - set(allowed))
    if unknown:
        raise InvalidInputError(f"unknown query parameter(s): {', '.join(unknown)}")
    repeated = sorted(name for name, values in multi.items() if len(values) > 1)
    if repeated:
        raise InvalidInputError(f"query parameter(s) given more than once: {', '.join(repeated)}")
    return {name: values[0] for name, values in multi.items()}


def _describe(error: Exception) -> str:
    if isinstance(error, json.JSONDecodeError):
        return f"{error.msg} at line {error.lineno}, column {error.colno}"
    if isinstance(error, RecursionError):
        return "nested too deeply"
    if isinstance(error, UnicodeError):
        return "it is not UTF-8"
    if isinstance(error, json_text.NotAJsonNumberError):
        return str(error)
    return "a number in it is too long or not a JSON number"


def _nesting_depth(text: str) -> int:
    """How deep arrays and objects nest in ``text``, brackets inside strings not counted."""
    if text.count("[") + text.count("{") <= MAX_NESTING:
        return 0  # cannot nest deeper than it has brackets
    depth = deepest = 0
    in_string = escaped = False
    for character in text:
        if in_string:
            if escaped:
                escaped = False
            elif character == "\\":
                escaped = True
            elif character == '"':
                in_string = False
        elif character == '"':
            in_string = True
        elif character in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif character in "]}":
            depth -= 1
    return deepest
