"""OAuth scopes as Mastodon defines them, and the rule for "does this token allow that"."""

from __future__ import annotations

READ_SCOPES = frozenset(
    "read:" + s
    for s in ["accounts", "blocks", "bookmarks", "favourites", "filters", "follows", "lists", "mutes", "notifications", "search", "statuses"]
)
WRITE_SCOPES = frozenset(
    "write:" + s
    for s in ["accounts", "blocks", "bookmarks", "conversations", "favourites", "filters", "follows", "lists", "media", "mutes", "notifications", "reports", "statuses"]
)
FOLLOW_SCOPES = frozenset(
    {"read:blocks", "read:follows", "read:mutes", "write:blocks", "write:follows", "write:mutes"}
)
TOP_LEVEL = frozenset({"read", "write", "follow", "push", "profile"})
ALL_SCOPES = TOP_LEVEL | READ_SCOPES | WRITE_SCOPES | {"admin:read", "admin:write"}
DEFAULT_SCOPES = ("read",)


class InvalidScope(ValueError):
    pass


def parse_scopes(raw: str | None, default: tuple[str, ...] = DEFAULT_SCOPES) -> tuple[str, ...]:
    """Space- or plus-separated scopes, validated and de-duplicated, in the order given."""
    if raw is None or not raw.strip():
        return default
    out: list[str] = []
    for scope in raw.replace("+", " ").split():
        if scope not in ALL_SCOPES:
            raise InvalidScope(scope)
        if scope not in out:
            out.append(scope)
    return tuple(out)


def expand(scopes: tuple[str, ...] | frozenset[str]) -> frozenset[str]:
    """Every granular scope a set of scopes grants (``read`` grants every ``read:*``)."""
    granted = set(scopes)
    if "read" in granted:
        granted |= READ_SCOPES
    if "write" in granted:
        granted |= WRITE_SCOPES
    if "follow" in granted:
        granted |= FOLLOW_SCOPES
    return frozenset(granted)


def allows(granted: frozenset[str], required: str) -> bool:
    """True if a token with ``granted`` (already expanded) may use an endpoint needing ``required``.

    ``required`` is a granular scope such as ``read:statuses``; the top-level
    scope alone also passes (a ``read`` token may read statuses).
    """
    if required in granted:
        return True
    top = required.split(":", 1)[0]
    return top in granted


def is_subset(requested: tuple[str, ...], allowed: tuple[str, ...]) -> bool:
    return expand(requested) <= expand(allowed)
