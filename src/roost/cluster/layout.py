"""The state folder of ``roost cluster up``: where the config, secrets, PIDs and node files live.

    cluster.toml            the nodes (topology.py); what roost reads
    secrets/                passwords, readable by the user who ran ``up`` only
    pids.json               every process ``up`` started: PID and start time
    nodes/<name>/           one folder per node, owned by the user the engine runs as
        data/               PostgreSQL's data directory (Redis: its dump and append-only files)
        run/                PostgreSQL's Unix socket
        server.log
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from roost.cluster.processes import ProcessRecord
from roost.cluster.topology import CONFIG_NAME


@dataclass(frozen=True)
class StateDir:
    root: Path

    @property
    def config(self) -> Path:
        return self.root / CONFIG_NAME

    @property
    def secrets(self) -> Path:
        return self.root / "secrets"

    @property
    def pids_file(self) -> Path:
        return self.root / "pids.json"

    def node_dir(self, name: str) -> Path:
        return self.root / "nodes" / name

    def data_dir(self, name: str) -> Path:
        return self.node_dir(name) / "data"

    def socket_dir(self, name: str) -> Path:
        return self.node_dir(name) / "run"

    def log(self, name: str) -> Path:
        return self.node_dir(name) / "server.log"

    def create(self) -> None:
        # Engines run as another user when we are root: they must be able to pass through the
        # root (not list it) to reach their node folders; secrets/ stays ours alone.
        self.root.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o711)
        (self.root / "nodes").mkdir(mode=0o711, exist_ok=True)
        (self.root / "nodes").chmod(0o711)
        self.secrets.mkdir(mode=0o700, exist_ok=True)

    @contextmanager
    def locked(self) -> Iterator[None]:
        """One ``up``/``down``/``promote`` at a time on a state folder."""
        self.create()
        with (self.root / ".lock").open("w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield

    def read_pids(self) -> dict[str, ProcessRecord]:
        try:
            raw = json.loads(self.pids_file.read_text())
        except FileNotFoundError:
            return {}
        return {name: ProcessRecord(**fields) for name, fields in raw.items()}

    def write_pids(self, records: dict[str, ProcessRecord]) -> None:
        temporary = self.pids_file.with_suffix(".tmp")
        temporary.write_text(json.dumps({n: asdict(r) for n, r in sorted(records.items())}, indent=1))
        os.replace(temporary, self.pids_file)

    def secret(self, name: str) -> Path:
        return self.secrets / name
