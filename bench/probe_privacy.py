"""Probe a running roost for issue #8 items 3 and 10: does a follow of a locked account
leak its followers-only statuses, and does a direct message reach a mentioned
non-follower's home timeline depending on whether that timeline was built?

    python bench/probe_privacy.py http://127.0.0.1:8080

Registers five fresh accounts through the API (argon2 hashing: a few seconds).
The one-second pauses let the log consumers (fanout, notifications) catch up.
"""
import sys
import time
import uuid

import httpx

base = sys.argv[1]
c = httpx.Client(base_url=base, timeout=10)
app = c.post("/api/v1/apps", data={"client_name": "probe", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob",
                                   "scopes": "read write follow"}).json()
apptok = c.post("/oauth/token", data={"grant_type": "client_credentials", "client_id": app["client_id"],
                "client_secret": app["client_secret"], "scope": "read write follow"}).json()["access_token"]

def user(name):
    r = c.post("/api/v1/accounts", headers={"Authorization": f"Bearer {apptok}"}, data={
        "username": name, "email": f"{name}@example.com", "password": "correct horse battery",
        "agreement": "true", "locale": "en"})
    h = {"Authorization": f"Bearer {r.json()['access_token']}"}
    return h, c.get("/api/v1/accounts/verify_credentials", headers=h).json()["id"]

tag = uuid.uuid4().hex[:6]
(owner, oid), (asker, aid), (stranger, sid) = user(f"owner{tag}"), user(f"asker{tag}"), user(f"stranger{tag}")
print("lock:", c.patch("/api/v1/accounts/update_credentials", headers=owner, data={"locked": "true"}).json()["locked"])
secret = c.post("/api/v1/statuses", headers=owner, data={"status": "followers only", "visibility": "private"}).json()["id"]
rel = c.post(f"/api/v1/accounts/{oid}/follow", headers=asker).json()
print("follow of a locked account -> following:", rel["following"], "requested:", rel["requested"])
time.sleep(1)
print("pending requester GET private status ->", c.get(f"/api/v1/statuses/{secret}", headers=asker).status_code)
print("pending requester home holds it ->", secret in [s["id"] for s in c.get("/api/v1/timelines/home", headers=asker).json()])
print("owner followers_count ->", c.get(f"/api/v1/accounts/{oid}").json()["followers_count"])
print("follow_requests ->", [a["id"] == aid for a in c.get("/api/v1/follow_requests", headers=owner).json()])
print("authorize ->", c.post(f"/api/v1/follow_requests/{aid}/authorize", headers=owner).json()["followed_by"])
time.sleep(1)
print("approved follower GET private status ->", c.get(f"/api/v1/statuses/{secret}", headers=asker).status_code)
print("approved follower home holds it ->", secret in [s["id"] for s in c.get("/api/v1/timelines/home", headers=asker).json()])
# Direct message to a mentioned non-follower: home built before vs never built.
built_h, _ = user(f"built{tag}")
c.get("/api/v1/timelines/home", headers=built_h)
cold_h, _ = user(f"cold{tag}")
dm = c.post("/api/v1/statuses", headers=owner, data={"status": f"@built{tag} @cold{tag} hi", "visibility": "direct"}).json()["id"]
time.sleep(1)
for name, h in (("built", built_h), ("never built", cold_h)):
    home = [s["id"] for s in c.get("/api/v1/timelines/home", headers=h).json()]
    notes = [n["status"]["id"] for n in c.get("/api/v1/notifications", headers=h).json() if n["type"] == "mention"]
    print(f"DM to a mentioned non-follower ({name}): in home -> {dm in home}, mention notification -> {dm in notes},"
          f" GET -> {c.get(f'/api/v1/statuses/{dm}', headers=h).status_code}")
