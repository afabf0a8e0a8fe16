"""Domain records -> Mastodon JSON entities.

The parts of an entity that do not depend on the viewer are memoised per
record object: cached records are replaced (never mutated) when they change,
so an identity check tells whether the memo is still valid.
"""

from __future__ import annotations

import time
from typing import Any

import orjson

from roost import __version__
from roost.domain.content import plain_note_to_html
from roost.domain.entities import Account, Application, Notification, Relationship, Status, Token

MEMO_LIMIT = 100_000
_VIEWER_DEFAULTS = b',"muted":false,"bookmarked":false,"pinned":false,"filtered":[]'
_FLAGS = {
    (fav, reb): (
        b',"favourited":' + (b"true" if fav else b"false")
        + b',"reblogged":' + (b"true" if reb else b"false") + _VIEWER_DEFAULTS
    )
    for fav in (False, True)
    for reb in (False, True)
}
MASTODON_VERSION = "4.3.0"


# A rendered status: its head (everything but the viewer's flags and the closing
# brace) and, for a reblog, the nested original's head.
_Parts = tuple[bytes, bytes | None]


def flags_for(status: Status, favourited: set[int] | None, reblogged: set[int] | None) -> bytes:
    """The viewer-specific fields of a status (none for anonymous callers)."""
    if favourited is None or reblogged is None:
        return b""
    target = status.reblog_of_id or status.id
    return _FLAGS[(target in favourited, target in reblogged)]


def iso(ms: int) -> str:
    seconds, millis = divmod(ms, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"


def iso_date(ms: int) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(ms // 1000))


def server_version() -> str:
    return f"{MASTODON_VERSION} (compatible; roost {__version__})"


class Serializer:
    def __init__(self, base_url: str, render_ttl: float = 0.0) -> None:
        self.base_url = base_url
        self.render_ttl = render_ttl
        self._accounts: dict[int, tuple[Account, dict[str, Any]]] = {}
        self._status_bytes: dict[int, tuple[Status, bytes]] = {}
        self._account_bytes: dict[int, tuple[Account, bytes]] = {}
        self._bodies: dict[int, tuple[Status, Account, bytes]] = {}
        self._recent: dict[int, tuple[float, Status, _Parts]] = {}

    # -- accounts --------------------------------------------------------------------

    def account(self, account: Account) -> dict[str, Any]:
        memo = self._accounts.get(account.id)
        if memo is not None and memo[0] is account:
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
            "indexable": True,
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
        if len(self._accounts) > MEMO_LIMIT:
            self._accounts.clear()
        self._accounts[account.id] = (account, data)
        return data

    def credential_account(self, account: Account) -> dict[str, Any]:
        return {
            **self.account(account),
            "source": {
                "privacy": "public",
                "sensitive": False,
                "language": None,
                "note": account.note,
                "fields": [],
                "follow_requests_count": 0,
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

    def status(
        self,
        status: Status,
        accounts: dict[int, Account],
        reblogs: dict[int, Status],
        favourited: set[int] | None = None,
        reblogged: set[int] | None = None,
    ) -> orjson.Fragment | None:
        """The Status entity as pre-encoded JSON; None if its author (or original) is gone.

        Timelines spend most of their time here, so the viewer-independent part of
        each status and account is encoded once and spliced (orjson.Fragment), and
        only the viewer's flags are added per request.
        """
        author = accounts.get(status.account_id)
        if author is None:
            return None
        nested = None
        if status.reblog_of_id is not None:
            original = reblogs.get(status.reblog_of_id)
            if original is None or original.account_id not in accounts:
                return None
            nested = self._original_body(original, accounts[original.account_id], accounts)
            head = b"".join((self._status_prefix(status, accounts), b',"account":', self.account_json(author)))
        else:
            head = self._original_body(status, author, accounts)
        parts = (head, nested)
        if self.render_ttl > 0:
            if len(self._recent) > MEMO_LIMIT:
                self._recent.clear()
            self._recent[status.id] = (time.monotonic() + self.render_ttl, status, parts)
        return self.assemble(parts, flags_for(status, favourited, reblogged))

    def recent(self, status: Status, now: float) -> _Parts | None:
        """The viewer-independent parts of ``status`` rendered less than ``render_ttl``
        seconds ago, if the status itself has not changed since: lets a timeline page
        skip re-reading authors and reblogged originals (whose counters may then be
        up to ``render_ttl`` seconds old)."""
        entry = self._recent.get(status.id)
        if entry is None or entry[1] is not status or entry[0] < now:
            return None
        return entry[2]

    @staticmethod
    def assemble(parts: _Parts, flags: bytes) -> orjson.Fragment:
        head, nested = parts
        if nested is None:
            return orjson.Fragment(head + flags + b"}")
        # A reblog's nested original carries the same viewer flags as its wrapper.
        return orjson.Fragment(b"".join((head, b',"reblog":', nested, flags, b"}", flags, b"}")))

    def _original_body(self, status: Status, author: Account, accounts: dict[int, Account]) -> bytes:
        """Everything but the viewer's flags and the closing brace, memoised per
        (status, author) objects."""
        memo = self._bodies.get(status.id)
        if memo is not None and memo[0] is status and memo[1] is author:
            return memo[2]
        body = b"".join((
            self._status_prefix(status, accounts), b',"account":', self.account_json(author), b',"reblog":null',
        ))
        if len(self._bodies) > MEMO_LIMIT:
            self._bodies.clear()
        self._bodies[status.id] = (status, author, body)
        return body

    def needs_mentions(self, status: Status) -> bool:
        """True when rendering ``status`` will read its mentioned accounts."""
        if not status.mention_ids:
            return False
        memo = self._status_bytes.get(status.id)
        return memo is None or memo[0] is not status

    def _status_prefix(self, status: Status, accounts: dict[int, Account]) -> bytes:
        """The encoded status without its closing brace, author, reblog and viewer flags."""
        memo = self._status_bytes.get(status.id)
        if memo is not None and memo[0] is status:
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
        if len(self._status_bytes) > MEMO_LIMIT:
            self._status_bytes.clear()
        self._status_bytes[status.id] = (status, encoded)
        return encoded

    def account_json(self, account: Account) -> bytes:
        memo = self._account_bytes.get(account.id)
        if memo is not None and memo[0] is account:
            return memo[1]
        encoded = orjson.dumps(self.account(account))
        if len(self._account_bytes) > MEMO_LIMIT:
            self._account_bytes.clear()
        self._account_bytes[account.id] = (account, encoded)
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
            "requested_by": False,
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
