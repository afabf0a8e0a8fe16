"""Mastodon's Link header: absolute URLs, ``next`` (older, max_id) first, then ``prev`` (newer, min_id)."""

from __future__ import annotations

import functools
from urllib.parse import quote

_CARRIED = frozenset((
    "limit", "local", "remote", "only_media", "exclude_replies", "exclude_reblogs", "account_id", "tagged",
))


def link_header(path: str, query: list[tuple[str, str]], base_url: str, newest: int | None,
                oldest: int | None, prev_param: str = "min_id", include_next: bool = True) -> dict[str, str]:
    if newest is None or oldest is None:
        return {}
    url = _url_prefix(base_url, path, tuple(query))
    prev = f'<{url}{prev_param}={newest}>; rel="prev"'
    if not include_next:
        return {"Link": prev}
    return {"Link": f'<{url}max_id={oldest}>; rel="next", {prev}'}


@functools.lru_cache(maxsize=4096)
def _url_prefix(base_url: str, path: str, query: tuple[tuple[str, str], ...]) -> str:
    """The page's URL with the parameters a Link carries over, ready for a cursor
    (memoised: timelines are read with the same few query strings again and again)."""
    carried = "".join(
        f"{quote(k, safe='[]')}={quote(v, safe='')}&"
        for k, v in query
        if k in _CARRIED or k.endswith("[]")
    )
    return f"{base_url}{path}?{carried}"
