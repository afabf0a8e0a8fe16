"""Timeline routes: home, public (local) and hashtag."""

from __future__ import annotations

from starlette.responses import Response

from roost.gateway.context import Call
from roost.gateway.endpoints import PAGE_PARAMS, Param
from roost.gateway.routes.table import TABLE


@TABLE.add("GET", "/api/v1/timelines/home", "The user's home timeline", response=["Status"], auth="user",
           scope="read:statuses", tag="timelines", params=PAGE_PARAMS)
async def home(call: Call) -> Response:
    statuses = await call.services.timelines_service.home(call.user_id, call.page())
    page_key = ("home", call.user_id, call.request.scope["query_string"])
    body = await call.statuses_body(statuses, reuse_recent=True, page_key=page_key)
    return call.paged(body, [s.id for s in statuses])


@TABLE.add("GET", "/api/v1/timelines/public", "Public statuses (all are local here)", response=["Status"], auth="optional",
           scope="read:statuses", tag="timelines", params=(
    *PAGE_PARAMS, Param("local", "boolean"), Param("remote", "boolean"), Param("only_media", "boolean"),
))
async def public(call: Call) -> Response:
    p = call.params
    p.boolean("local")  # every account is local, so local and federated are the same
    # Every account is local, so remote-only (and media-only: no media yet) is empty.
    if p.boolean("remote") or p.boolean("only_media"):
        call.page()
        return call.json([])
    statuses = await call.services.timelines_service.public(call.page())
    return call.paged(await call.statuses_body(statuses), [s.id for s in statuses])
