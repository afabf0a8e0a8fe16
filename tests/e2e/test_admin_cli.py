"""The admin CLI (`roost accounts create|list|delete`), run as an operator would, on a data directory."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import httpx
import pytest
from e2e_support import ROOST, RoostServer, create_app

pytestmark = pytest.mark.e2e


def roost(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*ROOST, *args, "--data-dir", str(data_dir)], capture_output=True, text=True, timeout=60
    )


def test_create_list_delete(tmp_path: Path, make_server: object) -> None:
    data = tmp_path / "data"
    created = roost("accounts", "create", "opal", "--email", "opal@example.test",
                    "--password", "opal-password-1", data_dir=data)
    assert created.returncode == 0, created.stderr
    assert "created opal" in created.stdout

    generated = roost("accounts", "create", "quartz", "--email", "quartz@example.test", data_dir=data)
    assert generated.returncode == 0
    password = generated.stdout.split("password:", 1)[1].strip()
    assert len(password) >= 12

    duplicate = roost("accounts", "create", "opal", "--email", "other@example.test", data_dir=data)
    assert duplicate.returncode == 1 and "already taken" in duplicate.stderr

    # Reserved names need the operator's explicit --allow-reserved, as they are refused over the API.
    reserved = roost("accounts", "create", "admin", "--email", "admin@example.test", data_dir=data)
    assert reserved.returncode == 1 and "Username is reserved" in reserved.stderr
    allowed = roost("accounts", "create", "admin", "--email", "admin@example.test", "--allow-reserved",
                    data_dir=data)
    assert allowed.returncode == 0 and "created admin" in allowed.stdout, allowed.stderr

    listing = roost("accounts", "list", data_dir=data)
    assert listing.returncode == 0
    assert "opal" in listing.stdout and "quartz" in listing.stdout and "admin" in listing.stdout

    # The server sees the account, and its password works for the password grant.
    server = make_server(data)  # type: ignore[operator]
    assert isinstance(server, RoostServer)
    server.start()
    try:
        app = create_app(server.url)
        token = httpx.post(f"{server.url}/oauth/token", data={
            "grant_type": "password", "client_id": app.client_id, "client_secret": app.client_secret,
            "username": "quartz@example.test", "password": password, "scope": "read",
        })
        assert token.status_code == 200, token.text
        assert httpx.get(f"{server.url}/api/v1/accounts/lookup", params={"acct": "opal"}).status_code == 200
    finally:
        server.stop()

    deleted = roost("accounts", "delete", "opal", data_dir=data)
    assert deleted.returncode == 0 and "deleted opal" in deleted.stdout
    assert "opal" not in roost("accounts", "list", data_dir=data).stdout
    missing = roost("accounts", "delete", "opal", data_dir=data)
    assert missing.returncode == 1 and "no account named opal" in missing.stderr


def test_a_bad_trusted_proxies_setting_is_one_clear_line(tmp_path: Path) -> None:
    env = {**os.environ, "ROOST_TRUSTED_PROXIES": "10.0.0.0/8,not-an-address"}
    done = subprocess.run([*ROOST, "up", "--port", "1", "--data-dir", str(tmp_path / "data")],
                          capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 1
    assert done.stderr.strip() == ("roost: ROOST_TRUSTED_PROXIES: 'not-an-address' is not an IP address"
                                   " or network"), done.stderr
    assert not (tmp_path / "data").exists()
