"""Follow requests: a locked account lists, approves and rejects who asked to follow it."""

from __future__ import annotations

from starlette.responses import Response

from roost.gateway.context import Call
from roost.gateway.endpoints import PAGE_PARAMS, Param
from roost.gateway.routes.table import TABLE

# The requester's account id (Mastodon's :id; the OpenAPI description calls it account_id).
ID = Param("id", "id", where="path", required=True, description="The requesting account's id")


@TABLE.add("GET", "/api/v1/follow_requests", "Accounts waiting for the caller's approval, newest request first",
           response=["Account"], auth="user", scope="read:follows", tag="follow_requests", params=PAGE_PARAMS)
async def list_requests(call: Call) -> Response:
    page = call.page(default=40, maximum=80)
    pairs = await call.services.follows_service.request_page(call.user_id, page)
    accounts = await call.accounts_json([requester for _, requester in pairs])
    # Cursors are request ids, as follower lists use follow ids.
    return call.paged(
        accounts, [cursor for cursor, _ in pairs], prev_param="since_id", include_next=len(pairs) >= page.limit,
    )


@TABLE.add("POST", "/api/v1/follow_requests/{id}/authorize", "Approve a follow request",
           response="Relationship", auth="user", scope="write:follows", tag="follow_requests", params=(ID,))
async def authorize(call: Call) -> Response:
    rel = await call.services.follows_service.authorize(call.user_id, call.path_id())
    return call.json(call.serializer.relationship(rel))


@TABLE.add("POST", "/api/v1/follow_requests/{id}/reject", "Reject a follow request",
           response="Relationship", auth="user", scope="write:follows", tag="follow_requests", params=(ID,))
async def reject(call: Call) -> Response:
    rel = await call.services.follows_service.reject(call.user_id, call.path_id())
    return call.json(call.serializer.relationship(rel))
