"""The relations consumer is idempotent: replaying the whole log through it, twice,
changes nothing stored (threads, reblogger lists, favourites, every counter)."""

from __future__ import annotations

from typing import Any

from roost.ports.log import Record
from roost.workers import RelationsWorker

from .harness import Server


def everything_on_the_log(srv: Server) -> list[Record]:
    log = srv.container.backends.log

    async def read() -> list[Record]:
        records: list[Record] = []
        for partition in range(log.partitions):
            records += await log.read("relations-replay-check", partition, 100_000)
        return records

    return srv.call(read)  # type: ignore[no-any-return]


def test_replaying_every_event_twice_changes_nothing(srv: Server) -> None:
    alice, bob, carol = (srv.quick_user(name) for name in ("replay_alice", "replay_bob", "replay_carol"))
    post = srv.post(alice, "the original")
    kept = srv.post(alice, "kept")
    reply = srv.post(bob, "a reply", in_reply_to_id=post["id"])
    srv.post(carol, "another reply", in_reply_to_id=post["id"])
    for user in (bob, carol):
        srv.client.post(f"/api/v1/statuses/{post['id']}/reblog", headers=user.headers)
        srv.client.post(f"/api/v1/statuses/{post['id']}/favourite", headers=user.headers)
        srv.client.post(f"/api/v1/statuses/{kept['id']}/favourite", headers=user.headers)
        srv.client.post(f"/api/v1/statuses/{kept['id']}/reblog", headers=user.headers)
    # Undone in every way: a deleted reply, an unreblog, an unfavourite, and an
    # original deleted with its reblogs.
    srv.client.delete(f"/api/v1/statuses/{reply['id']}", headers=bob.headers)
    srv.client.post(f"/api/v1/statuses/{kept['id']}/unreblog", headers=carol.headers)
    srv.client.post(f"/api/v1/statuses/{kept['id']}/unfavourite", headers=bob.headers)
    srv.client.post(f"/api/v1/statuses/{kept['id']}/reblog", headers=carol.headers)  # and again
    srv.client.delete(f"/api/v1/statuses/{post['id']}", headers=alice.headers)
    before = srv.fingerprint()
    status: dict[str, Any] = srv.get(f"/api/v1/statuses/{kept['id']}", alice)
    assert (status["reblogs_count"], status["favourites_count"]) == (2, 1)

    records = everything_on_the_log(srv)
    assert {"status.created", "status.deleted", "favourite.created", "favourite.deleted"} <= {
        r.event["type"] for r in records}
    worker = RelationsWorker(srv.container.statuses, srv.container.interactions)
    for _ in range(2):
        for record in records:
            srv.call(worker.handle, record)

    assert srv.fingerprint() == before
    assert srv.get(f"/api/v1/statuses/{kept['id']}", alice) == status
    assert [a["id"] for a in srv.get(f"/api/v1/statuses/{kept['id']}/reblogged_by", alice)] == [carol.id, bob.id]
    assert [s["id"] for s in srv.get("/api/v1/favourites", carol)] == [kept["id"]]
    assert srv.get("/api/v1/favourites", bob) == []
