"""Status routes: post, read, delete, thread context, favourites and reblogs."""

from __future__ import annotations

import orjson
from starlette.responses import Response

from roost.errors import Unprocessable
from roost.gateway.context import Call
from roost.gateway.endpoints import PAGE_PARAMS, Param
from roost.gateway.routes.table import TABLE

ID = Param("id", "id", where="path", required=True)


@TABLE.add("POST", "/api/v1/statuses", "Post a status (honours Idempotency-Key)", response="Status",
           statuses=(404,), auth="user", scope="write:statuses", tag="statuses", params=(
    Param("status", where="body", required=True), Param("visibility", where="body"),
    Param("in_reply_to_id", "id", where="body"), Param("spoiler_text", where="body"),
    Param("sensitive", "boolean", where="body"), Param("language", where="body"),
    Param("media_ids", "array", where="body"),
))
async def post_status(call: Call) -> Response:
    # 404 (declared above): an unknown or invisible in_reply_to_id, as in Mastodon.
    p = call.params
    if p.strings("media_ids"):
        raise Unprocessable("Validation failed: Media uploads are not supported by this server yet")
    status = await call.services.statuses_service.create(
        call.user,
        p.string("status", "") or "",
        visibility=call.visibility_param(),
        sensitive=p.boolean("sensitive"),
        spoiler_text=p.string("spoiler_text", "") or "",
        language=p.string("language") or None,
        in_reply_to_id=p.id("in_reply_to_id"),
        idempotency_key=call.request.headers.get("idempotency-key"),
    )
    return call.json(await call.status_json(status))


@TABLE.add("GET", "/api/v1/statuses/{id}", "A status", response="Status", auth="optional", scope="read:statuses",
           tag="statuses", params=(ID,))
async def get_status(call: Call) -> Response:
    status = await call.services.statuses_service.get_visible(call.path_id(), call.viewer_id)
    return call.json(await call.status_json(status))


@TABLE.add("DELETE", "/api/v1/statuses/{id}", "Delete one's own status", response="Status", auth="user",
           scope="write:statuses", tag="statuses", params=(ID,))
async def delete_status(call: Call) -> Response:
    status = await call.services.statuses_service.delete(call.user, call.path_id())
    # Mastodon returns the source text on delete, for "delete and redraft".
    data = orjson.loads(orjson.dumps(await call.status_json(status)))
    data["text"] = status.text
    return call.json(data)


@TABLE.add("GET", "/api/v1/statuses/{id}/context", "Ancestors and descendants of a status", response="Context",
           auth="optional", scope="read:statuses", tag="statuses", params=(ID,))
async def context(call: Call) -> Response:
    ancestors, descendants = await call.services.statuses_service.context(call.path_id(), call.viewer_id)
    return call.json({
        "ancestors": await call.statuses_json(ancestors),
        "descendants": await call.statuses_json(descendants),
    })


@TABLE.add("POST", "/api/v1/statuses/{id}/favourite", "Favourite a status", response="Status", auth="user",
           scope="write:favourites", tag="statuses", params=(ID,))
async def favourite(call: Call) -> Response:
    status = await call.services.interactions_service.favourite(call.user, call.path_id())
    return call.json(await call.status_json(status))


@TABLE.add("POST", "/api/v1/statuses/{id}/unfavourite", "Undo a favourite", response="Status", auth="user",
           scope="write:favourites", tag="statuses", params=(ID,))
async def unfavourite(call: Call) -> Response:
    status = await call.services.interactions_service.unfavourite(call.user, call.path_id())
    return call.json(await call.status_json(status))


@TABLE.add("POST", "/api/v1/statuses/{id}/reblog", "Reblog (boost) a status", response="Status", auth="user",
           scope="write:statuses", tag="statuses", params=(ID, Param("visibility", where="body")))
async def reblog(call: Call) -> Response:
    wrapper = await call.services.interactions_service.reblog(
        call.user, call.path_id(), call.visibility_param()
    )
    return call.json(await call.status_json(wrapper))


@TABLE.add("POST", "/api/v1/statuses/{id}/unreblog", "Undo a reblog", response="Status", auth="user",
           scope="write:statuses", tag="statuses", params=(ID,))
async def unreblog(call: Call) -> Response:
    status = await call.services.interactions_service.unreblog(call.user, call.path_id())
    return call.json(await call.status_json(status))


@TABLE.add("GET", "/api/v1/statuses/{id}/favourited_by", "Accounts that favourited a status", response=["Account"],
           auth="optional", tag="statuses", params=(ID, *PAGE_PARAMS))
async def favourited_by(call: Call) -> Response:
    page = call.page(default=40, maximum=80)
    pairs = await call.services.interactions_service.favourited_by(call.path_id(), call.viewer_id, page)
    return call.paged(await call.accounts_json([a for _, a in pairs]), [c for c, _ in pairs],
                      include_next=len(pairs) >= page.limit)


@TABLE.add("GET", "/api/v1/statuses/{id}/reblogged_by", "Accounts that reblogged a status", response=["Account"],
           auth="optional", tag="statuses", params=(ID, *PAGE_PARAMS))
async def reblogged_by(call: Call) -> Response:
    page = call.page(default=40, maximum=80)
    pairs = await call.services.interactions_service.reblogged_by(call.path_id(), call.viewer_id, page)
    return call.paged(await call.accounts_json([a for _, a in pairs]), [c for c, _ in pairs],
                      include_next=len(pairs) >= page.limit)


@TABLE.add("GET", "/api/v1/favourites", "Statuses the user favourited", response=["Status"], auth="user",
           scope="read:favourites", tag="statuses", params=PAGE_PARAMS)
async def favourites(call: Call) -> Response:
    page = call.page()
    pairs = await call.services.interactions_service.favourites_of(call.user_id, page)
    statuses_svc = call.services.statuses_service
    found = await statuses_svc.get_many([s for _, s in pairs])
    kept = [(c, found[s]) for c, s in pairs if s in found]
    visible = {s.id for s in await statuses_svc.visible_to([s for _, s in kept], call.viewer_id)}
    kept = [(c, s) for c, s in kept if s.id in visible]
    return call.paged(await call.statuses_json([s for _, s in kept]), [c for c, _ in kept])
