"""Read-your-writes tokens kept in a real Redis (runtime/read_your_writes.py): what one request
commits, the next request of the same account reads, in whichever process; positions only grow;
the key lapses after the bound; a Redis that is down sends reads to the primaries."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from contract.conftest import redis_server
from roost.adapters.postgres.consistency import current
from roost.cluster.scratch_redis import RedisServer
from roost.domain.entities import Identity
from roost.runtime.read_your_writes import OnPrimaries, ReadYourWrites, ttl_seconds
from roost.settings import Settings


@contextlib.asynccontextmanager
async def sessions_on(server: RedisServer, ttl: float = 30) -> AsyncIterator[ReadYourWrites]:
    """The tokens of one process: its own client of the shared Redis."""
    client = server.client()
    try:
        yield ReadYourWrites(client, ttl)
    finally:
        await client.aclose()


def user(account: int, app: int = 1) -> Identity:
    return Identity(token=f"t{account}", account_id=account, application_id=app, scopes=frozenset({"read"}))


def app_only(app: int) -> Identity:
    return Identity(token=f"app{app}", account_id=None, application_id=app, scopes=frozenset({"read"}))


async def seen(sessions: ReadYourWrites, identity: Identity | None, *, on_primaries: bool = False) -> object:
    """What the request's reads are routed by: the installed token's positions."""
    async with sessions.around(identity, on_primaries=on_primaries):
        token = current.get()
        return None if token is None else (type(token).__name__, dict(token.positions))


async def writes(sessions: ReadYourWrites, identity: Identity, positions: dict[int, int]) -> None:
    async with sessions.around(identity):
        token = current.get()
        assert token is not None
        for shard, position in positions.items():
            token.note(shard, position)  # what PgShard does after each commit


def test_a_write_is_seen_by_the_next_request_of_the_same_account_in_another_process(
        redis_server: RedisServer) -> None:
    redis_server.flush()

    async def main() -> None:
        async with sessions_on(redis_server) as writer, sessions_on(redis_server) as reader:
            assert await seen(reader, user(7)) == ("ReadAfter", {})
            await writes(writer, user(7), {0: 0x5000, 1: 0x10})
            assert await seen(reader, user(7)) == ("ReadAfter", {0: 0x5000, 1: 0x10})
            assert await seen(reader, user(8)) == ("ReadAfter", {})  # another account: any replica
            # Positions only grow: an older write finishing later does not lower them.
            await writes(writer, user(7), {0: 0x4000, 1: 0x20})
            assert await seen(reader, user(7)) == ("ReadAfter", {0: 0x5000, 1: 0x20})
            assert (writer.sessions_saved, reader.sessions_loaded) == (2, 2)

    asyncio.run(main())


def test_positions_past_2_to_the_53_keep_their_order(redis_server: RedisServer) -> None:
    redis_server.flush()

    async def main() -> None:
        async with sessions_on(redis_server) as sessions:
            big = 2**60 + 1
            await writes(sessions, user(1), {0: big})
            await writes(sessions, user(1), {0: big - 1})  # equal as doubles, smaller as integers
            assert await seen(sessions, user(1)) == ("ReadAfter", {0: big})

    asyncio.run(main())


def test_an_app_tokens_writes_are_read_back_by_the_apps_user_tokens(redis_server: RedisServer) -> None:
    redis_server.flush()

    async def main() -> None:
        async with sessions_on(redis_server) as sessions:
            await writes(sessions, app_only(3), {1: 0x900})  # registration with app 3's token
            assert await seen(sessions, user(42, app=3)) == ("ReadAfter", {1: 0x900})
            assert await seen(sessions, user(42, app=4)) == ("ReadAfter", {})

    asyncio.run(main())


def test_anonymous_requests_touch_nothing_and_credential_requests_read_primaries(
        redis_server: RedisServer) -> None:
    redis_server.flush()

    async def main() -> None:
        async with sessions_on(redis_server) as sessions:
            assert await seen(sessions, None) is None
            kind, _ = await seen(sessions, None, on_primaries=True)  # type: ignore[misc]
            assert kind == "OnPrimaries" and OnPrimaries().needs(0) is not None
            # A registration on the primaries still leaves its position for the app's users.
            async with sessions.around(app_only(9), on_primaries=True):
                token = current.get()
                assert token is not None
                token.note(0, 0x77)
            assert await seen(sessions, user(5, app=9)) == ("ReadAfter", {0: 0x77})

    asyncio.run(main())


def test_the_token_lapses_after_its_ttl(redis_server: RedisServer) -> None:
    redis_server.flush()

    async def main() -> None:
        async with sessions_on(redis_server, ttl=0.2) as sessions:
            await writes(sessions, user(2), {0: 0x10})
            ttl_ms = await sessions._redis.pttl("roost:ryw:account:2")
            assert 0 < ttl_ms <= 200
            deadline = asyncio.get_running_loop().time() + 10
            while await seen(sessions, user(2)) != ("ReadAfter", {}):
                assert asyncio.get_running_loop().time() < deadline, "the token never lapsed"
                await asyncio.sleep(0.05)

    asyncio.run(main())


def test_the_ttl_covers_the_lag_bound_and_two_checks() -> None:
    settings = Settings(max_replica_lag_seconds=5.0, replica_check_interval_seconds=0.5)
    assert ttl_seconds(settings) == 5.0 + 1.0 + 1.0


def test_redis_down_sends_reads_to_the_primaries() -> None:
    from roost.adapters.redis.client import connect

    async def main() -> None:
        client = connect("127.0.0.1", 1, socket_timeout=0.5)  # nothing listens on port 1
        try:
            sessions = ReadYourWrites(client, 30)
            kind, _ = await seen(sessions, user(1))  # type: ignore[misc]
            assert kind == "OnPrimaries"
            assert sessions.redis_errors == 1
        finally:
            await client.aclose()

    asyncio.run(main())


__all__ = ["redis_server"]  # the session Redis of the contract suites, shared here
