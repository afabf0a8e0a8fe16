"""Drive a running `roost up` with the real Mastodon.py 2.3.3 client.

One server per module; every test registers its own uniquely named accounts.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from e2e_support import OOB, PASSWORD, RoostServer, unique_name, wait_until
from mastodon import (
    Mastodon,
    MastodonAPIError,
    MastodonIllegalArgumentError,
    MastodonNotFoundError,
)

pytestmark = pytest.mark.e2e

SCOPES = ["read", "write", "follow", "push"]


def new_client(base_url: str, **kwargs: Any) -> Mastodon:
    client_id, client_secret = Mastodon.create_app("roost-e2e", scopes=SCOPES, api_base_url=base_url)
    return Mastodon(client_id=client_id, client_secret=client_secret, api_base_url=base_url,
                    version_check_mode="created", request_timeout=15, **kwargs)


def new_account(base_url: str, prefix: str = "mp") -> tuple[Mastodon, str]:
    """A Mastodon.py client registered (create_account) and logged in as a new user."""
    api = new_client(base_url)
    username = unique_name(prefix)
    token = api.create_account(username, PASSWORD, f"{username}@example.test", agreement=True)
    assert token
    return api, username


@pytest.fixture(scope="module")
def base(module_server: RoostServer) -> str:
    return module_server.url


@pytest.fixture(scope="module")
def trio(base: str) -> Iterator[dict[str, Any]]:
    """Three users shared by read-mostly tests: alice, bob (follows alice), carol (follows bob)."""
    alice, alice_name = new_account(base, "alice")
    bob, bob_name = new_account(base, "bob")
    carol, carol_name = new_account(base, "carol")
    ids = {name: api.me().id for name, api in (("alice", alice), ("bob", bob), ("carol", carol))}
    yield {"alice": alice, "bob": bob, "carol": carol, "ids": ids,
           "names": {"alice": alice_name, "bob": bob_name, "carol": carol_name}}


def home_ids(api: Mastodon, limit: int = 40) -> list[str]:
    return [str(s.id) for s in api.timeline_home(limit=limit)]


def notification_ids(api: Mastodon) -> list[tuple[str, str, str | None]]:
    return [(n.type, str(n.account.id), str(n.status.id) if n.get("status") else None)
            for n in api.notifications(limit=40)]


# --- instance, version, apps, login ------------------------------------------------------------

def test_version_check_created_and_instance(base: str) -> None:
    api = new_client(base)
    version = api.retrieve_mastodon_version()
    assert str(version).startswith("4.3"), version
    assert api.verify_minimum_version("4.3.0", cached=True)
    assert not api.verify_minimum_version("4.4.0", cached=True)

    info = api.instance()  # v2 since the version is >= 4.0
    assert info.domain
    assert info.version.split()[0].startswith("4.3.0")
    assert info.api_versions["mastodon"] >= 2
    assert info.configuration.statuses.max_characters == 500
    v1 = api.instance_v1()
    assert v1.uri and v1.version.startswith("4.3.0")
    assert v1.urls.streaming_api

    oauth = api.oauth_authorization_server_info()
    assert {"password", "authorization_code", "client_credentials"} <= set(oauth["grant_types_supported"])


def test_register_login_verify_and_update_credentials(base: str) -> None:
    api, username = new_account(base, "reg")
    me = api.account_verify_credentials()
    assert me.username == username
    assert me.acct == username
    assert me.source is not None

    # A second client logs in with the password grant (http needs allow_http).
    other = new_client(base)
    token = other.log_in(f"{username}@example.test", PASSWORD, scopes=SCOPES, allow_http=True)
    assert token and token != api.access_token
    assert other.me().id == me.id

    with pytest.raises(MastodonIllegalArgumentError, match=r"(?i)invalid"):
        new_client(base).log_in(f"{username}@example.test", "wrong-password", scopes=SCOPES,
                                allow_http=True)

    updated = other.account_update_credentials(display_name="Reg Istered", note="hello <b>world</b>")
    assert updated.display_name == "Reg Istered"
    assert updated.source.note == "hello <b>world</b>"
    assert "<b>" not in updated.note  # rendered note is escaped
    again = api.account(me.id)
    assert again.display_name == "Reg Istered"
    assert api.account_lookup(username).id == me.id


def _form_fields(page: str) -> dict[str, str]:
    return {html.unescape(m.group(1)): html.unescape(m.group(2))
            for m in re.finditer(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page)}


def test_authorization_code_oob_flow(base: str) -> None:
    _, username = new_account(base, "oob")
    api = new_client(base)
    url = api.auth_request_url(redirect_uris=OOB, scopes=SCOPES, allow_http=True)
    assert url.startswith(base + "/oauth/authorize?")

    page = httpx.get(url, timeout=10)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "<form" in page.text
    fields = _form_fields(page.text)
    assert fields["client_id"] == api.client_id
    assert fields["redirect_uri"] == OOB

    bad = httpx.post(base + "/oauth/authorize", timeout=10,
                     data={**fields, "username": username, "password": "nope-nope-nope"})
    assert bad.status_code == 401
    assert "<code>" not in bad.text

    done = httpx.post(base + "/oauth/authorize", timeout=10,
                      data={**fields, "username": f"{username}@example.test", "password": PASSWORD})
    assert done.status_code == 200, done.text
    match = re.search(r"<code>([^<]+)</code>", done.text)
    assert match, done.text
    code = html.unescape(match.group(1))

    token = api.log_in(code=code, redirect_uri=OOB, scopes=SCOPES, allow_http=True)
    assert token
    assert api.me().username == username
    # A code is single-use.
    with pytest.raises(MastodonIllegalArgumentError, match=r"(?i)invalid"):
        new_client_same = Mastodon(client_id=api.client_id, client_secret=api.client_secret,
                                   api_base_url=base, version_check_mode="created")
        new_client_same.log_in(code=code, redirect_uri=OOB, scopes=SCOPES, allow_http=True)


# --- posting, following, home, notifications ---------------------------------------------------

def test_post_follow_home_and_notifications(base: str) -> None:
    alice, alice_name = new_account(base, "alice")
    bob, _ = new_account(base, "bob")
    carol, _ = new_account(base, "carol")
    alice_id, bob_id = alice.me().id, bob.me().id

    rel = bob.account_follow(alice_id)
    assert rel.following is True
    carol.account_follow(bob_id)

    post = alice.status_post("hello from alice")
    assert post.account.id == alice_id
    assert "hello from alice" in post.content
    assert post.visibility == "public"
    # Fanout is asynchronous: poll.
    wait_until(lambda: str(post.id) in home_ids(bob), message="alice's status in bob's home")
    assert str(post.id) in home_ids(alice)  # authors see their own statuses
    assert str(post.id) not in home_ids(carol)  # carol does not follow alice

    mention = bob.status_post(f"hey @{alice_name} nice post", in_reply_to_id=post.id)
    assert [m.id for m in mention.mentions] == [alice_id]
    assert mention.in_reply_to_id == post.id
    assert 'href="' in mention.content

    fav = bob.status_favourite(post.id)
    assert fav.favourited is True
    assert fav.favourites_count == 1
    boost = bob.status_reblog(post.id)
    assert boost.reblog.id == post.id
    assert boost.account.id == bob_id
    assert boost.reblogged is True

    # The boost reaches carol, who follows bob but not alice.
    wait_until(lambda: any(s.reblog and s.reblog.id == post.id for s in carol.timeline_home()),
               message="bob's boost in carol's home")

    expected = {("follow", str(bob_id), None), ("mention", str(bob_id), str(mention.id)),
                ("favourite", str(bob_id), str(post.id)), ("reblog", str(bob_id), str(post.id))}
    got = wait_until(lambda: expected <= set(notification_ids(alice)) and notification_ids(alice),
                     message="alice's four notifications")
    assert len(got) == 4, got

    only_mentions = alice.notifications(types=["mention"])
    assert [n.type for n in only_mentions] == ["mention"]
    without = alice.notifications(exclude_types=["follow", "mention"])
    assert sorted(n.type for n in without) == ["favourite", "reblog"]
    one = alice.notifications(id=only_mentions[0].id)
    assert one.status.id == mention.id

    assert [a.id for a in alice.status_favourited_by(post.id)] == [bob_id]
    assert [a.id for a in alice.status_reblogged_by(post.id)] == [bob_id]
    seen = alice.status(post.id)
    assert (seen.favourites_count, seen.reblogs_count, seen.replies_count) == (1, 1, 1)

    undone = bob.status_unfavourite(post.id)
    assert undone.favourited is False and undone.favourites_count == 0
    unboosted = bob.status_unreblog(post.id)
    assert unboosted.id == post.id and unboosted.reblogged is False

    alice.notifications_dismiss(only_mentions[0].id)
    assert "mention" not in {n.type for n in alice.notifications()}
    alice.notifications_clear()
    assert alice.notifications() == []


def test_home_pagination_both_ways(base: str) -> None:
    author, author_name = new_account(base, "pgauthor")
    reader, reader_name = new_account(base, "pgreader")
    reader.account_follow(author.me().id)
    posted = [str(author.status_post(f"page test {i} @{reader_name}").id) for i in range(27)]
    newest_first = list(reversed(posted))
    assert newest_first == sorted(posted, key=int, reverse=True), "ids must be time-ordered"

    wait_until(lambda: home_ids(reader)[:1] == newest_first[:1]
               and len(reader.timeline_home(limit=40)) == 27, message="all 27 statuses fanned out")

    # Backwards (older) with Link rel="next": newest first, no duplicates, no gaps.
    page = reader.timeline_home(limit=10)
    seen: list[str] = []
    pages = 0
    while page:
        ids = [str(s.id) for s in page]
        assert ids == sorted(ids, key=int, reverse=True)
        seen += ids
        pages += 1
        page = reader.fetch_next(page)
    assert pages == 3
    assert seen == newest_first

    # Forwards (newer) with min_id: each page is the one immediately above the cursor.
    oldest = newest_first[-1]
    page = reader.timeline_home(min_id=oldest, limit=10)
    assert [str(s.id) for s in page] == newest_first[-11:-1]
    forward: list[str] = []
    while page:
        ids = [str(s.id) for s in page]
        assert ids == sorted(ids, key=int, reverse=True)
        forward = ids + forward
        page = reader.fetch_previous(page)
    assert forward == newest_first[:-1]

    # max_id and since_id directly.
    assert home_ids_page(reader, max_id=newest_first[4], limit=5) == newest_first[5:10]
    assert home_ids_page(reader, since_id=newest_first[10], limit=5) == newest_first[:5]
    assert home_ids_page(reader, min_id=newest_first[10], limit=5) == newest_first[5:10]
    assert home_ids_page(reader, max_id=newest_first[0], min_id=newest_first[4]) == newest_first[1:4]

    # fetch_previous from a middle page goes back to the newer page.
    first = reader.timeline_home(limit=10)
    second = reader.fetch_next(first)
    assert [str(s.id) for s in reader.fetch_previous(second)] == newest_first[:10]

    # The author's statuses paginate the same way.
    statuses = reader.fetch_remaining(reader.account_statuses(author.me().id, limit=7))
    assert [str(s.id) for s in statuses] == newest_first

    # Notifications (27 mentions) too.
    wait_until(lambda: len(reader.notifications(limit=40)) == 27, message="27 mention notifications")
    notes = reader.notifications(limit=10)
    all_notes = reader.fetch_remaining(notes)
    note_ids = [str(n.id) for n in all_notes]
    assert len(note_ids) == len(set(note_ids)) == 27
    assert note_ids == sorted(note_ids, key=int, reverse=True)
    assert [str(n.status.id) for n in all_notes] == newest_first
    page = reader.notifications(min_id=note_ids[-1], limit=10)
    forward = []
    while page:
        forward = [str(n.id) for n in page] + forward
        page = reader.fetch_previous(page)
    assert forward == note_ids[:-1]
    del author_name


def home_ids_page(api: Mastodon, **params: Any) -> list[str]:
    return [str(s.id) for s in api.timeline_home(**params)]


def test_delete_removes_status_everywhere(base: str) -> None:
    alice, _ = new_account(base, "delauthor")
    bob, _ = new_account(base, "delreader")
    alice_id = alice.me().id
    bob.account_follow(alice_id)
    keep = alice.status_post("this one stays")
    doomed = alice.status_post("this one goes")
    wait_until(lambda: {str(keep.id), str(doomed.id)} <= set(home_ids(bob)),
               message="both statuses in bob's home")

    deleted = alice.status_delete(doomed.id)
    assert deleted.id == doomed.id
    assert deleted.get("text") == "this one goes"  # source text for redraft

    with pytest.raises(MastodonNotFoundError):
        bob.status(doomed.id)
    with pytest.raises(MastodonNotFoundError):
        alice.status(doomed.id)
    wait_until(lambda: str(doomed.id) not in home_ids(bob), message="deleted status gone from home")
    assert str(keep.id) in home_ids(bob)
    assert str(doomed.id) not in home_ids(alice)
    assert [str(s.id) for s in bob.account_statuses(alice_id)] == [str(keep.id)]
    with pytest.raises(MastodonNotFoundError):
        alice.status_delete(doomed.id)
    # Someone else's status cannot be deleted.
    with pytest.raises(MastodonAPIError):
        bob.status_delete(keep.id)
    assert alice.status(keep.id).id == keep.id


# --- search ------------------------------------------------------------------------------------

def test_search_accounts_and_statuses(base: str) -> None:
    stem = unique_name("srch")
    finder, _ = new_account(base, "finder")
    author = new_client(base)
    author.create_account(f"{stem}zebra", PASSWORD, f"{stem}zebra@example.test", agreement=True)
    twin = new_client(base)
    twin.create_account(f"{stem}zest", PASSWORD, f"{stem}zest@example.test", agreement=True)
    follower, _ = new_account(base, "insider")
    follower.account_follow(author.me().id)

    exact = finder.search_v2(f"{stem}zebra", result_type="accounts")
    assert [a.username for a in exact.accounts][:1] == [f"{stem}zebra"]
    prefix = finder.search_v2(stem, result_type="accounts")
    assert {a.username for a in prefix.accounts} == {f"{stem}zebra", f"{stem}zest"}
    assert finder.search_v2(f"@{stem}zest", result_type="accounts").accounts[0].username == f"{stem}zest"

    # As in Mastodon 4.2+, others find an author's public statuses only once the author
    # opts in to search (indexable, off for a new account).
    assert author.me().indexable is False
    assert author.account_update_credentials(indexable=True).source.indexable is True
    word = unique_name("quokka")
    public = author.status_post(f"the {word} smiles in public")
    secret = author.status_post(f"the {word} whispers to followers", visibility="private")

    def found(api: Mastodon) -> set[str]:
        return {str(s.id) for s in api.search_v2(word, result_type="statuses").statuses}

    wait_until(lambda: str(public.id) in found(finder), message="public status indexed")
    assert found(finder) == {str(public.id)}  # the private one stays hidden from a non-follower
    # A follower may see the private status but finds it only after interacting with it.
    assert found(follower) == {str(public.id)}
    follower.status_favourite(secret.id)
    assert found(follower) == {str(public.id), str(secret.id)}
    assert found(author) == {str(public.id), str(secret.id)}
    # Mastodon.py's search() picks v2 because the version is modern.
    assert {str(s.id) for s in finder.search(word, result_type="statuses").statuses} == {str(public.id)}
    # Opting out again hides the public status from those who never interacted with it.
    author.account_update_credentials(indexable=False)
    wait_until(lambda: found(finder) == set(), message="public status unlisted from search")
    assert found(follower) == {str(secret.id)}
    # The private status is hidden from non-followers on the other read paths too.
    with pytest.raises(MastodonNotFoundError):
        finder.status(secret.id)
    assert [str(s.id) for s in finder.account_statuses(author.me().id)] == [str(public.id)]


# --- relationships, lists, context -------------------------------------------------------------

def test_relationships_followers_following(trio: dict[str, Any]) -> None:
    alice, bob, carol = trio["alice"], trio["bob"], trio["carol"]
    ids = trio["ids"]
    bob.account_follow(ids["alice"])
    carol.account_follow(ids["bob"])
    carol.account_follow(ids["alice"])

    assert {a.id for a in alice.account_followers(ids["alice"])} == {ids["bob"], ids["carol"]}
    assert [a.id for a in alice.account_following(ids["bob"])] == [ids["alice"]]
    assert {a.id for a in bob.account_following(ids["carol"])} == {ids["alice"], ids["bob"]}

    rels = bob.account_relationships([ids["alice"], ids["carol"]])
    assert [r.id for r in rels] == [ids["alice"], ids["carol"]]
    assert (rels[0].following, rels[0].followed_by) == (True, False)
    assert (rels[1].following, rels[1].followed_by) == (False, True)

    after = carol.account_unfollow(ids["alice"])
    assert after.following is False
    assert [a.id for a in alice.account_followers(ids["alice"])] == [ids["bob"]]
    assert alice.account(ids["alice"]).followers_count == 1
    assert bob.account(ids["bob"]).following_count == 1


def test_status_context_and_account_statuses(trio: dict[str, Any]) -> None:
    alice, bob = trio["alice"], trio["bob"]
    root = alice.status_post("root of a thread")
    reply1 = bob.status_post("first reply", in_reply_to_id=root.id)
    reply2 = alice.status_post("reply to the reply", in_reply_to_id=reply1.id)
    sibling = bob.status_post("second direct reply", in_reply_to_id=root.id)

    ctx = bob.status_context(root.id)
    assert ctx.ancestors == []
    assert [s.id for s in ctx.descendants] == [reply1.id, reply2.id, sibling.id]
    ctx = alice.status_context(reply2.id)
    assert [s.id for s in ctx.ancestors] == [root.id, reply1.id]
    assert ctx.descendants == []
    assert reply2.in_reply_to_account_id == bob.me().id

    own = alice.account_statuses(trio["ids"]["alice"], limit=40)
    own_ids = [s.id for s in own]
    assert own_ids[:2] == [reply2.id, root.id]
    no_replies = alice.account_statuses(trio["ids"]["alice"], exclude_replies=True, limit=40)
    assert reply2.id not in [s.id for s in no_replies]
    assert root.id in [s.id for s in no_replies]


# --- more behaviour real clients rely on -------------------------------------------------------

def test_idempotency_key_and_link_headers(base: str) -> None:
    api, _ = new_account(base, "idem")
    first = api.status_post("only once please", idempotency_key="k-123")
    again = api.status_post("only once please", idempotency_key="k-123")
    assert again.id == first.id
    other = api.status_post("a different key", idempotency_key="k-456")
    assert other.id != first.id
    me = api.me()
    assert [s.id for s in api.account_statuses(me.id)] == [other.id, first.id]
    assert api.account(me.id).statuses_count == 2

    r = httpx.get(f"{base}/api/v1/accounts/{me.id}/statuses", params={"limit": 1}, timeout=10)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    link = r.headers["link"]
    # toot only follows a Link whose *first* entry is rel="next"; both must be absolute.
    assert re.match(r'<http://127\.0\.0\.1:\d+/api/v1/accounts/\d+/statuses\?[^>]*max_id='
                    + str(other.id) + r'[^>]*>; rel="next", <[^>]*min_id=' + str(other.id)
                    + r'[^>]*>; rel="prev"$', link), link
    assert "limit=1" in link
    empty = httpx.get(f"{base}/api/v1/accounts/{me.id}/statuses",
                      params={"max_id": str(first.id)}, timeout=10)
    assert empty.json() == [] and "link" not in empty.headers


def test_unfollow_removes_statuses_from_home(base: str) -> None:
    author, _ = new_account(base, "ufauthor")
    reader, _ = new_account(base, "ufreader")
    old = author.status_post("posted before the follow")
    reader.account_follow(author.me().id)
    # Mastodon merges a new followee's recent statuses into the home timeline.
    wait_until(lambda: str(old.id) in home_ids(reader), message="merge on follow")
    reader.account_unfollow(author.me().id)
    wait_until(lambda: str(old.id) not in home_ids(reader), message="removal on unfollow")


def test_deleting_the_original_removes_its_reblogs(trio: dict[str, Any]) -> None:
    alice, bob, carol = trio["alice"], trio["bob"], trio["carol"]
    ids = trio["ids"]
    carol.account_follow(ids["bob"])
    original = alice.status_post(f"boost and then vanish @{trio['names']['carol']}")
    bob.status_favourite(original.id)
    wrapper = bob.status_reblog(original.id)
    wait_until(lambda: str(wrapper.id) in home_ids(carol), message="the boost in carol's home")
    wait_until(lambda: any(n.type == "reblog" and n.status.id == original.id
                           for n in alice.notifications()), message="reblog notification")

    alice.status_delete(original.id)
    with pytest.raises(MastodonNotFoundError):
        carol.status(wrapper.id)
    wait_until(lambda: str(wrapper.id) not in home_ids(carol), message="boost gone from carol's home")
    assert wrapper.id not in [s.id for s in bob.account_statuses(ids["bob"])]
    # Notifications that pointed at the deleted status are gone, and listing still works.
    for api in (alice, carol):
        notes = api.notifications()
        assert all(not n.get("status") or n.status.id != original.id for n in notes)


def test_private_and_direct_statuses_stay_private(base: str) -> None:
    author, _ = new_account(base, "privauthor")
    follower, _ = new_account(base, "privfollower")
    stranger, stranger_name = new_account(base, "privstranger")
    follower.account_follow(author.me().id)
    private = author.status_post("followers only", visibility="private")
    direct = author.status_post(f"@{stranger_name} just for you", visibility="direct")
    public = author.status_post("everyone", visibility="public")
    reply = author.status_post("public reply to private", in_reply_to_id=private.id)
    wait_until(lambda: str(reply.id) in home_ids(follower), message="fanout to the follower")

    assert follower.status(private.id).id == private.id
    assert str(private.id) in home_ids(follower)
    assert str(direct.id) not in home_ids(follower)
    with pytest.raises(MastodonNotFoundError):
        follower.status(direct.id)

    assert stranger.status(direct.id).id == direct.id  # the mentioned account can read it
    with pytest.raises(MastodonNotFoundError):
        stranger.status(private.id)
    with pytest.raises(MastodonNotFoundError):
        stranger.status_context(private.id)
    assert stranger.status_context(reply.id).ancestors == []
    assert [s.id for s in follower.status_context(reply.id).ancestors] == [private.id]
    # Mastodon's account statuses: followers see private ones, mentioned accounts see
    # the statuses that mention them, nobody else sees either.
    visible = [s.id for s in stranger.account_statuses(author.me().id)]
    assert private.id not in visible and direct.id in visible and public.id in visible
    visible = [s.id for s in follower.account_statuses(author.me().id)]
    assert private.id in visible and direct.id not in visible and public.id in visible
    local = [s.id for s in stranger.timeline_local(limit=40)]
    assert public.id in local and private.id not in local and direct.id not in local
    with pytest.raises(MastodonAPIError):
        stranger.status_reblog(private.id)
    with pytest.raises(MastodonAPIError):
        follower.status_reblog(private.id)  # followers-only statuses cannot be boosted
    with pytest.raises(MastodonNotFoundError):
        stranger.status_favourite(private.id)
    assert author.status(private.id).reblogs_count == 0


def test_locked_account_follow_requests(base: str) -> None:
    owner, _ = new_account(base, "lockowner")
    asker, asker_name = new_account(base, "lockasker")
    other, _ = new_account(base, "lockother")
    assert owner.account_update_credentials(locked=True).locked is True
    owner_id, asker_id, other_id = owner.me().id, asker.me().id, other.me().id
    secret = owner.status_post("followers only, approved ones", visibility="private")

    rel = asker.account_follow(owner_id)
    assert (rel.following, rel.requested) == (False, True)
    other.account_follow(owner_id)
    assert [a.id for a in owner.follow_requests()] == [other_id, asker_id]
    assert owner.account_relationships(asker_id)[0].requested_by is True
    wait_until(lambda: [n.type for n in owner.notifications() if n.type == "follow_request"] ==
               ["follow_request", "follow_request"], message="follow_request notifications")
    with pytest.raises(MastodonNotFoundError):
        asker.status(secret.id)

    rel = owner.follow_request_authorize(asker_id)
    assert rel.followed_by is True
    rel = owner.follow_request_reject(other_id)
    assert (rel.followed_by, rel.requested_by) == (False, False)
    assert owner.follow_requests() == []
    assert asker.status(secret.id).id == secret.id
    wait_until(lambda: str(secret.id) in home_ids(asker), message="merge into the approved follower's home")
    with pytest.raises(MastodonNotFoundError):
        other.status(secret.id)
    assert str(secret.id) not in home_ids(other)
    assert asker_name in [a.acct for a in owner.account_followers(owner_id)]
