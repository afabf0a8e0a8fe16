"""Drive a running `roost up` with the real `toot` CLI 0.52.1.

toot keeps its apps and tokens in $XDG_CONFIG_HOME/toot/config.json; every
test gets its own HOME and XDG_CONFIG_HOME so nothing leaks between tests or
into the real user's configuration.
"""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
from e2e_support import PASSWORD, RoostServer, User, console_script, wait_until

pytestmark = pytest.mark.e2e

TOOT = console_script("toot")


class Toot:
    def __init__(self, home: Path) -> None:
        self.home = home
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("TOOT_", "XDG_"))}
        self.env.update({"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
                         "TERM": "dumb", "COLUMNS": "120", "NO_COLOR": "1", "LC_ALL": "C.UTF-8"})

    def run(self, *args: str, input: str | None = None, ok: bool = True) -> str:
        proc = subprocess.run([*TOOT, *args], input=input, capture_output=True, text=True,
                              env=self.env, timeout=60, check=False)
        if ok:
            assert proc.returncode == 0, (
                f"toot {' '.join(args)} -> {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
        return proc.stdout + proc.stderr if not ok else proc.stdout

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args, "--json"))

    @property
    def config(self) -> dict[str, Any]:
        return dict(json.loads((self.home / ".config" / "toot" / "config.json").read_text()))


@pytest.fixture
def toot(tmp_path: Path) -> Toot:
    home = tmp_path / "home"
    home.mkdir()
    return Toot(home)


def test_login_cli_post_and_timeline(module_server: RoostServer, new_user: Any, toot: Toot) -> None:
    server = module_server
    me: User = new_user(server.url)
    friend: User = new_user(server.url)
    friend_post = friend.status("a status from a friend")

    # toot accepts an http:// base URL as given and keys its config by the instance uri.
    out = toot.run("login_cli", "--instance", server.url, "--email", me.email, "--password", PASSWORD)
    assert "Successfully logged in" in out
    cfg = toot.config
    domain = server.url.removeprefix("http://")
    assert cfg["apps"][domain]["base_url"] == server.url
    assert cfg["active_user"] == f"{me.username}@{domain}"
    token = cfg["users"][cfg["active_user"]]["access_token"]
    assert httpx.get(server.url + "/api/v1/accounts/verify_credentials", timeout=10,
                     headers={"Authorization": f"Bearer {token}"}).json()["id"] == me.id

    assert toot.json("whoami")["username"] == me.username

    # Wrong password: a clean failure, nothing saved.
    bad = Toot(toot.home.parent / "badhome")
    bad.home.mkdir()
    out = bad.run("login_cli", "--instance", server.url, "--email", me.email,
                  "--password", "not-my-password", ok=False)
    assert "Login failed" in out

    # Follow by name: toot resolves it through /api/v2/search (exact acct match).
    out = toot.run("follow", friend.username)
    assert "now following" in out
    rel = me.get("/api/v1/accounts/relationships", **{"id[]": friend.id})
    assert rel[0]["following"] is True
    followers = friend.get(f"/api/v1/accounts/{friend.id}/followers")
    assert [a["id"] for a in followers] == [me.id]
    following = toot.json("following")
    assert [a["acct"] for a in following] == [friend.username]

    out = toot.run("post", "hello from the toot CLI")
    match = re.search(r"Toot posted: (\S+)", out)
    assert match, out
    mine = me.get(f"/api/v1/accounts/{me.id}/statuses")
    assert len(mine) == 1
    assert "hello from the toot CLI" in mine[0]["content"]
    assert match.group(1) == mine[0]["url"]

    private = toot.json("post", "--visibility", "private", "for followers only")
    assert private["visibility"] == "private"
    reply = toot.json("post", "--reply-to", friend_post["id"], f"@{friend.username} nice one")
    assert reply["in_reply_to_id"] == friend_post["id"]
    assert [m["id"] for m in reply["mentions"]] == [friend.id]
    assert me.get(f"/api/v1/statuses/{private['id']}")["visibility"] == "private"

    # Home timeline through toot: the friend's status (fanned out after the follow
    # merged it in, or at least present) and our own posts, newest first.
    expected = [reply["id"], private["id"], mine[0]["id"]]
    wait_until(lambda: me.home_ids()[:3] == expected, message="own posts at the top of home")
    api_home = me.home_ids()
    home = toot.json("timelines", "home", "--no-pager", "--limit", "40")
    assert [s["id"] for s in home] == api_home

    out = toot.run("timeline", "--once", "--count", "20")
    for text in ("hello from the toot CLI", "for followers only", "nice one"):
        assert text in out
    ids_in_output = re.findall(r"ID (\d+)", out)
    assert ids_in_output == api_home[: len(ids_in_output)]
    assert expected == ids_in_output[:3]

    # The friend got a follow and a mention notification.
    wait_until(lambda: {n["type"] for n in friend.get("/api/v1/notifications")} == {"follow", "mention"},
               message="friend's follow and mention notifications")

    # Full text search through toot.
    wait_until(lambda: reply["id"] in {s["id"] for s in toot.json("search", "--type", "statuses",
                                                                  "nice one")["statuses"]},
               message="toot finds its reply by full text")
    found = toot.json("search", "--type", "accounts", friend.username)["accounts"]
    assert found[0]["acct"] == friend.username


def test_status_actions(module_server: RoostServer, new_user: Any, toot: Toot) -> None:
    server = module_server
    me: User = new_user(server.url)
    author: User = new_user(server.url)
    target = author.status("boost me")
    toot.run("login_cli", "--instance", server.url, "--email", me.email, "--password", PASSWORD)

    fav = toot.json("favourite", target["id"])
    assert fav["favourited"] is True and fav["favourites_count"] == 1
    boost = toot.json("reblog", target["id"])
    assert boost["reblog"]["id"] == target["id"]
    assert author.get(f"/api/v1/statuses/{target['id']}")["reblogs_count"] == 1
    wait_until(lambda: {n["type"] for n in author.get("/api/v1/notifications")} == {"favourite", "reblog"},
               message="favourite and reblog notifications")
    shown = toot.json("status", target["id"])
    assert shown["favourited"] is True and shown["reblogged"] is True
    thread = toot.json("thread", target["id"])
    assert thread == {"ancestors": [], "descendants": []}

    toot.json("unreblog", target["id"])
    toot.json("unfavourite", target["id"])
    after = author.get(f"/api/v1/statuses/{target['id']}")
    assert (after["favourites_count"], after["reblogs_count"]) == (0, 0)

    own = toot.json("post", "short-lived")
    toot.run("delete", own["id"])
    gone = me.client.get(f"/api/v1/statuses/{own['id']}")
    assert gone.status_code == 404
    assert gone.json() == {"error": "Record not found"}


def test_login_with_authorization_code(module_server: RoostServer, new_user: Any, toot: Toot) -> None:
    """`toot login`: the browser flow, with the code pasted back on stdin."""
    server = module_server
    me: User = new_user(server.url)
    # Register toot's app first (login_cli stores it); `toot login` then reuses it.
    other: User = new_user(server.url)
    toot.run("login_cli", "--instance", server.url, "--email", other.email, "--password", PASSWORD)
    app = toot.config["apps"][server.url.removeprefix("http://")]

    params = {"response_type": "code", "client_id": app["client_id"],
              "redirect_uri": "urn:ietf:wg:oauth:2.0:oob", "scope": "read write follow"}
    page = httpx.get(server.url + "/oauth/authorize/", params=params, timeout=10)  # toot's trailing slash
    assert page.status_code == 200, page.text
    fields = {m.group(1): html.unescape(m.group(2)) for m in
              re.finditer(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text)}
    done = httpx.post(server.url + "/oauth/authorize", timeout=10,
                      data={**fields, "username": me.username, "password": PASSWORD})
    code = re.search(r"<code>([^<]+)</code>", done.text)
    assert code, done.text

    out = toot.run("login", "--instance", server.url, input=f"n\n{html.unescape(code.group(1))}\n")
    assert "/oauth/authorize/?" in out
    assert "Successfully logged in" in out
    assert toot.config["active_user"].startswith(f"{me.username}@")
    assert toot.json("whoami")["id"] == me.id
