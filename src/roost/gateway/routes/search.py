"""GET /api/v2/search: accounts by prefix, statuses by full text (only for a signed-in user, and
only what Mastodon lets that user find: see services/search)."""

from __future__ import annotations

from starlette.responses import Response

from roost.domain.pagination import clamp_limit
from roost.errors import Unauthorized, Unprocessable
from roost.gateway.context import Call
from roost.gateway.endpoints import Param
from roost.gateway.routes.table import TABLE

TYPES = ("accounts", "statuses", "hashtags")
MAX_OFFSET = 10_000


@TABLE.add("GET", "/api/v2/search", "Search accounts and statuses", response="Search", auth="optional", scope="read:search",
           tag="search", params=(
    Param("q", required=True), Param("type"), Param("resolve", "boolean"), Param("following", "boolean"),
    Param("account_id", "id"), Param("max_id", "id"), Param("min_id", "id"), Param("limit", "integer"),
    Param("offset", "integer"),
))
async def search(call: Call) -> Response:
    p = call.params
    query = p.required_str("q").strip()
    if call.viewer_id is None:
        # Mastodon's answers for a caller without a user (app tokens included).
        if p.string("offset"):
            raise Unauthorized("Search queries pagination is not supported without authentication")
        if p.boolean("resolve"):
            raise Unauthorized("Search queries that resolve remote resources are not supported without authentication")
    kind = p.string("type")
    p.boolean("resolve")  # accepted for compatibility; every account is local
    if kind is not None and kind not in TYPES:
        raise Unprocessable("Validation failed: type is not included in the list")
    limit = clamp_limit(p.integer("limit"), 20, 40)
    offset = p.integer("offset", 0) or 0
    if not 0 <= offset <= MAX_OFFSET:
        raise Unprocessable(f"Validation failed: offset must be between 0 and {MAX_OFFSET}")
    svc = call.services.search_service
    result: dict[str, list[object]] = {"accounts": [], "statuses": [], "hashtags": []}
    if not query:
        return call.json(result)
    if kind in (None, "accounts"):
        accounts = await svc.accounts(query, limit, offset)
        if p.boolean("following") and call.viewer_id is not None:
            following = set(await call.services.follows_service.following_ids(call.viewer_id))
            accounts = [a for a in accounts if a.id in following]
        result["accounts"] = [call.serializer.account(a) for a in accounts]
    if kind in (None, "statuses"):
        statuses = await svc.statuses(
            query, call.viewer_id, limit, offset, max_id=p.id("max_id"), min_id=p.id("min_id"),
            account_id=p.id("account_id"),
        )
        result["statuses"] = list(await call.statuses_json(statuses))
    return call.json(result)
