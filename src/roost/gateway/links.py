"""Mastodon's Link header: absolute URLs, ``next`` (older, max_id) first, then ``prev`` (newer, min_id)."""

from __future__ import annotations

from urllib.parse import quote

_CARRIED = frozenset((
    "limit", "local", "remote", "only_media", "exclude_replies", "exclude_reblogs", "account_id", "tagged",
))


def link_header(path: str, query: list[tuple[str, str]], base_url: str, newest: int | None,
                oldest: int | None, prev_param: str = "min_id", include_next: bool = True) -> dict[str, str]:
    if newest is None or oldest is None:
        return {}
    # Built by hand rather than with urlencode: this runs on every timeline page.
    carried = "".join(
        f"{quote(k, safe='[]')}={quote(v, safe='')}&"
        for k, v in query
        if k in _CARRIED or k.endswith("[]")
    )
    url = f"{base_url}{path}?{carried}"
    prev = f'<{url}{prev_param}={newest}>; rel="prev"'
    if not include_next:
        return {"Link": prev}
    return {"Link": f'<{url}max_id={oldest}>; rel="next", {prev}'}
