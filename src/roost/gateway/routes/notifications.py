"""Notification routes: list (with types/exclude_types), get, clear, dismiss."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from roost.domain.entities import Notification
from roost.errors import NotFound
from roost.gateway.context import Call, fragment
from roost.gateway.endpoints import PAGE_PARAMS, Param
from roost.gateway.openapi import EMPTY_OBJECT
from roost.gateway.routes.table import TABLE

ID = Param("id", "id", where="path", required=True)


async def _render(call: Call, notifications: list[Notification]) -> list[dict[str, Any]]:
    accounts = await call.services.accounts_service.get_many({n.from_account_id for n in notifications})
    status_ids = [n.status_id for n in notifications if n.status_id]
    statuses_svc = call.services.statuses_service
    found = await statuses_svc.get_many(status_ids)
    visible = await statuses_svc.visible_to(list(found.values()), call.viewer_id)
    rendered = await call.render_statuses(visible)
    out = []
    for n in notifications:
        account = accounts.get(n.from_account_id)
        if account is None:
            continue
        parts = rendered.get(n.status_id) if n.status_id else None
        if n.status_id and parts is None:
            continue  # the status is gone or no longer visible
        out.append(call.serializer.notification(
            n, call.serializer.account(account), fragment(parts) if parts else None
        ))
    return out


@TABLE.add("GET", "/api/v1/notifications", "The user's notifications", response=["Notification"], auth="user",
           scope="read:notifications", tag="notifications", params=(
    *PAGE_PARAMS, Param("types", "array"), Param("exclude_types", "array"), Param("account_id", "id"),
))
async def list_notifications(call: Call) -> Response:
    p = call.params
    page = call.page(default=40, maximum=80)
    from_account = p.id("account_id")
    notifications = await call.services.notifications_service.list(
        call.user_id, page, p.strings("types"), p.strings("exclude_types"), from_account
    )
    return call.paged(await _render(call, notifications), [n.id for n in notifications])


@TABLE.add("GET", "/api/v1/notifications/{id}", "One notification", response="Notification", auth="user",
           scope="read:notifications", tag="notifications", params=(ID,))
async def get_notification(call: Call) -> Response:
    n = await call.services.notifications_service.get(call.user_id, call.path_id())
    rendered = await _render(call, [n])
    if not rendered:
        raise NotFound()
    return call.json(rendered[0])


@TABLE.add("POST", "/api/v1/notifications/clear", "Dismiss every notification", response=EMPTY_OBJECT, auth="user",
           scope="write:notifications", tag="notifications")
async def clear(call: Call) -> Response:
    await call.services.notifications_service.clear(call.user_id)
    return call.json({})


@TABLE.add("POST", "/api/v1/notifications/{id}/dismiss", "Dismiss one notification", response=EMPTY_OBJECT, auth="user",
           scope="write:notifications", tag="notifications", params=(ID,))
async def dismiss(call: Call) -> Response:
    await call.services.notifications_service.dismiss(call.user_id, call.path_id())
    return call.json({})

