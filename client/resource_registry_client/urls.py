"""Whether a base URL can be called at all, said in a few words before any request is made.

urllib accepts ``http://host:abc`` and ``http://[::1`` until the request, then fails with a
traceback; the command and the local tools check their URLs here instead.
"""

from __future__ import annotations

from urllib.parse import urlsplit

SCHEMES = ("http", "https")
MAX_PORT = 65535


def url_problem(url: str) -> str | None:  # noqa: PLR0911 - one return per problem, in order
    """What keeps ``url`` from being an http(s) base URL, to follow its name in a message
    (``"has port 'abc', ..."``); None when it can be called."""
    if not url:
        return "is empty"
    if any(character.isspace() or not character.isprintable() for character in url):
        return "contains a space or a control character"
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError as error:
        if str(error) == "Invalid IPv6 URL":
            return "has an unclosed '[' (an IPv6 address is written in brackets, [::1])"
        return f"is not a URL ({error})"
    if parts.scheme.lower() not in SCHEMES:
        hint = f" (did you mean http://{url}?)" if "://" not in url else ""
        return f"is not an http(s) URL{hint}"
    if not host:
        return "has no host"
    if parts.username is not None or parts.password is not None:
        return "must not carry a user name or password (credentials come from the AWS chain)"
    port = _written_port(parts.netloc)
    if port is not None and not (port.isdigit() and 1 <= int(port) <= MAX_PORT):
        return f"has port {port!r}, which is not a number from 1 to {MAX_PORT}"
    if parts.query or parts.fragment:
        return "must not have a query string or a fragment"
    return None


def _written_port(netloc: str) -> str | None:
    """The port as written after the host (maybe empty or not a number), or None."""
    host = netloc.rpartition("@")[2]
    if host.startswith("["):
        host = host.partition("]")[2]
        return host[1:] if host.startswith(":") else None
    return host.rpartition(":")[2] if ":" in host else None
