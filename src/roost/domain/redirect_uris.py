"""Which redirect URIs an OAuth app may register: absolute, no fragment, a safe scheme.

Doorkeeper's rules as Mastodon configures them (absolute URI, no fragment, the
out-of-band URN, ``javascript:``/``data:``/``vbscript:`` forbidden), plus ``file:``.
Custom app schemes (``myapp://cb``, ``com.example.app:/cb``) stay allowed for native
clients. Written here because ``urllib.parse`` splits but does not judge a URI.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

OOB = "urn:ietf:wg:oauth:2.0:oob"
MAX_LENGTH = 2000
FORBIDDEN_SCHEMES = frozenset({"javascript", "data", "vbscript", "file"})
_SCHEME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")
_CONTROL_OR_SPACE_RE = re.compile(r"[\x00-\x20\x7f]")


def redirect_uri_problem(uri: str) -> str | None:
    """Why ``uri`` may not be registered (Doorkeeper's wording), or None if it may."""
    if uri == OOB:
        return None
    if len(uri) > MAX_LENGTH:
        return f"is too long (maximum is {MAX_LENGTH} characters)"
    if _CONTROL_OR_SPACE_RE.search(uri) or not _SCHEME_RE.match(uri):
        return "must be an absolute URI."
    try:
        parts = urlsplit(uri)
    except ValueError:  # e.g. an unclosed IPv6 bracket in the host
        return "must be an absolute URI."
    if parts.scheme in FORBIDDEN_SCHEMES:
        return "is forbidden by the server."
    if "#" in uri:
        return "cannot contain a fragment."
    if parts.scheme in ("http", "https"):
        if not parts.hostname:
            return "must be an absolute URI."
    elif not uri.split(":", 1)[1].strip("/"):
        return "must be an absolute URI."
    return None
