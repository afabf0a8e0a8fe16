"""Durability of a running `roost up`: restarts, crashes at exact steps, hybrid fanout.

Crashes use the failpoints of roost.failpoints (ROOST_FAILPOINTS): the server
process SIGKILLs itself at the named step; a fresh server on the same data
directory must then recover everything that was acknowledged or committed.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from e2e_support import RoostServer, User, wait_until

pytestmark = pytest.mark.e2e

RECOVERY_TIMEOUT = 20.0


def statuses_of(viewer: User, account: User) -> list[dict[str, Any]]:
    return list(viewer.get(f"/api/v1/accounts/{account.id}/statuses", limit=40))


def snapshot(users: list[User], status_ids: list[str], word: str) -> dict[str, Any]:
    """Everything a client can read about these users, as plain JSON."""
    snap: dict[str, Any] = {}
    ids = [u.id for u in users]
    for u in users:
        key = u.username
        snap[f"{key}/me"] = u.get("/api/v1/accounts/verify_credentials")
        snap[f"{key}/account"] = u.get(f"/api/v1/accounts/{u.id}")
        snap[f"{key}/statuses"] = u.get(f"/api/v1/accounts/{u.id}/statuses", limit=40)
        snap[f"{key}/followers"] = u.get(f"/api/v1/accounts/{u.id}/followers")
        snap[f"{key}/following"] = u.get(f"/api/v1/accounts/{u.id}/following")
        snap[f"{key}/relationships"] = u.get("/api/v1/accounts/relationships", **{"id[]": ids})
        snap[f"{key}/home"] = u.get("/api/v1/timelines/home", limit=40)
        snap[f"{key}/notifications"] = u.get("/api/v1/notifications", limit=40)
        snap[f"{key}/favourites"] = u.get("/api/v1/favourites")
        snap[f"{key}/search"] = u.get("/api/v2/search", q=word, type="statuses")
        snap[f"{key}/lookup"] = u.get("/api/v1/accounts/lookup", acct=u.username)
        for sid in status_ids:
            r = u.client.get(f"/api/v1/statuses/{sid}")
            snap[f"{key}/status/{sid}"] = (r.status_code, r.json())
            r = u.client.get(f"/api/v1/statuses/{sid}/context")
            snap[f"{key}/context/{sid}"] = (r.status_code, r.json())
    first = users[0]
    snap["public"] = first.get("/api/v1/timelines/public", limit=40)
    for sid in status_ids:
        snap[f"favourited_by/{sid}"] = first.client.get(f"/api/v1/statuses/{sid}/favourited_by").json()
        snap[f"reblogged_by/{sid}"] = first.client.get(f"/api/v1/statuses/{sid}/reblogged_by").json()
    return snap


def relogin(server: RoostServer, users: list[User]) -> list[User]:
    """The same users (same tokens) pointed at the restarted server."""
    fresh = []
    for u in users:
        again = User(server.url, u.username, u.email, u.password, u.token, u.id)
        fresh.append(again)
    return fresh


def test_restart_keeps_everything(make_server: Callable[..., RoostServer], new_user: Any) -> None:
    # Byte-for-byte comparisons across the restart: no render micro-cache on home,
    # whose embedded author counters may otherwise lag by up to a second.
    exact = {"ROOST_RENDER_CACHE_SECONDS": "0"}
    server = make_server().start(exact)
    alice: User = new_user(server.url, None)
    bob: User = new_user(server.url, None)
    carol: User = new_user(server.url, None)
    bob.follow(alice)
    carol.follow(alice)
    alice.follow(bob)
    word = "restartword"
    s1 = alice.status(f"first {word}")
    s2 = alice.status(f"followers only {word}", visibility="private")
    s3 = bob.status(f"@{alice.username} reply {word}", in_reply_to_id=s1["id"])
    s4 = carol.status(f"carol says {word}", visibility="unlisted")
    bob.post(f"/api/v1/statuses/{s1['id']}/favourite")
    carol.post(f"/api/v1/statuses/{s1['id']}/favourite")
    boost = carol.post(f"/api/v1/statuses/{s1['id']}/reblog")
    bob.post(f"/api/v1/statuses/{s2['id']}/favourite")
    direct = alice.status(f"@{carol.username} psst {word}", visibility="direct")
    deleted = alice.status(f"gone {word}")
    alice.client.delete(f"/api/v1/statuses/{deleted['id']}").raise_for_status()
    ids = [s["id"] for s in (s1, s2, s3, s4, boost, direct, deleted)]
    users = [alice, bob, carol]
    server.wait_idle()
    wait_until(lambda: len(alice.get("/api/v1/notifications")) == 7,
               message="alice's 7 notifications")
    before = snapshot(users, ids, word)
    # Sanity: the snapshot holds what we wrote.
    assert before[f"{alice.username}/account"]["followers_count"] == 2
    assert before[f"{alice.username}/account"]["statuses_count"] == 3
    assert before[f"{alice.username}/status/{s1['id']}"][1]["favourites_count"] == 2
    assert {s["id"] for s in before[f"{bob.username}/home"]} >= {s1["id"], s2["id"], s3["id"]}
    assert before[f"{bob.username}/status/{deleted['id']}"][0] == 404
    assert Counter(n["type"] for n in before[f"{alice.username}/notifications"]) == {
        "follow": 2, "favourite": 3, "reblog": 1, "mention": 1}
    assert [n["type"] for n in before[f"{carol.username}/notifications"]] == ["mention"]

    code = server.stop()
    assert code is not None, f"SIGTERM did not stop the server:\n{server.log_tail()}"

    server.start(exact)  # same data dir, same port (so URLs inside entities match)
    users = relogin(server, users)
    after = snapshot(users, ids, word)
    for key in before:
        assert after[key] == before[key], f"{key} changed across the restart"
    assert after == before

    # The restarted server keeps working: new IDs sort after the old ones, fanout resumes.
    a2 = users[0]
    new = a2.status(f"after restart {word}")
    assert int(new["id"]) > max(int(i) for i in ids)
    wait_until(lambda: new["id"] in users[1].home_ids(), message="post-restart fanout")
    wait_until(lambda: users[1].home_ids()[1:] == [s["id"] for s in before[f"{bob.username}/home"]],
               message="bob's old home intact under the new status")
    server.wait_idle()
    homes = {u.username: u.get("/api/v1/timelines/home", limit=40) for u in users}
    for u in users:
        u.close()

    # Lose the precomputed timelines altogether: a cold home is rebuilt from the shards.
    assert server.stop() is not None
    for path in server.data_dir.glob("timelines.sqlite3*"):
        path.unlink()
    server.start(exact)
    users = relogin(server, users)
    for u in users:
        assert u.get("/api/v1/timelines/home", limit=40) == homes[u.username], (
            f"{u.username}'s rebuilt home differs")
        u.close()


def _post_until_crash(user: User, text: str, key: str) -> httpx.Response | None:
    try:
        return user.client.post("/api/v1/statuses", json={"status": text},
                                headers={"Idempotency-Key": key})
    except httpx.HTTPError:
        return None  # the server died under us: expected


@pytest.mark.parametrize("failpoint", ["status.after_commit", "outbox.before_publish"])
def test_crash_between_commit_and_fanout(make_server: Callable[..., RoostServer], new_user: Any,
                                         failpoint: str) -> None:
    """SIGKILL right after the status commits (status.after_commit), or when the outbox
    relay is about to publish it (outbox.before_publish): the event never reached the
    log, yet after a restart every follower gets the status, exactly once."""
    server = make_server().start()
    author: User = new_user(server.url)
    followers: list[User] = [new_user(server.url) for _ in range(3)]
    for f in followers:
        f.follow(author)
    server.wait_idle()
    assert server.stop() is not None
    # Follows go through the outbox too, so the failpoint is armed only for the status.
    server.start(env={"ROOST_FAILPOINTS": f"{failpoint}=kill"})

    key = uuid.uuid4().hex
    text = f"committed then crashed @{followers[0].username} crashword"
    response = _post_until_crash(author, text, key)
    assert response is None or response.status_code >= 500, (
        f"the failpoint did not fire: {response.status_code if response else ''} "
        f"{response.text if response else ''}")
    assert server.wait_exit(10) is not None, "the server survived its failpoint"
    server.kill()

    server.start()  # no failpoint now
    users = relogin(server, [author, *followers])
    author, followers = users[0], users[1:]

    mine = statuses_of(author, author)
    assert [s["content"].count("crashword") for s in mine] == [1], mine
    status_id = mine[0]["id"]

    def everyone_has_it() -> bool:
        return all(f.home_ids().count(status_id) == 1 for f in followers)

    wait_until(everyone_has_it, RECOVERY_TIMEOUT, message="the status in every follower's home")
    server.wait_idle()
    for f in followers:
        ids = f.home_ids()
        assert ids.count(status_id) == 1 and len(ids) == len(set(ids)), ids
    assert author.home_ids() == [status_id]
    mentions = followers[0].get("/api/v1/notifications", **{"types[]": "mention"})
    assert [n["status"]["id"] for n in mentions] == [status_id]
    # followers[0] is mentioned, so may find it (the author has not opted in to search).
    wait_until(lambda: [s["id"] for s in followers[0].get(
        "/api/v2/search", q="crashword", type="statuses")["statuses"]] == [status_id],
        RECOVERY_TIMEOUT, message="the status indexed for search")

    # The client retries (it never got an answer) with the same Idempotency-Key:
    # it gets the original status back, not a second copy.
    retry = author.client.post("/api/v1/statuses", json={"status": text},
                               headers={"Idempotency-Key": key})
    assert retry.status_code == 200, retry.text
    assert retry.json()["id"] == status_id
    assert [s["id"] for s in statuses_of(author, author)] == [status_id]

    # Counters written after the commit must not be lost by the crash.
    account = author.get(f"/api/v1/accounts/{author.id}")
    assert account["statuses_count"] == 1, (
        f"statuses_count is {account['statuses_count']} after a crash right after the commit")
    assert account["last_status_at"] is not None
    for u in users:
        u.close()


def test_crash_in_fanout_before_offset_commit(make_server: Callable[..., RoostServer],
                                              new_user: Any) -> None:
    """SIGKILL after fanout applied a batch but before it committed the offset:
    the batch is replayed on restart (at-least-once) and must not duplicate anything."""
    server = make_server().start()
    author: User = new_user(server.url)
    followers: list[User] = [new_user(server.url) for _ in range(3)]
    for f in followers:
        f.follow(author)
    earlier = author.status("before the crash")
    server.wait_idle()
    assert server.stop() is not None

    # Follows also produce fanout batches, so the failpoint is armed only now.
    server.start(env={"ROOST_FAILPOINTS": "fanout.before_commit=kill"})
    users = relogin(server, [author, *followers])
    author, followers = users[0], users[1:]
    response = _post_until_crash(author, f"fanned out then crashed @{followers[0].username}",
                                 uuid.uuid4().hex)
    assert server.wait_exit(10) is not None, "the server survived its failpoint"
    server.kill()

    server.start()
    users = relogin(server, users)
    author, followers = users[0], users[1:]
    mine = [s["id"] for s in statuses_of(author, author)]
    assert len(mine) == 2 and mine[1] == earlier["id"], mine
    status_id = mine[0]
    if response is not None and response.status_code == 200:
        assert response.json()["id"] == status_id

    wait_until(lambda: all(status_id in f.home_ids() for f in followers), RECOVERY_TIMEOUT,
               message="the status in every follower's home")
    server.wait_idle()
    for f in [author, *followers]:
        ids = f.home_ids()
        assert ids == [status_id, earlier["id"]], f"{f.username}: {ids}"
    mentions = followers[0].get("/api/v1/notifications", **{"types[]": "mention"})
    assert [n["status"]["id"] for n in mentions] == [status_id]
    for u in users:
        u.close()


def test_hybrid_fanout_celebrity_merge(make_server: Callable[..., RoostServer],
                                       new_user: Any) -> None:
    """Celebrities (>= threshold followers) are merged at read time, others fanned out."""
    server = make_server().start(env={"ROOST_CELEBRITY_THRESHOLD": "3"})
    celeb: User = new_user(server.url)
    normal: User = new_user(server.url)
    fans: list[User] = [new_user(server.url) for _ in range(3)]
    outsider: User = new_user(server.url)
    for fan in fans:
        fan.follow(celeb)
    fans[0].follow(normal)
    server.wait_idle()
    assert celeb.get(f"/api/v1/accounts/{celeb.id}")["followers_count"] == 3

    posted: list[str] = []
    for i in range(4):
        posted.append(celeb.status(f"celebrity post {i}")["id"])
        posted.append(normal.status(f"normal post {i}")["id"])
    private = celeb.status("celebrity for followers", visibility="private")["id"]
    posted.append(private)
    newest_first = sorted(posted, key=int, reverse=True)
    celeb_ids = [i for i in newest_first if i not in set(posted[1::2])]

    # Every fan sees the celebrity's statuses; fans[0] also the normal author's, interleaved.
    wait_until(lambda: fans[0].home_ids() == newest_first, message="fans[0]'s merged home")
    for fan in fans[1:]:
        assert fan.home_ids() == celeb_ids
    assert outsider.home_ids() == []
    assert celeb.home_ids() == celeb_ids  # the author's own home

    # Pagination over a merged home: newest first, no duplicates, no gaps.
    seen: list[str] = []
    max_id: str | None = None
    for _ in range(20):
        params: dict[str, Any] = {"limit": 2}
        if max_id:
            params["max_id"] = max_id
        page = [s["id"] for s in fans[0].get("/api/v1/timelines/home", **params)]
        if not page:
            break
        seen += page
        max_id = page[-1]
    assert seen == newest_first
    forward: list[str] = []
    min_id = "0"
    for _ in range(20):
        page = [s["id"] for s in fans[0].get("/api/v1/timelines/home", limit=3, min_id=min_id)]
        if not page:
            break
        forward = page + forward
        min_id = page[0]
    assert forward == newest_first

    # Deleting a celebrity status removes it from the merged homes.
    gone = celeb_ids[1]
    celeb.client.delete(f"/api/v1/statuses/{gone}").raise_for_status()
    wait_until(lambda: gone not in fans[1].home_ids(), message="deleted celebrity status gone")
    newest_first.remove(gone)
    celeb_ids.remove(gone)
    assert fans[0].home_ids() == newest_first

    # A restart recomputes who is a celebrity; the homes are unchanged.
    assert server.stop() is not None
    server.start(env={"ROOST_CELEBRITY_THRESHOLD": "3"})
    fans = relogin(server, fans)
    celeb, normal = relogin(server, [celeb, normal])
    assert fans[0].home_ids() == newest_first
    fresh = celeb.status("celebrity after restart")["id"]
    wait_until(lambda: all(f.home_ids()[:1] == [fresh] for f in fans),
               message="post-restart celebrity status merged")
    newest_first.insert(0, fresh)
    celeb_ids.insert(0, fresh)

    # Dropping below the threshold turns the celebrity back into a fanned-out author;
    # statuses posted while a celebrity must not vanish from the remaining fans' homes.
    fans[2].post(f"/api/v1/accounts/{celeb.id}/unfollow")
    server.wait_idle()
    assert celeb.get(f"/api/v1/accounts/{celeb.id}")["followers_count"] == 2
    assert fans[2].home_ids() == [], "unfollowed author's statuses linger in home"
    later = celeb.status("no longer a celebrity")["id"]
    wait_until(lambda: fans[1].home_ids()[:1] == [later], message="fanout of the demoted author")
    assert fans[1].home_ids() == [later, *celeb_ids], (
        "statuses posted while the author was a celebrity vanished after the demotion")
    for u in [*fans, celeb, normal]:
        u.close()
