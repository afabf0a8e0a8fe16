"""Plain status text -> safe HTML, the way Mastodon renders local posts.

Written by hand because Mastodon's rendering is specific (mentions, hashtags and
links become anchors with particular classes; everything else is escaped) and no
library reproduces it; the input is plain text, so no HTML sanitizer is needed:
we escape everything and only emit tags we build ourselves.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass, field

# @user or @user@domain, not preceded by a word character (so e-mail addresses are not mentions).
MENTION_RE = re.compile(r"(?<![\w/@])@([A-Za-z0-9_]{1,30})(?:@([A-Za-z0-9.\-]+[A-Za-z0-9]))?")
TAG_NAME = r"[A-Za-z_][A-Za-z0-9_]{0,99}"
TAG_NAME_RE = re.compile(TAG_NAME)  # a whole tag name, without the #
HASHTAG_RE = re.compile(rf"(?<![\w/#&])#({TAG_NAME})")
URL_RE = re.compile(r"https?://[^\s<>\"']+[^\s<>\"'.,;:!?)\]]")
USERNAME_RE = re.compile(r"^[A-Za-z0-9_]{1,30}$")
_TOKEN_RE = re.compile(f"{URL_RE.pattern}|{MENTION_RE.pattern}|{HASHTAG_RE.pattern}")


@dataclass
class Rendered:
    html: str
    mentions: list[str] = field(default_factory=list)  # usernames, lower-case, in order
    tags: list[str] = field(default_factory=list)  # hashtags, lower-case, in order


def mentioned_usernames(text: str, local_domain: str) -> list[str]:
    """Local usernames mentioned in ``text``, lower-case, without duplicates."""
    seen: list[str] = []
    for match in MENTION_RE.finditer(text):
        name, domain = match.group(1).lower(), match.group(2)
        if domain and domain.lower() != local_domain.lower():
            continue
        if name not in seen:
            seen.append(name)
    return seen


def render(
    text: str,
    base_url: str,
    local_domain: str,
    resolve_mention: Callable[[str], str | None],
) -> Rendered:
    """Render ``text``; ``resolve_mention(username)`` gives the profile URL of a known local user."""
    result = Rendered(html="")
    paragraphs = [p for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]
    rendered_paragraphs = []
    for paragraph in paragraphs:
        lines = [_render_line(line, base_url, local_domain, resolve_mention, result) for line in paragraph.split("\n")]
        rendered_paragraphs.append("<p>" + "<br />".join(lines) + "</p>")
    result.html = "".join(rendered_paragraphs)
    return result


def _render_line(
    line: str,
    base_url: str,
    local_domain: str,
    resolve_mention: Callable[[str], str | None],
    result: Rendered,
) -> str:
    out: list[str] = []
    position = 0
    for match in _TOKEN_RE.finditer(line):
        out.append(html.escape(line[position : match.start()], quote=False))
        token = match.group(0)
        out.append(_render_token(token, base_url, local_domain, resolve_mention, result))
        position = match.end()
    out.append(html.escape(line[position:], quote=False))
    return "".join(out)


def _render_token(
    token: str,
    base_url: str,
    local_domain: str,
    resolve_mention: Callable[[str], str | None],
    result: Rendered,
) -> str:
    escaped = html.escape(token)
    if token.startswith("@"):
        mention = MENTION_RE.fullmatch(token)
        if mention is None:
            return escaped
        name, domain = mention.group(1), mention.group(2)
        if domain and domain.lower() != local_domain.lower():
            return escaped
        url = resolve_mention(name.lower())
        if url is None:
            return escaped
        if name.lower() not in result.mentions:
            result.mentions.append(name.lower())
        return (
            f'<span class="h-card" translate="no"><a href="{html.escape(url)}" '
            f'class="u-url mention">@<span>{html.escape(name)}</span></a></span>'
        )
    if token.startswith("#"):
        tag = token[1:]
        if tag.lower() not in result.tags:
            result.tags.append(tag.lower())
        url = f"{base_url}/tags/{tag.lower()}"
        return (
            f'<a href="{html.escape(url)}" class="mention hashtag" rel="tag">'
            f"#<span>{html.escape(tag)}</span></a>"
        )
    return (
        f'<a href="{escaped}" target="_blank" rel="nofollow noopener noreferrer" '
        f'translate="no">{escaped}</a>'
    )


def plain_note_to_html(note: str) -> str:
    """Account bios: escape, keep line breaks."""
    if not note.strip():
        return ""
    paragraphs = [p for p in re.split(r"\n\s*\n", note.strip()) if p.strip()]
    return "".join(
        "<p>" + "<br />".join(html.escape(line, quote=False) for line in p.split("\n")) + "</p>"
        for p in paragraphs
    )
