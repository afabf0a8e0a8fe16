"""STATE.json: what `roost bench seed` made and `roost bench run` needs.

The state carries bearer tokens, so it is written with mode 0600; it holds
nothing else secret (every password is derived from the seed anyway).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from roost.bench.graph import GraphParams

STATE_VERSION = 1


@dataclass(frozen=True, slots=True)
class SeededAccount:
    index: int
    id: str
    username: str
    token: str


@dataclass(slots=True)
class BenchState:
    params: GraphParams
    accounts: list[SeededAccount]
    base_url: str | None = None
    mode: str = "api"
    created_at: str = ""
    celebrities: list[int] = field(default_factory=list)
    # A sample of seeded status ids: targets for single-status reads,
    # favourites in the mixed workload.
    status_ids: list[str] = field(default_factory=list)
    # author index -> indices of some of its followers, chosen at seeding
    # time so the fanout probe can watch real followers' home timelines.
    fanout_probes: dict[int, list[int]] = field(default_factory=dict)
    seed_stats: dict[str, Any] = field(default_factory=dict)

    def account(self, index: int) -> SeededAccount:
        account = self.accounts[index]
        if account.index != index:
            raise ValueError(f"state accounts are out of order at {index}")
        return account

    def to_json(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "mode": self.mode,
            "base_url": self.base_url,
            "created_at": self.created_at,
            "params": self.params.to_json(),
            "celebrities": self.celebrities,
            "accounts": [[a.index, a.id, a.username, a.token] for a in self.accounts],
            "status_ids": self.status_ids,
            "fanout_probes": {str(k): v for k, v in self.fanout_probes.items()},
            "seed_stats": self.seed_stats,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BenchState:
        if data.get("version") != STATE_VERSION:
            raise ValueError(f"unsupported state version: {data.get('version')!r}")
        return cls(
            params=GraphParams.from_json(data["params"]),
            accounts=[SeededAccount(int(i), str(a), str(u), str(t)) for i, a, u, t in data["accounts"]],
            base_url=data.get("base_url"),
            mode=data.get("mode", "api"),
            created_at=data.get("created_at", ""),
            celebrities=[int(i) for i in data.get("celebrities", [])],
            status_ids=[str(s) for s in data.get("status_ids", [])],
            fanout_probes={int(k): [int(i) for i in v] for k, v in data.get("fanout_probes", {}).items()},
            seed_stats=dict(data.get("seed_stats", {})),
        )

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(orjson.dumps(self.to_json()))
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path) -> BenchState:
        return cls.from_json(orjson.loads(path.read_bytes()))
