"""``roost cluster up|status|down|promote``: the engines of the cluster shape on this machine."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

DEFAULT_STATE_DIR = "cluster"


def add_cluster_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cluster = subparsers.add_parser(
        "cluster", help="run PostgreSQL shards with replicas and Redis on this machine",
        description="Start, inspect and stop the cluster shape's engines (PostgreSQL shard "
                    "primaries with streaming replicas, Redis) from this machine's binaries, "
                    "in a state folder that holds cluster.toml, secrets, PIDs and data.")
    sub = cluster.add_subparsers(dest="cluster_command", required=True,
                                 metavar="{up,status,down,promote}")

    up = sub.add_parser("up", help="start every node (idempotent: restarts only dead ones)")
    _state_dir(up)
    up.add_argument("--shards", type=_count(1), metavar="N",
                    help="shard primaries of a new cluster (default 2)")
    up.add_argument("--replicas", type=_count(0), metavar="R",
                    help="streaming replicas per primary of a new cluster (default 1)")
    up.add_argument("--no-fsync", dest="fsync", action="store_false", default=None,
                    help="fsync=off: faster, for throw-away clusters only")
    up.add_argument("--synchronous", action="store_true", default=None,
                    help="commits wait until a replica has flushed them (default: asynchronous)")
    up.add_argument("--processes", type=_count(0), metavar="P",
                    help="roost server processes on the cluster (default: as many as before, else 1; "
                         "0: the engines only, nothing migrated)")
    up.add_argument("--port", type=_count(1), metavar="PORT",
                    help="the first new roost process's port (the next ones take the ports after it); "
                         "default: spare loopback ports")
    up.set_defaults(func=cmd_up)

    status = sub.add_parser("status", help="every node: role, address, LSN, lag, health")
    _state_dir(status)
    status.add_argument("--json", action="store_true", help="one JSON array of nodes")
    status.set_defaults(func=cmd_status)

    down = sub.add_parser("down", help="stop every process `up` started (by PID)")
    _state_dir(down)
    down.set_defaults(func=cmd_down)

    promote = sub.add_parser("promote", help="make a replica its shard's primary")
    _state_dir(promote)
    promote.add_argument("node", help="the replica's name (see status)")
    promote.set_defaults(func=cmd_promote)


def _state_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--state-dir", default=DEFAULT_STATE_DIR, metavar="D",
                        help="the cluster's state folder (default ./%(default)s)")


def _count(minimum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}")
        return value

    return parse


def _guarded(work: Callable[[], int]) -> int:
    """Run ``work``; an expected failure is one line on stderr and exit 1, not a traceback."""
    from roost.cluster.binaries import EnginesMissing
    from roost.cluster.osuser import EngineUserError
    from roost.cluster.postgres import PostgresError
    from roost.cluster.redis import RedisError
    from roost.cluster.roost_processes import RoostProcessError
    from roost.cluster.topology import TopologyError
    from roost.errors import RoostError, StorageIntegrityError

    try:
        return work()
    except (EnginesMissing, EngineUserError, PostgresError, RedisError, TopologyError,
            RoostProcessError, StorageIntegrityError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except RoostError as exc:  # the database did not answer the migration
        print(f"error: {exc.message}", file=sys.stderr)
        return 1


def cmd_up(args: argparse.Namespace) -> int:
    from roost.cluster import roost_processes, supervisor
    from roost.cluster.layout import StateDir
    from roost.cluster.status import cluster_status, render

    def work() -> int:
        layout = supervisor.up(Path(args.state_dir), args.shards, args.replicas,
                               fsync=args.fsync, synchronous=args.synchronous)
        state = StateDir(Path(args.state_dir).resolve())
        print(f"roost: cluster up; config in {state.config}")
        servers: list[roost_processes.RoostProcess] = []
        if args.processes != 0:
            for line in roost_processes.migrate(state.config):
                print(f"applied {line}")
            with state.locked():
                servers = roost_processes.up(state, args.processes, args.port, supervisor.spare_ports())
        elif roost_processes.load(state):
            print("roost: --processes 0: the roost processes already recorded are left as they are")
        print(render(cluster_status(state, layout) + roost_processes.statuses(state)))
        for server in servers:
            print(f"roost: serving the Mastodon API on {server.url} ({server.name}, {server.target})")
        return 0

    return _guarded(work)


def cmd_status(args: argparse.Namespace) -> int:
    from roost.cluster import roost_processes, topology
    from roost.cluster.layout import StateDir
    from roost.cluster.status import cluster_status, render

    def work() -> int:
        state = StateDir(Path(args.state_dir).resolve())
        statuses = cluster_status(state, topology.load(state.config)) + roost_processes.statuses(state)
        if args.json:
            print(json.dumps([s.as_dict() for s in statuses], indent=1))
        else:
            print(render(statuses))
        return 0 if all(s.health == "up" for s in statuses) else 3

    return _guarded(work)


def cmd_down(args: argparse.Namespace) -> int:
    from roost.cluster import supervisor

    def work() -> int:
        stopped = supervisor.down(Path(args.state_dir))
        print(f"roost: stopped {', '.join(stopped) if stopped else 'nothing (none running)'}")
        return 0

    return _guarded(work)


def cmd_promote(args: argparse.Namespace) -> int:
    from roost.cluster import supervisor

    def work() -> int:
        layout = supervisor.promote(Path(args.state_dir), args.node)
        node = layout.node(args.node)
        print(f"roost: {node.name} is now the primary of shard {node.shard}")
        return 0

    return _guarded(work)
