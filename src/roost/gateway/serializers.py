"""Domain records -> Mastodon JSON entities.

The parts of an entity that do not depend on the viewer are memoised per
record version (roost.domain.versions): a record's version moves with any
change to it, so comparing versions tells whether the memo is still valid, even
when the cache hands back a new copy decoded from bytes. Unversioned records
(version 0) are never served from a memo.
"""

from __future__ import annotations

import time
from typing import Any, TypeVar

import orjson

from roost import __version__
from roost.domain.content import plain_note_to_html
from roost.domain.entities import (
    Account,
    Application,
    Notification,
    Relationship,
    Status,
    Token,
    ViewerFlags,
)
from roost.gateway.page_memo import PageMemo

MEMO_LIMIT = 100_000
MASTODON_VERSION = "4.3.0"

K = TypeVar("K")
V = TypeVar("V")


def remember(memo: dict[K, V], key: K, value: V) -> V:
    """Store into a memo bounded at ``MEMO_LIMIT`` entries, evicting the oldest.

    First in, first out (a dict keeps insertion order, so the oldest is the first
    key: O(1)). Clearing the whole memo when full, as before, made every status
    re-render at once on graphs with more statuses than the limit."""
    if len(memo) >= MEMO_LIMIT and key not in memo:
        del memo[next(iter(memo))]
    memo[key] = value
    return value


_VIEWER_DEFAULTS = b',"muted":false,"bookmarked":false,"pinned":false,"filtered":[]'


def _flags(favourited: bool, reblogged: bool) -> bytes:
    return (
        b',"favourited":' + (b"true" if favourited else b"false")
        + b',"reblogged":' + (b"true" if reblogged else b"false") + _VIEWER_DEFAULTS
    )


# What follows a rendered status's head: the viewer's flags and the closing brace
# (twice for a reblog, whose nested original carries the same flags as its
# wrapper), indexed by [reblog][flags]; flags 0 is an anonymous caller's (none),
# 1 + favourited + 2 * reblogged a user's.
TAILS: tuple[tuple[bytes, ...], tuple[bytes, ...]] = tuple(  # type: ignore[assignment]
    tuple(
        (flags + b"}") * (2 if reblog else 1)
        for flags in (b"", _flags(False, False), _flags(True, False), _flags(False, True), _flags(True, True))
    )
    for reblog in (False, True)
)


def flags_index(status: Status, flags: ViewerFlags | None) -> int:
    """Which of ``TAILS`` a status gets (0: anonymous callers)."""
    if flags is None:
        return 0
    target = status.reblog_of_id or status.id
    return 1 + (target in flags.favourited) + 2 * (target in flags.reblogged)


def memo_version(record: Account | Status | None) -> int:
    """What a memo made from ``record`` keeps, to compare with ``version_of`` a current
    record: an unversioned record (0) is kept as -1, which no record's version equals."""
    if record is None:
        return 0
    return record.version or -1


def version_of(record: Account | Status | None) -> int:
    return 0 if record is None else record.version


class RenderedStatus:
    """A status encoded once, everything but its tail (see ``TAILS``), with the
    versions of the records it was rendered from: it is valid while they are the
    current ones."""

    __slots__ = ("author", "checked_at", "head", "original", "original_author", "reblog", "status")

    def __init__(self, status: Status, author: Account, original: Status | None,
                 original_author: Account | None, head: bytes, checked_at: float) -> None:
        # Compared with the current records' versions (see ``memo_version``).
        self.status = memo_version(status)
        self.author = memo_version(author)
        self.original = memo_version(original)
        self.original_author = memo_version(original_author)
        self.head = head
        self.reblog = original is not None
        self.checked_at = checked_at

    def tail(self, flags: int) -> bytes:
        return TAILS[self.reblog][flags]


def iso(ms: int) -> str:
    seconds, millis = divmod(ms, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"


def iso_date(ms: int) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(ms // 1000))


def server_version() -> str:
    return f"{MASTODON_VERSION} (compatible; roost {__version__})"


class Serializer:
    def __init__(self, base_url: str, render_ttl: float = 0.0, memo_pages: int = 0) -> None:
        self.base_url = base_url
        self.render_ttl = render_ttl
        self.pages = PageMemo(memo_pages if render_ttl > 0 else 0)
        # id -> (version, what was made from that version)
        self._accounts: dict[int, tuple[int, dict[str, Any]]] = {}
        self._status_bytes: dict[int, tuple[int, bytes]] = {}
        self._account_bytes: dict[int, tuple[int, bytes]] = {}
        self.rendered_memo: dict[int, RenderedStatus] = {}

    # -- accounts --------------------------------------------------------------------

    def account(self, account: Account) -> dict[str, Any]:
        memo = self._accounts.get(account.id)
        if memo is not None and memo[0] == account.version:
            return memo[1]
        url = f"{self.base_url}/@{account.username}"
        avatar = f"{self.base_url}/avatars/original/missing.png"
        header = f"{self.base_url}/headers/original/missing.png"
        data = {
            "id": str(account.id),
            "username": account.username,
            "acct": account.username,
            "display_name": account.display_name,
            "locked": account.locked,
            "bot": account.bot,
            "discoverable": True,
            "indexable": account.indexable,
            "group": False,
            "noindex": False,
            "created_at": iso(account.created_at_ms - account.created_at_ms % 86_400_000),
            "note": plain_note_to_html(account.note),
            "url": url,
            "uri": f"{self.base_url}/users/{account.username}",
            "avatar": avatar,
            "avatar_static": avatar,
            "header": header,
            "header_static": header,
            "followers_count": account.followers_count,
            "following_count": account.following_count,
            "statuses_count": account.statuses_count,
            "last_status_at": iso_date(account.last_status_at_ms) if account.last_status_at_ms else None,
            "emojis": [],
            "fields": [],
        }
        remember(self._accounts, account.id, (memo_version(account), data))
        return data

    def credential_account(self, account: Account, follow_requests_count: int = 0) -> dict[str, Any]:
        return {
            **self.account(account),
            "source": {
                "privacy": "public",
                "sensitive": False,
                "language": None,
                "note": account.note,
                "fields": [],
                "follow_requests_count": follow_requests_count,
                "indexable": account.indexable,
            },
            "role": {"id": "-99", "name": "", "permissions": "0", "color": "", "highlighted": False},
        }

    # -- statuses --------------------------------------------------------------------

    def _status_base(self, status: Status) -> dict[str, Any]:
        """The viewer-independent fields (encoded once by ``_status_prefix``)."""
        return {
            "id": str(status.id),
            "created_at": iso(status.created_at_ms),
            "edited_at": None,
            "in_reply_to_id": str(status.in_reply_to_id) if status.in_reply_to_id else None,
            "in_reply_to_account_id": (
                str(status.in_reply_to_account_id) if status.in_reply_to_account_id else None
            ),
            "sensitive": status.sensitive,
            "spoiler_text": status.spoiler_text,
            "visibility": status.visibility,
            "language": status.language,
            "uri": f"{self.base_url}/statuses/{status.id}",
            "url": f"{self.base_url}/statuses/{status.id}",
            "replies_count": status.replies_count,
            "reblogs_count": status.reblogs_count,
            "favourites_count": status.favourites_count,
            "quotes_count": 0,
            "content": status.content,
            "media_attachments": [],
            "tags": [{"name": t, "url": f"{self.base_url}/tags/{t}"} for t in status.tags],
            "emojis": [],
            "card": None,
            "poll": None,
            "application": (
                {"name": status.application_name, "website": status.application_website}
                if status.application_name
                else None
            ),
        }

    def render(
        self, status: Status, accounts: dict[int, Account], originals: dict[int, Status], now: float
    ) -> RenderedStatus | None:
        """The Status entity, encoded (orjson) once per version of the records it is
        made of, so that a page only splices bytes; None if its author (or
        reblogged original, or that one's author) is gone."""
        author = accounts.get(status.account_id)
        if author is None:
            return None
        original = original_author = None
        if status.reblog_of_id is not None:
            original = originals.get(status.reblog_of_id)
            original_author = accounts.get(original.account_id) if original is not None else None
            if original is None or original_author is None:
                return None
        entry = self.rendered_memo.get(status.id)
        if (entry is not None and entry.status == status.version and entry.author == author.version
                and entry.original == version_of(original)
                and entry.original_author == version_of(original_author)):
            entry.checked_at = now
            return entry
        head = self._status_prefix(status, accounts) + b',"account":' + self.account_json(author)
        if original is None:
            head += b',"reblog":null'
        else:
            assert original_author is not None
            head = b"".join((
                head, b',"reblog":', self._status_prefix(original, accounts),
                b',"account":', self.account_json(original_author), b',"reblog":null',
            ))
        return remember(self.rendered_memo, status.id,
                        RenderedStatus(status, author, original, original_author, head, now))

    def needs_mentions(self, status: Status) -> bool:
        """True when rendering ``status`` will read its mentioned accounts."""
        if not status.mention_ids:
            return False
        memo = self._status_bytes.get(status.id)
        return memo is None or memo[0] != status.version

    def _status_prefix(self, status: Status, accounts: dict[int, Account]) -> bytes:
        """The encoded status without its closing brace, author, reblog and viewer flags."""
        memo = self._status_bytes.get(status.id)
        if memo is not None and memo[0] == status.version:
            return memo[1]
        data = self._status_base(status)
        data["mentions"] = [
            {
                "id": str(a.id),
                "username": a.username,
                "acct": a.username,
                "url": f"{self.base_url}/@{a.username}",
            }
            for a in (accounts.get(i) for i in status.mention_ids)
            if a is not None
        ]
        encoded = orjson.dumps(data)[:-1]
        remember(self._status_bytes, status.id, (memo_version(status), encoded))
        return encoded

    def account_json(self, account: Account) -> bytes:
        memo = self._account_bytes.get(account.id)
        if memo is not None and memo[0] == account.version:
            return memo[1]
        encoded = orjson.dumps(self.account(account))
        remember(self._account_bytes, account.id, (memo_version(account), encoded))
        return encoded

    # -- the rest --------------------------------------------------------------------

    def relationship(self, rel: Relationship) -> dict[str, Any]:
        return {
            "id": str(rel.id),
            "following": rel.following,
            "showing_reblogs": rel.showing_reblogs,
            "notifying": rel.notifying,
            "languages": rel.languages,
            "followed_by": rel.followed_by,
            "blocking": False,
            "blocked_by": False,
            "muting": False,
            "muting_notifications": False,
            "requested": rel.requested,
            "requested_by": rel.requested_by,
            "domain_blocking": False,
            "endorsed": False,
            "note": "",
        }

    def notification(
        self, n: Notification, account: dict[str, Any], status: orjson.Fragment | None
    ) -> dict[str, Any]:
        return {
            "id": str(n.id),
            "type": n.type,
            "created_at": iso(n.created_at_ms),
            "group_key": f"ungrouped-{n.id}",
            "account": account,
            "status": status,
        }

    def application(self, app: Application, with_secret: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(app.id),
            "name": app.name,
            "website": app.website,
            "scopes": list(app.scopes),
            "redirect_uri": "\n".join(app.redirect_uris),
            "redirect_uris": list(app.redirect_uris),
            "vapid_key": "",
        }
        if with_secret:
            data["client_id"] = app.client_id
            data["client_secret"] = app.client_secret
            data["client_secret_expires_at"] = 0
        return data

    def token(self, token: Token) -> dict[str, Any]:
        return {
            "access_token": token.token,
            "token_type": "Bearer",
            "scope": " ".join(token.scopes),
            "created_at": token.created_at_ms // 1000,
        }
