"""Mastodon's Link header: absolute URLs, ``next`` (older, max_id) first, then ``prev`` (newer, min_id)."""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.requests import Request

_CARRIED = ("limit", "local", "remote", "only_media", "exclude_replies", "exclude_reblogs")


def link_header(request: Request, base_url: str, newest: int | None, oldest: int | None,
                prev_param: str = "min_id", include_next: bool = True) -> dict[str, str]:
    if newest is None or oldest is None:
        return {}
    carried = [(k, v) for k, v in request.query_params.multi_items() if k in _CARRIED or k.endswith("[]")]
    url = base_url + request.url.path
    next_query = urlencode([*carried, ("max_id", str(oldest))])
    prev_query = urlencode([*carried, (prev_param, str(newest))])
    prev = f'<{url}?{prev_query}>; rel="prev"'
    if not include_next:
        return {"Link": prev}
    return {"Link": f'<{url}?{next_query}>; rel="next", {prev}'}
