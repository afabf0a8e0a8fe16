"""PKCE (RFC 7636): the code challenge an authorization request may carry, and the
check of the token request's code verifier against it."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets

# RFC 7636 §4.2; S256 first, as clients should prefer it.
METHODS = ("S256", "plain")
# §4.1: 43 to 128 characters of [A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~". An S256
# challenge (unpadded base64url of 32 bytes) is 43 of them, so the same rule fits both.
_KEY_RE = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")


def challenge_problem(challenge: str, method: str) -> str | None:
    """Why an authorization request's challenge is refused, or None."""
    if method not in METHODS:
        return "The code challenge method must be one of S256, plain."
    if not _KEY_RE.match(challenge):
        return "The code challenge must be 43 to 128 characters of A-Z, a-z, 0-9, '-', '.', '_' and '~'."
    return None


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def verifier_matches(verifier: str, challenge: str, method: str) -> bool:
    """True if ``verifier`` is well-formed and proves ``challenge`` (constant-time compare)."""
    if not _KEY_RE.match(verifier):
        return False
    expected = s256(verifier) if method == "S256" else verifier
    return secrets.compare_digest(expected, challenge)
