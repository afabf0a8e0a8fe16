"""The FollowGraph and FollowRequests of the SQL families (SQLite and PostgreSQL shards).

One follow per pair and one request per pair rest on the tables' primary keys
((account_id, target_id), (account_id, follower_id), (account_id, requester_id)):
every insert is ``ON CONFLICT DO NOTHING`` and its row count says who won, so two
processes following at once store one edge and move the counters once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

from roost.adapters.sql.keyset import pairs_page
from roost.adapters.sql.units import executor
from roost.domain.pagination import Page
from roost.ports.accounts import Direction, FollowOptions
from roost.ports.database import ShardedDatabase, Tx


def _marks(n: int) -> str:
    return ",".join("?" * n)


class SqlFollowGraph:
    def __init__(self, db: ShardedDatabase) -> None:
        self._db = db

    async def add_following(
        self, tx: Tx, account_id: int, target_id: int, follow_id: int, options: FollowOptions
    ) -> tuple[int, bool]:
        ex = executor(tx)
        if await ex.execute(
            "INSERT INTO following (account_id, target_id, follow_id, show_reblogs, notify)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (account_id, target_id, follow_id, bool(options.show_reblogs), bool(options.notify)),
        ):
            return follow_id, True
        await ex.execute(
            "UPDATE following SET show_reblogs = ?, notify = ? WHERE account_id = ? AND target_id = ?",
            (bool(options.show_reblogs), bool(options.notify), account_id, target_id),
        )
        row = await ex.fetch_one(
            "SELECT follow_id FROM following WHERE account_id = ? AND target_id = ?", (account_id, target_id)
        )
        assert row is not None  # the insert just found it, and this unit of work holds it
        return int(row["follow_id"]), False

    async def remove_following(self, tx: Tx, account_id: int, target_id: int) -> bool:
        return bool(await executor(tx).execute(
            "DELETE FROM following WHERE account_id = ? AND target_id = ?", (account_id, target_id)
        ))

    async def add_follower(self, tx: Tx, account_id: int, follower_id: int, follow_id: int) -> bool:
        return bool(await executor(tx).execute(
            "INSERT INTO followers (account_id, follower_id, follow_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            (account_id, follower_id, follow_id),
        ))

    async def remove_follower(self, tx: Tx, account_id: int, follower_id: int) -> bool:
        return bool(await executor(tx).execute(
            "DELETE FROM followers WHERE account_id = ? AND follower_id = ?", (account_id, follower_id)
        ))

    async def remove_all_followers(self, account_id: int) -> None:
        await self._db.for_id(account_id).execute("DELETE FROM followers WHERE account_id = ?", (account_id,))

    async def add_many(self, edges: Sequence[tuple[int, int, int]]) -> None:
        following: dict[int, list[tuple[int, int, int]]] = {}
        followers: dict[int, list[tuple[int, int, int]]] = {}
        shard_map = self._db.shard_map
        for follower, followee, follow_id in edges:
            following.setdefault(shard_map.physical_for_id(follower), []).append((follower, followee, follow_id))
            followers.setdefault(shard_map.physical_for_id(followee), []).append((followee, follower, follow_id))
        for physical, rows in following.items():
            await self._db.shards[physical].execute_many(
                "INSERT INTO following (account_id, target_id, follow_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                rows,
            )
        for physical, rows in followers.items():
            await self._db.shards[physical].execute_many(
                "INSERT INTO followers (account_id, follower_id, follow_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                rows,
            )

    async def following_options(self, account_id: int) -> dict[int, FollowOptions]:
        rows = await self._db.for_id(account_id).fetch_all(
            "SELECT target_id, show_reblogs, notify FROM following WHERE account_id = ?", (account_id,)
        )
        return {r["target_id"]: FollowOptions(bool(r["show_reblogs"]), bool(r["notify"])) for r in rows}

    async def followers_among(self, account_id: int, candidates: Sequence[int]) -> set[int]:
        if not candidates:
            return set()
        rows = await self._db.for_id(account_id).fetch_all(
            f"SELECT follower_id FROM followers WHERE account_id = ? AND follower_id IN ({_marks(len(candidates))})",
            (account_id, *candidates),
        )
        return {r["follower_id"] for r in rows}

    async def follower_batches(self, account_id: int, batch: int) -> AsyncIterator[list[int]]:
        shard = self._db.for_id(account_id)
        after = -1
        while True:
            rows = await shard.fetch_all(
                "SELECT follower_id, follow_id FROM followers WHERE account_id = ? AND follow_id > ?"
                " ORDER BY follow_id LIMIT ?",
                (account_id, after, batch),
            )
            if not rows:
                return
            yield [r["follower_id"] for r in rows]
            after = rows[-1]["follow_id"]

    async def page(self, account_id: int, direction: Direction, page: Page) -> list[tuple[int, int]]:
        table, column = ("followers", "follower_id") if direction == "followers" else ("following", "target_id")
        return await pairs_page(self._db.for_id(account_id), table, "account_id", account_id, "follow_id", column, page)


class SqlFollowRequests:
    def __init__(self, db: ShardedDatabase) -> None:
        self._db = db

    async def put(
        self, tx: Tx, account_id: int, requester_id: int, request_id: int, options: FollowOptions
    ) -> bool:
        ex = executor(tx)
        reblogs, notify = bool(options.show_reblogs), bool(options.notify)
        if await ex.execute(
            "INSERT INTO follow_requests (account_id, requester_id, request_id, show_reblogs, notify)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (account_id, requester_id, request_id, reblogs, notify),
        ):
            return True
        await ex.execute(
            "UPDATE follow_requests SET show_reblogs = ?, notify = ? WHERE account_id = ? AND requester_id = ?",
            (reblogs, notify, account_id, requester_id),
        )
        return False

    async def remove(self, tx: Tx, account_id: int, requester_id: int) -> bool:
        return bool(await executor(tx).execute(
            "DELETE FROM follow_requests WHERE account_id = ? AND requester_id = ?", (account_id, requester_id)
        ))

    async def options(self, account_id: int, requester_id: int) -> FollowOptions | None:
        row = await self._db.for_id(account_id).fetch_one(
            "SELECT show_reblogs, notify FROM follow_requests WHERE account_id = ? AND requester_id = ?",
            (account_id, requester_id),
        )
        return None if row is None else FollowOptions(bool(row["show_reblogs"]), bool(row["notify"]))

    async def oldest_requesters(self, account_id: int, limit: int) -> list[int]:
        rows = await self._db.for_id(account_id).fetch_all(
            "SELECT requester_id FROM follow_requests WHERE account_id = ? ORDER BY request_id LIMIT ?",
            (account_id, limit),
        )
        return [r["requester_id"] for r in rows]

    async def page(self, account_id: int, page: Page) -> list[tuple[int, int]]:
        return await pairs_page(
            self._db.for_id(account_id), "follow_requests", "account_id", account_id, "request_id",
            "requester_id", page,
        )

    async def count(self, account_id: int) -> int:
        row = await self._db.for_id(account_id).fetch_one(
            "SELECT COUNT(*) AS n FROM follow_requests WHERE account_id = ?", (account_id,)
        )
        return int(row["n"]) if row else 0

    async def requesters_among(self, account_id: int, candidates: Sequence[int]) -> set[int]:
        if not candidates:
            return set()
        rows = await self._db.for_id(account_id).fetch_all(
            "SELECT requester_id FROM follow_requests WHERE account_id = ?"
            f" AND requester_id IN ({_marks(len(candidates))})",
            (account_id, *candidates),
        )
        return {r["requester_id"] for r in rows}

    async def requested_among(self, requester_id: int, targets: Sequence[int]) -> set[int]:
        by_shard: dict[int, list[int]] = {}
        for target in targets:
            by_shard.setdefault(self._db.shard_map.physical_for_id(target), []).append(target)
        found: set[int] = set()
        for physical, batch in by_shard.items():
            rows = await self._db.shards[physical].fetch_all(
                f"SELECT account_id FROM follow_requests WHERE requester_id = ? AND account_id IN ({_marks(len(batch))})",
                (requester_id, *batch),
            )
            found.update(r["account_id"] for r in rows)
        return found

    async def remove_all_to(self, account_id: int) -> None:
        await self._db.for_id(account_id).execute("DELETE FROM follow_requests WHERE account_id = ?", (account_id,))

    async def remove_all_from(self, requester_id: int) -> None:
        for shard in self._db.shards:
            await shard.execute("DELETE FROM follow_requests WHERE requester_id = ?", (requester_id,))
