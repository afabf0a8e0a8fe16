"""How every kind of value the services cache is turned into bytes and back.

An adapter that keeps values outside the process (Redis) stores these bytes; the
in-process MemoryCache keeps the objects themselves unless told to encode too.
orjson: already roost's JSON encoder, the fastest maintained one for Python, and
it encodes slotted dataclasses natively (no per-field code to keep in step with
the records). JSON keeps cached values readable with redis-cli, and a record
that gains a field with a default still decodes from bytes cached before.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

import orjson

from roost.domain.entities import Account, Application, Identity, Status, ViewerFlags
from roost.ports.cache import Codec

T = TypeVar("T")


def _plain(value: Any) -> Any:
    if isinstance(value, (set, frozenset)):
        return list(value)
    raise TypeError(f"cannot encode a {type(value).__name__} for the cache")


class JsonCodec(Generic[T]):
    def __init__(self, from_json: Callable[[Any], T]) -> None:
        self._from_json = from_json

    def encode(self, value: T) -> bytes:
        return orjson.dumps(value, default=_plain, option=orjson.OPT_NON_STR_KEYS)

    def decode(self, data: bytes) -> T:
        return self._from_json(orjson.loads(data))


def _status(d: dict[str, Any]) -> Status:
    d["mention_ids"] = tuple(d["mention_ids"])
    d["tags"] = tuple(d["tags"])
    return Status(**d)


def _application(d: dict[str, Any]) -> Application:
    d["redirect_uris"] = tuple(d["redirect_uris"])
    d["scopes"] = tuple(d["scopes"])
    return Application(**d)


def _identity(d: dict[str, Any]) -> Identity:
    d["scopes"] = frozenset(d["scopes"])
    return Identity(**d)


def _viewer_flags(value: Any) -> ViewerFlags | str:
    if isinstance(value, str):
        return value  # the "too many to cache" marker
    return ViewerFlags(frozenset(value["favourited"]), frozenset(value["reblogged"]), value["version"])


def _following_map(value: dict[str, list[bool]]) -> dict[int, tuple[bool, bool]]:
    return {int(k): (v[0], v[1]) for k, v in value.items()}


def _ids(value: list[int]) -> list[int]:
    return value


def _int(value: int) -> int:
    return value


# Records by id (get_records/set_records kinds) and plain keys, by the part of the
# key before its first ":" (get_many/set_many).
CODECS: Mapping[str, Codec[Any]] = {
    "s": JsonCodec(_status),
    "a": JsonCodec(lambda d: Account(**d)),
    "recent": JsonCodec(_ids),  # an author's recent status ids
    "vf": JsonCodec(_viewer_flags),  # vf:<viewer>
    "d": JsonCodec(_int),  # d:<kind>:<key> -> account id (the key directory)
    "app": JsonCodec(_application),  # app:<id>
    "t": JsonCodec(_identity),  # t:<token>
    "fg": JsonCodec(_following_map),  # fg:<account>: followee -> (show reblogs, notify)
}


def namespace(key: str) -> str:
    """The codec name of a plain key."""
    return key.split(":", 1)[0]
