"""What a handler gets: the request, its parsed parameters, the caller's identity and
the running services, plus the helpers every route shares (paging, hydration)."""

from __future__ import annotations

import time
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from roost.domain.entities import Identity, Status, ViewerFlags
from roost.domain.ids import parse_id
from roost.domain.pagination import Page, clamp_limit
from roost.errors import NotFound, Unprocessable
from roost.gateway.links import link_header
from roost.gateway.params import Params
from roost.gateway.responses import json_response
from roost.gateway.serializers import RenderedStatus, Serializer, flags_index
from roost.runtime.container import Container

# A rendered status: its encoded head and the tail carrying the viewer's flags.
Rendered = tuple[bytes, bytes]


def fragment(rendered: Rendered) -> orjson.Fragment:
    return orjson.Fragment(rendered[0] + rendered[1])


@dataclass
class Call:
    request: Request
    params: Params
    identity: Identity | None
    services: Container
    serializer: Serializer

    @property
    def viewer_id(self) -> int | None:
        return self.identity.account_id if self.identity else None

    @property
    def user_id(self) -> int:
        """The calling user's account id (the endpoint's auth rule guarantees there is one)."""
        assert self.identity is not None and self.identity.account_id is not None
        return self.identity.account_id

    @property
    def user(self) -> Identity:
        """The calling user's identity (the endpoint's auth rule guarantees there is one)."""
        assert self.identity is not None and self.identity.account_id is not None
        return self.identity

    @property
    def base_url(self) -> str:
        return self.services.settings.base_url

    def path_id(self, name: str = "id") -> int:
        parsed = parse_id(self.request.path_params.get(name, ""))
        if parsed is None:
            raise NotFound()
        return parsed

    def page(self, default: int = 20, maximum: int = 40) -> Page:
        return Page(
            limit=clamp_limit(self.params.integer("limit"), default, maximum),
            max_id=self.params.id("max_id"),
            since_id=self.params.id("since_id"),
            min_id=self.params.id("min_id"),
        )

    def json(self, content: Any, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
        return json_response(content, status_code, headers)

    def paged(
        self, items: list[Any] | bytes, cursors: Sequence[int], prev_param: str = "min_id",
        include_next: bool = True,
    ) -> Response:
        """A JSON list (or an encoded one) with Mastodon's Link header built from
        newest/oldest cursors."""
        headers = link_header(
            self.request.scope["path"], self.params.query, self.base_url,
            cursors[0] if cursors else None, cursors[-1] if cursors else None, prev_param,
            include_next,
        )
        return json_response(items, headers=headers)

    async def _viewer_flags(self, statuses: list[Status]) -> ViewerFlags | None:
        """The viewer's favourited and reblogged sets (None for anonymous callers)."""
        if self.viewer_id is None or not statuses:
            return None
        flags: ViewerFlags = await self.services.statuses_service.viewer_flags(self.viewer_id, statuses)
        return flags

    async def _render(self, statuses: list[Status], reuse_recent: bool, now: float) -> dict[int, RenderedStatus]:
        """Each status's rendered entry, with authors, mentions and reblogged
        originals hydrated in batches.

        With ``reuse_recent`` (the home timeline, already eventually consistent
        through fanout), statuses rendered within the last ``render_cache_seconds``
        are reused without reading their authors and originals again."""
        svc = self.services
        serializer = self.serializer
        entries: dict[int, RenderedStatus] = {}
        stale = []
        if reuse_recent and serializer.render_ttl > 0:
            memo = serializer.rendered_memo
            checked_after = now - serializer.render_ttl
            for s in statuses:
                entry = memo.get(s.id)
                if entry is not None and entry.status == s.version and entry.checked_at >= checked_after:
                    entries[s.id] = entry
                else:
                    stale.append(s)
        else:
            stale = statuses
        if stale:
            originals: dict[int, Status] = {}
            originals_ids = [s.reblog_of_id for s in stale if s.reblog_of_id is not None]
            if originals_ids:
                originals = await svc.statuses_service.get_many(originals_ids)
            both = (*stale, *originals.values())
            account_ids = {s.account_id for s in both}
            # Mentions are encoded once per status; only fetch them when that will happen.
            for s in both:
                if serializer.needs_mentions(s):
                    account_ids.update(s.mention_ids)
            accounts = await svc.accounts_service.get_many(account_ids)
            for s in stale:
                rendered = serializer.render(s, accounts, originals, now)
                if rendered is not None:
                    entries[s.id] = rendered
        return entries

    async def render_statuses(
        self, statuses: Iterable[Status], *, reuse_recent: bool = False
    ) -> dict[int, Rendered]:
        """Each status as its encoded (head, tail), the tail carrying the viewer's flags."""
        statuses = list(statuses)
        entries = await self._render(statuses, reuse_recent, time.monotonic())
        flags = await self._viewer_flags(statuses) if entries else None
        return {
            s.id: (entry.head, entry.tail(flags_index(s, flags)))
            for s in statuses
            if (entry := entries.get(s.id)) is not None
        }

    async def statuses_json(
        self, statuses: Iterable[Status], *, reuse_recent: bool = False
    ) -> list[orjson.Fragment]:
        statuses = list(statuses)
        rendered = await self.render_statuses(statuses, reuse_recent=reuse_recent)
        return [fragment(rendered[s.id]) for s in statuses if s.id in rendered]

    async def statuses_body(
        self, statuses: list[Status], *, reuse_recent: bool = False, page_key: Hashable = None
    ) -> bytes:
        """The JSON array of ``statuses``, spliced from their encoded parts in one
        join: the timelines' hot path (no per-status copies, no encoder).

        With a ``page_key`` (and ``reuse_recent``), the page as last sent under
        that key is reused if none of its records changed (see ``PageMemo``)."""
        serializer = self.serializer
        now = time.monotonic()
        flags = await self._viewer_flags(statuses)
        memo = page_key is not None and reuse_recent
        if memo:
            body = serializer.pages.get(page_key, statuses, flags, now)
            if body is not None:
                return body
        entries = await self._render(statuses, reuse_recent, now)
        pieces: list[bytes] = []
        append = pieces.append
        checked_at = now
        for s in statuses:
            entry = entries.get(s.id)
            if entry is None:
                continue
            append(b",")
            append(entry.head)
            append(entry.tail(flags_index(s, flags)))
            if entry.checked_at < checked_at:
                checked_at = entry.checked_at
        if not pieces:
            return b"[]"
        pieces[0] = b"["
        append(b"]")
        body = b"".join(pieces)
        if memo:
            # As stale as its stalest status may get: no more than a freshly spliced page.
            serializer.pages.put(page_key, statuses, flags, body,
                                 checked_at + serializer.render_ttl)
        return body

    async def status_json(self, status: Status) -> orjson.Fragment:
        rendered = await self.statuses_json([status])
        if not rendered:
            raise NotFound()
        return rendered[0]

    async def accounts_json(self, ids: Sequence[int]) -> list[dict[str, Any]]:
        found = await self.services.accounts_service.get_many(ids)
        return [self.serializer.account(found[i]) for i in ids if i in found]

    def visibility_param(self, name: str = "visibility", default: str = "public") -> str:
        value = self.params.string(name, default) or default
        if value not in ("public", "unlisted", "private", "direct"):
            raise Unprocessable(f"Validation failed: {name} is not included in the list")
        return value
