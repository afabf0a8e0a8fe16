"""The domain's records. Plain data: no I/O, no wire format (that lives in the gateway)."""

from __future__ import annotations

from dataclasses import dataclass, field

VISIBILITIES = ("public", "unlisted", "private", "direct")
NOTIFICATION_TYPES = ("mention", "status", "reblog", "follow", "follow_request", "favourite", "poll", "update")


@dataclass(slots=True)
class Account:
    id: int
    username: str
    display_name: str = ""
    note: str = ""  # plain-text source; rendered to HTML at the edge
    created_at_ms: int = 0
    locked: bool = False
    bot: bool = False
    followers_count: int = 0
    following_count: int = 0
    statuses_count: int = 0
    last_status_at_ms: int | None = None
    email: str = ""
    indexable: bool = False  # public statuses searchable by anyone (opt-in, as in Mastodon)
    # Raised by the store on every write to the row: orders the copies write-through puts
    # in the cache (services/write_through.py), which ``version`` (a digest) cannot.
    revision: int = 0
    version: int = 0  # see roost.domain.versions: moves whenever any other field does


@dataclass(slots=True)
class Application:
    id: int
    name: str
    website: str | None
    redirect_uris: tuple[str, ...]
    scopes: tuple[str, ...]
    client_id: str
    client_secret: str


@dataclass(slots=True)
class Token:
    token: str
    application_id: int
    account_id: int | None  # None for client_credentials (app-only) tokens
    scopes: tuple[str, ...]
    created_at_ms: int


@dataclass(slots=True)
class Identity:
    """Who is calling, as established once at the edge from the bearer token."""

    token: str
    account_id: int | None
    application_id: int
    scopes: frozenset[str]  # expanded


@dataclass(slots=True)
class Status:
    id: int
    account_id: int
    text: str
    content: str
    visibility: str = "public"
    sensitive: bool = False
    spoiler_text: str = ""
    language: str | None = None
    in_reply_to_id: int | None = None
    in_reply_to_account_id: int | None = None
    reblog_of_id: int | None = None
    mention_ids: tuple[int, ...] = ()
    tags: tuple[str, ...] = ()
    application_name: str | None = None
    application_website: str | None = None
    created_at_ms: int = 0
    favourites_count: int = 0
    reblogs_count: int = 0
    replies_count: int = 0
    version: int = 0  # see roost.domain.versions: moves whenever any other field does


@dataclass(slots=True)
class ViewerFlags:
    """Every status a viewer favourited and reblogged (a reblog by its original)."""

    favourited: frozenset[int]
    reblogged: frozenset[int]
    version: int = 0  # 0: not versioned (never reused by a memo)


@dataclass(slots=True)
class Notification:
    id: int
    account_id: int  # recipient
    type: str
    from_account_id: int
    status_id: int | None
    created_at_ms: int


@dataclass(slots=True)
class Relationship:
    id: int
    following: bool = False
    showing_reblogs: bool = False
    notifying: bool = False
    followed_by: bool = False
    requested: bool = False  # I asked to follow them (they are locked) and they have not answered
    requested_by: bool = False  # they asked to follow me and I have not answered
    languages: list[str] | None = field(default=None)
