"""The ``roost`` command: run the server, manage accounts, benchmark.

    roost up [--host H] [--port P] [--data-dir D]      everything in one process
    roost serve --target T[,T...]                        chosen components only (schema must be current)
    roost migrate [--data-dir D]                         apply schema migrations, under a lock
    roost list-targets                                   the component registry
    roost accounts create|list|delete ...                admin, like Mastodon's tootctl
    roost doctor [--data-dir D] [--full]                 check the data directory
    roost bench seed|run|report ...                      the benchmark harness
    roost cluster up|status|down|promote ...             the cluster shape's engines
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from roost.settings import Settings


def _settings(args: argparse.Namespace) -> Settings:
    settings = Settings.from_env(
        host=getattr(args, "host", None),
        port=getattr(args, "port", None),
        data_dir=Path(args.data_dir) if getattr(args, "data_dir", None) else None,
    )
    from roost.gateway.client_address import parse_networks

    try:  # one clear line now, rather than a traceback from inside a server worker
        parse_networks(settings.trusted_proxies)
    except ValueError as exc:
        raise SystemExit(f"roost: ROOST_TRUSTED_PROXIES: {exc}") from None
    return settings


def _add_server_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port to listen on (default 8080)")
    parser.add_argument("--data-dir", help="where data lives (default ./data)")
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])


def _data_dir_status(settings: Settings) -> int:
    """2 when the data directory is refused (one line printed), else 0."""
    return 2 if _refuse_bad_data_dir(settings) else 0


def _refuse_bad_data_dir(settings: Settings) -> bool:
    """Check the data directory before the server starts; on a problem print one line
    and return True. (The storage module checks again at start, as a safety net.)"""
    import logging

    from roost.errors import StorageIntegrityError
    from roost.runtime.backends import check_data_dir

    if settings.cluster_config:  # the cluster shape keeps no data directory: check its config
        from roost.cluster.topology import TopologyError, load

        try:
            load(Path(settings.cluster_config))
        except TopologyError as exc:
            print(f"roost: refusing to start: {exc}", file=sys.stderr, flush=True)
            return True
        return False

    # What the check did (a file recreated, an old directory adopted), one line each.
    storage_log = logging.getLogger("roost.storage")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("roost: %(message)s"))
    storage_log.addHandler(handler)
    level = storage_log.level
    storage_log.setLevel(logging.INFO)
    try:
        check_data_dir(settings)
    except StorageIntegrityError as exc:
        print(f"roost: refusing to start: {exc}", file=sys.stderr, flush=True)
        return True
    finally:
        storage_log.removeHandler(handler)
        storage_log.setLevel(level)
    return False


def cmd_up(args: argparse.Namespace) -> int:
    from roost.runtime.server import serve

    settings = _settings(args)
    where = f"cluster {settings.cluster_config}" if settings.cluster_config else f"data in {settings.data_dir}"
    return serve(settings, ("all",), args.log_level,
                 announce=f"roost: serving the Mastodon API on {settings.base_url} ({where})",
                 prepare=lambda: _data_dir_status(settings))


def cmd_serve(args: argparse.Namespace) -> int:
    from roost.runtime.container import build_registry
    from roost.runtime.server import serve

    targets = tuple(t.strip() for t in args.target.split(",") if t.strip())
    build_registry().resolve(targets)  # fail fast on an unknown target
    # One of several processes: roost migrate migrates, once; serve only checks.
    settings = _settings(args).with_overrides(migrate_on_start=False)

    def prepare() -> int:
        return _data_dir_status(settings) or _schema_status(settings)

    return serve(settings, targets, args.log_level, prepare=prepare)


def _schema_status(settings: Settings) -> int:
    """2 when the schema is not current (one line printed: run roost migrate), else 0."""
    from roost.runtime.backends import open_database
    from roost.runtime.container import schema_problem

    async def check() -> str | None:
        db, close = await open_database(settings)
        try:
            return await schema_problem(db)
        finally:
            await close()

    problem = asyncio.run(check())
    if problem is not None:
        print(f"roost: refusing to start: {problem}", file=sys.stderr, flush=True)
        return 2
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    from roost.runtime.backends import migrations_for, open_database
    from roost.runtime.container import describe_steps

    settings = _settings(args)
    if _refuse_bad_data_dir(settings):
        return 2

    async def migrate() -> int:
        db, close = await open_database(settings)
        try:
            applied = await db.migrate(migrations_for(db))  # waits for any other migrator
        finally:
            await close()
        where = settings.cluster_config or settings.data_dir
        print("\n".join(f"applied {line}" for line in describe_steps(applied)))
        print(f"roost: schema current ({len(applied)} step(s) applied on {where})", flush=True)
        return 0

    return asyncio.run(migrate())


def cmd_doctor(args: argparse.Namespace) -> int:
    from roost.runtime import doctor

    checks = doctor.run(_settings(args), full=args.full)
    for check in checks:
        print(check.line())
    failed = sum(not c.ok for c in checks)
    print(f"{len(checks) - failed} ok, {failed} failed")
    return 1 if failed else 0


def cmd_list_targets(args: argparse.Namespace) -> int:
    from roost.runtime.container import build_registry

    for module in build_registry().targets():
        deps = ", ".join(module.deps) or "-"
        print(f"{module.name:<16} deps: {deps:<60} {module.description}")
    return 0


def _with_services(settings: Settings, work: Callable[[Any], Awaitable[int]]) -> int:
    from roost.errors import StorageIntegrityError
    from roost.runtime.container import start, stop

    async def main() -> int:
        container = await start(settings, ("accounts", "statuses", "notifications"))
        try:
            return await work(container)
        finally:
            await stop(container)

    try:
        return asyncio.run(main())
    except StorageIntegrityError as exc:
        print(f"roost: refusing to open the data directory: {exc}", file=sys.stderr)
        return 2


def cmd_accounts_create(args: argparse.Namespace) -> int:
    password = args.password or secrets.token_urlsafe(12)

    async def work(c: Any) -> int:
        from roost.errors import RoostError

        try:
            account = await c.accounts.register(
                args.username, args.email, password, allow_reserved=args.allow_reserved
            )
        except RoostError as exc:
            print(f"error: {exc.message}", file=sys.stderr)
            return 1
        print(f"created {account.username} (id {account.id})")
        if not args.password:
            print(f"password: {password}")
        return 0

    return _with_services(_settings(args), work)


def cmd_accounts_list(args: argparse.Namespace) -> int:
    async def work(c: Any) -> int:
        accounts = await c.accounts.list_all()
        print(f"{'id':<20} {'username':<30} {'email':<40} followers statuses")
        for a in accounts:
            print(f"{a.id:<20} {a.username:<30} {a.email:<40} {a.followers_count:>9} {a.statuses_count:>8}")
        return 0

    return _with_services(_settings(args), work)


def cmd_accounts_delete(args: argparse.Namespace) -> int:
    async def work(c: Any) -> int:
        from roost.errors import NotFound

        try:
            account = await c.accounts.lookup(args.username)
        except NotFound:
            print(f"error: no account named {args.username}", file=sys.stderr)
            return 1
        removed = await c.statuses.delete_all_by(account.id)
        await c.follows.remove_all(account.id)
        await c.accounts.delete(account.id)
        print(f"deleted {account.username} (id {account.id}) and {removed} statuses")
        return 0

    return _with_services(_settings(args), work)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="roost", description="A Mastodon-compatible social backend.")
    sub = parser.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", help="run everything in one process on the embedded default")
    _add_server_options(up)
    up.set_defaults(func=cmd_up)

    serve = sub.add_parser("serve", help="run the given targets (components) only")
    _add_server_options(serve)
    serve.add_argument("--target", default="all", help="comma-separated targets (see list-targets)")
    serve.set_defaults(func=cmd_serve)

    migrate = sub.add_parser("migrate", help="apply schema migrations to the data directory (under a lock)")
    migrate.add_argument("--data-dir", help="the data directory (default ./data)")
    migrate.set_defaults(func=cmd_migrate)

    targets = sub.add_parser("list-targets", help="list the components and their dependencies")
    targets.set_defaults(func=cmd_list_targets)

    accounts = sub.add_parser("accounts", help="manage accounts (works on the data directory)")
    accounts_sub = accounts.add_subparsers(dest="accounts_command", required=True)
    create = accounts_sub.add_parser("create", help="create an account")
    create.add_argument("username")
    create.add_argument("--email", required=True)
    create.add_argument("--password", help="default: a random one, printed")
    create.add_argument("--allow-reserved", action="store_true",
                        help="allow a reserved name such as admin (refused through the API)")
    create.add_argument("--data-dir")
    create.set_defaults(func=cmd_accounts_create)
    listing = accounts_sub.add_parser("list", help="list accounts")
    listing.add_argument("--data-dir")
    listing.set_defaults(func=cmd_accounts_list)
    delete = accounts_sub.add_parser("delete", help="delete an account and its statuses")
    delete.add_argument("username")
    delete.add_argument("--data-dir")
    delete.set_defaults(func=cmd_accounts_delete)

    doctor = sub.add_parser("doctor", help="check the data directory: manifest, files, identity, integrity, disk")
    doctor.add_argument("--data-dir", help="the data directory (default ./data)")
    doctor.add_argument("--full", action="store_true", help="PRAGMA integrity_check instead of quick_check")
    doctor.set_defaults(func=cmd_doctor)

    try:
        from roost.bench.cli import add_bench_commands
    except ImportError:
        pass
    else:
        add_bench_commands(sub)

    from roost.cluster.cli import add_cluster_commands

    add_cluster_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
