"""The cluster config file (``cluster.toml``): every node by name, host, port, role and shard.

``roost cluster up`` writes it into its state folder; roost's adapters read it to find their
engines. Nothing in it is specific to this machine except the optional engine settings of the
nodes ``up`` runs itself, so a deployment on other hosts uses the same file with their addresses.
Secrets are not in it: it names files (relative to itself) that hold them.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from dataclasses import MISSING, asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal, TypeVar, cast
from urllib.parse import quote

import tomli_w

CONFIG_NAME = "cluster.toml"
FORMAT_VERSION = 1
Role = Literal["primary", "replica"]
ROLES: tuple[Role, ...] = ("primary", "replica")
# Node names double as PostgreSQL application_name (synchronous_standby_names) and folder names.
NAME_PATTERN = re.compile(r"[a-z][a-z0-9-]{0,62}")
LOOPBACK = "127.0.0.1"
T = TypeVar("T")


class TopologyError(ValueError):
    """The config file (or a requested layout) is not a usable cluster."""


@dataclass(frozen=True)
class PostgresSettings:
    """What every PostgreSQL node shares: who connects, and the engine settings ``up`` applies."""

    user: str = "roost"
    database: str = "roost"
    # libpq's password-file format (host:port:db:user:password), relative to the config file.
    passfile: str = "secrets/pgpass"
    # off only for throw-away clusters (tests): a crash of the machine can then corrupt data.
    fsync: bool = True
    # on: a primary acknowledges a commit once one of its replicas has flushed it
    # (synchronous_standby_names = ANY 1 (...)); off (the default): asynchronous streaming.
    synchronous: bool = False
    shared_buffers: str = "32MB"
    max_connections: int = 100


@dataclass(frozen=True)
class PostgresNode:
    name: str
    shard: int
    role: Role
    host: str
    port: int
    # Replicas only: recovery_min_apply_delay; holds replay back (tests of read-your-writes).
    apply_delay_ms: int = 0


@dataclass(frozen=True)
class RedisNode:
    name: str
    host: str
    port: int
    password_file: str = "secrets/redis.password"


@dataclass(frozen=True)
class Topology:
    postgres: PostgresSettings
    nodes: tuple[PostgresNode, ...]
    redis: RedisNode
    # The folder of the config file: relative secret paths resolve against it (not written out).
    base: Path = field(default=Path("."), compare=False)

    @property
    def shards(self) -> list[int]:
        return sorted({n.shard for n in self.nodes})

    def primary(self, shard: int) -> PostgresNode:
        for node in self.nodes:
            if node.shard == shard and node.role == "primary":
                return node
        raise TopologyError(f"shard {shard} has no primary")

    def replicas(self, shard: int) -> list[PostgresNode]:
        return [n for n in self.nodes if n.shard == shard and n.role == "replica"]

    def node(self, name: str) -> PostgresNode:
        for node in self.nodes:
            if node.name == name:
                return node
        raise TopologyError(f"no PostgreSQL node named {name!r}")

    @property
    def passfile_path(self) -> Path:
        return self.base / self.postgres.passfile

    @property
    def redis_password_path(self) -> Path:
        return self.base / self.redis.password_file

    def redis_password(self) -> str:
        return self.redis_password_path.read_text().strip()

    def dsn(self, node: PostgresNode) -> str:
        """A libpq/asyncpg URL for the node; the password comes from the passfile it names."""
        user = quote(self.postgres.user, safe="")
        database = quote(self.postgres.database, safe="")
        passfile = quote(str(self.passfile_path.resolve()), safe="/")
        return f"postgresql://{user}@{_url_host(node.host)}:{node.port}/{database}?passfile={passfile}"

    def redis_url(self) -> str:
        """A redis-py URL without the password (pass ``password=topology.redis_password()``)."""
        return f"redis://{_url_host(self.redis.host)}:{self.redis.port}/0"

    def replace_node(self, node: PostgresNode) -> Topology:
        self.node(node.name)
        return replace(self, nodes=tuple(node if n.name == node.name else n for n in self.nodes))


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def plan(shards: int, replicas: int, ports: Iterator[int], *, host: str = LOOPBACK,
         postgres: PostgresSettings | None = None) -> Topology:
    """A new layout: ``shards`` primaries, each with ``replicas`` replicas, and one Redis."""
    if shards < 1:
        raise TopologyError("--shards must be at least 1")
    if replicas < 0:
        raise TopologyError("--replicas must be 0 or more")
    nodes = [
        PostgresNode(name=f"pg-s{shard}-n{i}", shard=shard, role="primary" if i == 0 else "replica",
                     host=host, port=next(ports))
        for shard in range(shards) for i in range(replicas + 1)
    ]
    topology = Topology(postgres=postgres or PostgresSettings(), nodes=tuple(nodes),
                        redis=RedisNode(name="redis", host=host, port=next(ports)))
    validate(topology)
    return topology


def validate(topology: Topology) -> None:
    names = [n.name for n in topology.nodes] + [topology.redis.name]
    for name in names:
        if not NAME_PATTERN.fullmatch(name):
            raise TopologyError(f"node name {name!r} must be lowercase letters, digits and '-'")
    dupes = {n for n in names if names.count(n) > 1}
    if dupes:
        raise TopologyError(f"node names used twice: {', '.join(sorted(dupes))}")
    addresses = [(n.host, n.port) for n in topology.nodes] + [(topology.redis.host, topology.redis.port)]
    for host, port in addresses:
        if not 0 < port < 65536:
            raise TopologyError(f"port {port} of {host} is out of range")
        if addresses.count((host, port)) > 1:
            raise TopologyError(f"{host}:{port} is given to more than one node")
    if not topology.nodes:
        raise TopologyError("a cluster needs at least one PostgreSQL node")
    for shard in topology.shards:
        primaries = [n.name for n in topology.nodes if n.shard == shard and n.role == "primary"]
        if len(primaries) != 1:
            raise TopologyError(f"shard {shard} must have exactly one primary, has {primaries or 'none'}")
    if topology.shards != list(range(len(topology.shards))):
        raise TopologyError(f"shards must be numbered 0..N-1, found {topology.shards}")
    for node in topology.nodes:
        if node.apply_delay_ms < 0:
            raise TopologyError(f"{node.name}: apply_delay_ms must be 0 or more")
        if node.role == "primary" and node.apply_delay_ms:
            raise TopologyError(f"{node.name}: apply_delay_ms applies to replicas only")


def save(topology: Topology, path: Path) -> None:
    document: dict[str, Any] = {
        "version": FORMAT_VERSION,
        "postgres": {**asdict(topology.postgres), "nodes": [asdict(n) for n in topology.nodes]},
        "redis": asdict(topology.redis),
    }
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text("# The cluster's nodes; written by `roost cluster up`, read by roost.\n"
                         + tomli_w.dumps(document))
    temporary.replace(path)  # readers never see half a file


def load(path: Path) -> Topology:
    try:
        document = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise TopologyError(f"no cluster config at {path} (run `roost cluster up`)") from None
    except tomllib.TOMLDecodeError as exc:
        raise TopologyError(f"{path}: not valid TOML: {exc}") from None
    try:
        topology = _parse(document, path.parent)
        validate(topology)
    except TopologyError as exc:
        raise TopologyError(f"{path}: {exc}") from None
    return topology


def _parse(document: dict[str, Any], base: Path) -> Topology:
    if document.get("version") != FORMAT_VERSION:
        raise TopologyError(f"version must be {FORMAT_VERSION}, found {document.get('version')!r}")
    pg = _table(document, "postgres")
    node_tables = pg.pop("nodes", None)
    if not isinstance(node_tables, list):
        raise TopologyError("[[postgres.nodes]] is missing")
    settings = _build(PostgresSettings, pg, "[postgres]")
    nodes = tuple(_build(PostgresNode, _as_table(t, "[[postgres.nodes]]"), "[[postgres.nodes]]")
                  for t in node_tables)
    for node in nodes:
        if node.role not in ROLES:
            raise TopologyError(f"{node.name}: role must be one of {ROLES}, found {node.role!r}")
    redis = _build(RedisNode, _table(document, "redis"), "[redis]")
    return Topology(postgres=settings, nodes=nodes, redis=redis, base=base)


def _table(document: dict[str, Any], key: str) -> dict[str, Any]:
    return dict(_as_table(document.get(key), f"[{key}]"))


def _as_table(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise TopologyError(f"{where} is missing or not a table")
    return cast(dict[str, Any], value)


def _build(kind: type[T], values: dict[str, Any], where: str) -> T:
    """Construct a dataclass from a TOML table, checking names and types (tomllib gives no schema)."""
    declared = {f.name: f for f in fields(cast(Any, kind)) if f.name != "base"}
    unknown = sorted(set(values) - set(declared))
    if unknown:
        raise TopologyError(f"{where}: unknown keys {unknown}")
    expected = {"str": (str, "a string"), "int": (int, "an integer"),
                "bool": (bool, "true or false"), "Role": (str, "a string")}
    for key, value in values.items():
        want, described = expected[str(declared[key].type)]
        if type(value) is not want:  # bool is an int subclass: compare exactly
            raise TopologyError(f"{where}: {key} must be {described}, found {value!r}")
    try:
        return kind(**values)
    except TypeError as exc:
        missing = sorted(name for name, f in declared.items()
                         if name not in values and f.default is MISSING)
        raise TopologyError(f"{where}: missing keys {missing}") from exc

