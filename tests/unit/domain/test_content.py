"""Status text -> safe HTML: everything escaped, only our own anchors emitted."""

from __future__ import annotations

import re

import pytest

from roost.domain.content import mentioned_usernames, plain_note_to_html, render

BASE = "https://roost.example"
DOMAIN = "roost.example"
KNOWN = {"alice", "bob_2"}


def resolve(username: str) -> str | None:
    return f"{BASE}/@{username}" if username in KNOWN else None


def html_of(text: str) -> str:
    return render(text, BASE, DOMAIN, resolve).html


def tags_in(markup: str) -> list[str]:
    return re.findall(r"<\s*([a-zA-Z][\w-]*)", markup)


def test_script_is_escaped() -> None:
    out = html_of('<script>alert("x")</script>')
    assert "<script" not in out.lower()
    assert out == "<p>&lt;script&gt;alert(\"x\")&lt;/script&gt;</p>"


@pytest.mark.parametrize(
    "text",
    [
        '<img src=x onerror="alert(1)">',
        "<a href='javascript:alert(1)'>click</a>",
        "</p><iframe src=//evil></iframe>",
        "&lt;script&gt; already escaped stays text",
        '"><svg/onload=alert(1)>',
        "@alice<script>",
        "#tag<b>bold</b>",
        'https://example.com/"onmouseover="alert(1)',
        "https://example.com/<script>",
    ],
)
def test_only_our_own_tags_are_emitted(text: str) -> None:
    out = html_of(text)
    assert set(tags_in(out)) <= {"p", "br", "a", "span"}
    assert "<script" not in out and "<img" not in out and "<iframe" not in out and "<svg" not in out
    assert 'href="javascript:' not in out
    # Every attribute value we emit is quoted and cannot be broken out of.
    for attrs in re.findall(r"<a ([^>]*)>", out):
        assert '"' not in re.sub(r'\w[\w-]*="[^"<>]*"', "", attrs).strip()


def test_ampersands_are_escaped_once() -> None:
    assert html_of("fish & chips") == "<p>fish &amp; chips</p>"
    assert html_of("&amp;") == "<p>&amp;amp;</p>"


def test_links_become_anchors_without_trailing_punctuation() -> None:
    out = html_of("see https://example.com/a?b=1&c=2.")
    assert out == (
        '<p>see <a href="https://example.com/a?b=1&amp;c=2" target="_blank" '
        'rel="nofollow noopener noreferrer" translate="no">https://example.com/a?b=1&amp;c=2</a>.</p>'
    )


def test_only_http_links_are_linked() -> None:
    for text in ["javascript:alert(1)", "ftp://example.com/x", "data:text/html,<b>x</b>"]:
        assert "<a" not in html_of(text)


def test_known_mention_becomes_an_h_card_and_is_reported() -> None:
    rendered = render("hi @Alice and @alice again", BASE, DOMAIN, resolve)
    assert rendered.html.count('class="u-url mention"') == 2
    assert f'href="{BASE}/@alice"' in rendered.html
    assert "@<span>Alice</span>" in rendered.html  # display keeps the case typed
    assert rendered.mentions == ["alice"]


def test_unknown_mention_stays_plain_text() -> None:
    rendered = render("hello @nobody", BASE, DOMAIN, resolve)
    assert rendered.html == "<p>hello @nobody</p>"
    assert rendered.mentions == []


def test_local_domain_mention_resolves_and_remote_does_not() -> None:
    local = render(f"@alice@{DOMAIN} hi", BASE, DOMAIN, resolve)
    assert local.mentions == ["alice"] and "h-card" in local.html
    remote = render("@alice@elsewhere.social hi", BASE, DOMAIN, resolve)
    assert remote.mentions == [] and "<a" not in remote.html


def test_email_addresses_are_not_mentions() -> None:
    rendered = render("write to me@alice.example or bob_2@x.y", BASE, DOMAIN, resolve)
    assert rendered.mentions == []
    assert "h-card" not in rendered.html


def test_mentioned_usernames_lowercase_unique_local_only() -> None:
    text = f"@Alice @alice @bob_2@{DOMAIN} @carol@remote.example @dave"
    assert mentioned_usernames(text, DOMAIN) == ["alice", "bob_2", "dave"]


def test_hashtags_link_to_lowercase_tag_pages() -> None:
    rendered = render("I like #Python and #python and #rust_lang!", BASE, DOMAIN, resolve)
    assert rendered.tags == ["python", "rust_lang"]
    assert f'href="{BASE}/tags/python"' in rendered.html
    assert "#<span>Python</span>" in rendered.html
    assert 'rel="tag"' in rendered.html


@pytest.mark.parametrize("text", ["a#b", "#123", "https://example.com/#anchor", "&#39;"])
def test_not_hashtags(text: str) -> None:
    assert render(text, BASE, DOMAIN, resolve).tags == []


def test_paragraphs_and_line_breaks() -> None:
    assert html_of("one") == "<p>one</p>"
    assert html_of("one\ntwo") == "<p>one<br />two</p>"
    assert html_of("one\n\ntwo") == "<p>one</p><p>two</p>"
    assert html_of("\n\n  one\n\n\n\ntwo  \n\n") == "<p>one</p><p>two</p>"
    assert html_of("one\n \t\ntwo") == "<p>one</p><p>two</p>"
    assert html_of("") == ""


def test_plain_note_to_html() -> None:
    assert plain_note_to_html("") == ""
    assert plain_note_to_html("   ") == ""
    assert plain_note_to_html("I <3 cats\nand dogs\n\nbye") == "<p>I &lt;3 cats<br />and dogs</p><p>bye</p>"
