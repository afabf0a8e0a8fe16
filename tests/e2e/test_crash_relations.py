"""Crashes between the two halves of a cross-shard relation.

A reply's place in its parent's thread, a reblog in its original's reblogger
list (each with its counter) and the favouriter's side of a favourite are
written after the first half commits. Here the server SIGKILLs itself exactly
between the two (a failpoint); after a restart every list and every counter
must be what it would have been without the crash, once the log is consumed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from e2e_support import RoostServer, User, wait_until
from test_durability import relogin

pytestmark = pytest.mark.e2e


@dataclass
class Scene:
    server: RoostServer
    alice: User
    bob: User
    post: dict[str, Any]  # alice's public status

    def status(self, viewer: User, status_id: str) -> dict[str, Any]:
        return dict(viewer.get(f"/api/v1/statuses/{status_id}"))


@pytest.fixture
def scene(make_server: Callable[..., RoostServer], new_user: Any) -> Scene:
    # Exact counters on every read: no render micro-cache.
    server = make_server().start({"ROOST_RENDER_CACHE_SECONDS": "0"})
    alice: User = new_user(server.url)
    bob: User = new_user(server.url)
    bob.follow(alice)
    return Scene(server, alice, bob, alice.status("a post to reply to, reblog and favourite"))


def crash_during(scene: Scene, failpoint: str, action: Callable[[User], httpx.Response]) -> None:
    """Restart with ``failpoint`` armed, run ``action`` as bob (it must kill the
    server), then restart without it and wait for the log to be consumed."""
    server = scene.server
    server.wait_idle()
    assert server.stop() is not None
    server.start({"ROOST_RENDER_CACHE_SECONDS": "0", "ROOST_FAILPOINTS": f"{failpoint}=kill"})
    bob = relogin(server, [scene.bob])[0]
    try:
        response = action(bob)
        pytest.fail(f"{failpoint} did not fire: {response.status_code} {response.text}")
    except httpx.HTTPError:
        pass  # the server died under the request: expected
    finally:
        bob.close()
    assert server.wait_exit(10) is not None, "the server survived its failpoint"
    server.kill()
    server.start({"ROOST_RENDER_CACHE_SECONDS": "0"})
    scene.alice, scene.bob = relogin(server, [scene.alice, scene.bob])
    server.wait_idle()


def test_reply_reaches_the_thread(scene: Scene) -> None:
    post_id = scene.post["id"]
    crash_during(scene, "reply.before_link", lambda bob: bob.client.post(
        "/api/v1/statuses", json={"status": "a reply", "in_reply_to_id": post_id}))
    replies = [s for s in scene.bob.get(f"/api/v1/accounts/{scene.bob.id}/statuses")
               if s["in_reply_to_id"] == post_id]
    assert len(replies) == 1, "the reply committed before the crash"
    wait_until(lambda: scene.status(scene.alice, post_id)["replies_count"] == 1, 10, 0.05,
               "the parent's replies_count")
    context = scene.alice.get(f"/api/v1/statuses/{post_id}/context")
    assert [s["id"] for s in context["descendants"]] == [replies[0]["id"]]


def test_reblog_reaches_the_original(scene: Scene) -> None:
    post_id = scene.post["id"]
    crash_during(scene, "reblog.before_link", lambda bob: bob.client.post(f"/api/v1/statuses/{post_id}/reblog"))
    assert scene.status(scene.alice, post_id)["reblogs_count"] == 1
    assert [a["id"] for a in scene.alice.get(f"/api/v1/statuses/{post_id}/reblogged_by")] == [scene.bob.id]
    assert scene.status(scene.bob, post_id)["reblogged"] is True
    # Reblogging again is still a no-op: one wrapper, one count.
    scene.bob.post(f"/api/v1/statuses/{post_id}/reblog")
    assert scene.status(scene.alice, post_id)["reblogs_count"] == 1


def test_favourite_reaches_the_favouriter(scene: Scene) -> None:
    post_id = scene.post["id"]
    crash_during(scene, "favourite.before_account_side",
                 lambda bob: bob.client.post(f"/api/v1/statuses/{post_id}/favourite"))
    assert scene.status(scene.alice, post_id)["favourites_count"] == 1
    assert [a["id"] for a in scene.alice.get(f"/api/v1/statuses/{post_id}/favourited_by")] == [scene.bob.id]
    wait_until(lambda: [s["id"] for s in scene.bob.get("/api/v1/favourites")] == [post_id], 10, 0.05,
               "bob's favourites list")
    assert scene.status(scene.bob, post_id)["favourited"] is True
    kinds = [n["type"] for n in scene.alice.get("/api/v1/notifications")]
    assert kinds.count("favourite") == 1


def test_unfavourite_leaves_the_favouriter(scene: Scene) -> None:
    post_id = scene.post["id"]
    scene.bob.post(f"/api/v1/statuses/{post_id}/favourite")
    crash_during(scene, "favourite.before_account_side",
                 lambda bob: bob.client.post(f"/api/v1/statuses/{post_id}/unfavourite"))
    assert scene.status(scene.alice, post_id)["favourites_count"] == 0
    assert scene.alice.get(f"/api/v1/statuses/{post_id}/favourited_by") == []
    wait_until(lambda: scene.bob.get("/api/v1/favourites") == [], 10, 0.05, "bob's favourites list")
    assert scene.status(scene.bob, post_id)["favourited"] is False


def test_deleted_reply_leaves_the_thread(scene: Scene) -> None:
    post_id = scene.post["id"]
    reply = scene.bob.status("a reply to delete", in_reply_to_id=post_id)
    assert scene.status(scene.alice, post_id)["replies_count"] == 1
    crash_during(scene, "status.before_unlink", lambda bob: bob.client.delete(f"/api/v1/statuses/{reply['id']}"))
    assert scene.bob.client.get(f"/api/v1/statuses/{reply['id']}").status_code == 404
    wait_until(lambda: scene.status(scene.alice, post_id)["replies_count"] == 0, 10, 0.05,
               "the parent's replies_count")
    assert scene.alice.get(f"/api/v1/statuses/{post_id}/context")["descendants"] == []


def test_unreblog_leaves_the_original(scene: Scene) -> None:
    post_id = scene.post["id"]
    scene.bob.post(f"/api/v1/statuses/{post_id}/reblog")
    crash_during(scene, "status.before_unlink", lambda bob: bob.client.post(f"/api/v1/statuses/{post_id}/unreblog"))
    wait_until(lambda: scene.status(scene.alice, post_id)["reblogs_count"] == 0, 10, 0.05,
               "the original's reblogs_count")
    assert scene.alice.get(f"/api/v1/statuses/{post_id}/reblogged_by") == []
    assert scene.status(scene.bob, post_id)["reblogged"] is False
    # And a new reblog after the crash counts once.
    scene.bob.post(f"/api/v1/statuses/{post_id}/reblog")
    assert scene.status(scene.alice, post_id)["reblogs_count"] == 1


def test_deleted_original_takes_its_reblogs(scene: Scene) -> None:
    post_id = scene.post["id"]
    scene.bob.post(f"/api/v1/statuses/{post_id}/reblog")
    before = scene.bob.get("/api/v1/accounts/verify_credentials")["statuses_count"]
    scene.server.wait_idle()
    assert scene.server.stop() is not None
    # Alice deletes; the crash falls before the reblogs of her status are removed.
    scene.server.start({"ROOST_RENDER_CACHE_SECONDS": "0", "ROOST_FAILPOINTS": "status.before_unlink=kill"})
    alice = relogin(scene.server, [scene.alice])[0]
    with pytest.raises(httpx.HTTPError):
        alice.client.delete(f"/api/v1/statuses/{post_id}")
    alice.close()
    assert scene.server.wait_exit(10) is not None, "the server survived its failpoint"
    scene.server.kill()
    scene.server.start({"ROOST_RENDER_CACHE_SECONDS": "0"})
    scene.alice, scene.bob = relogin(scene.server, [scene.alice, scene.bob])
    scene.server.wait_idle()
    assert scene.alice.client.get(f"/api/v1/statuses/{post_id}").status_code == 404
    wait_until(lambda: scene.bob.get(f"/api/v1/accounts/{scene.bob.id}/statuses") == [], 10, 0.05,
               "bob's reblog of the deleted status to go")
    assert scene.bob.get("/api/v1/accounts/verify_credentials")["statuses_count"] == before - 1


def test_approval_that_dies_before_deleting_the_request(scene: Scene) -> None:
    """bob is locked and alice asks; bob's approval dies after the follow is written and
    before the request is deleted. After the restart alice follows bob once, and the
    stale request (with its notification) is gone without anyone answering again."""
    assert scene.bob.client.patch("/api/v1/accounts/update_credentials", data={"locked": "true"}).status_code == 200
    secret = scene.bob.status("for approved followers", visibility="private")
    assert scene.alice.post(f"/api/v1/accounts/{scene.bob.id}/follow")["requested"] is True
    alice_id = scene.alice.id
    crash_during(scene, "follow_request.before_delete",
                 lambda bob: bob.client.post(f"/api/v1/follow_requests/{alice_id}/authorize"))
    alice, bob = scene.alice, scene.bob
    wait_until(lambda: bob.get("/api/v1/follow_requests") == [], 10, 0.05, "the stale request to go")
    (rel,) = alice.get("/api/v1/accounts/relationships", **{"id[]": bob.id})
    assert (rel["following"], rel["requested"]) == (True, False)
    assert bob.get(f"/api/v1/accounts/{bob.id}")["followers_count"] == 1
    assert alice.get(f"/api/v1/accounts/{alice.id}")["following_count"] == 1
    assert alice.get(f"/api/v1/statuses/{secret['id']}")["id"] == secret["id"]
    wait_until(lambda: secret["id"] in alice.home_ids(), 10, 0.05, "the merge into alice's home")
    kinds = [n["type"] for n in bob.get("/api/v1/notifications")]
    assert kinds.count("follow") == 1 and "follow_request" not in kinds
