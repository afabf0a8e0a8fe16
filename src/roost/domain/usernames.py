"""Usernames nobody may register through the API: Mastodon's default reserved list,
two more operator mailboxes, and names made of underscores only."""

from __future__ import annotations

# Mastodon's default `reserved_usernames` (config/settings.yml), plus the RFC 2142
# mailboxes it lacks, which a newcomer could use to pose as the instance's operator.
RESERVED_USERNAMES = frozenset({
    "abuse", "account", "accounts", "admin", "administration", "administrator", "admins",
    "help", "helpdesk", "instance", "mod", "moderator", "moderators", "mods", "owner", "root",
    "security", "server", "staff", "support", "webmaster",
    "hostmaster", "postmaster",
})


def is_reserved(username: str) -> bool:
    """Case-insensitive; ``_``, ``__``... are reserved too (they read as nobody in a mention)."""
    lowered = username.lower()
    return lowered in RESERVED_USERNAMES or (bool(lowered) and not lowered.strip("_"))
