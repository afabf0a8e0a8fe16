"""Who may see a status. Mastodon answers 404 (not 403) for anything invisible."""

from __future__ import annotations

from roost.domain.entities import Status


def needs_relationship(status: Status, viewer_id: int | None) -> bool:
    """True when the answer depends on whether the viewer follows the author."""
    return (
        status.visibility == "private"
        and viewer_id is not None
        and viewer_id != status.account_id
        and viewer_id not in status.mention_ids
    )


def can_view(status: Status, viewer_id: int | None, viewer_follows_author: bool = False) -> bool:
    if status.visibility in ("public", "unlisted"):
        return True
    if viewer_id is None:
        return False
    if viewer_id == status.account_id or viewer_id in status.mention_ids:
        return True
    return status.visibility == "private" and viewer_follows_author


def listed_publicly(status: Status) -> bool:
    """Appears on the public (local) timeline."""
    return status.visibility == "public" and status.reblog_of_id is None
