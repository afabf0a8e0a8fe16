"""Every route's real responses match what /openapi.json declares for that route and status.

Each route is driven through HTTP with valid input (and, where it has them, with the
common mistakes: no token, an unknown id, a bad parameter), and every JSON body is
validated with jsonschema (draft 2020-12, formats checked) against the schema the
document declares for exactly that operation and status. A status the document does
not declare fails too.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from roost.gateway.openapi import openapi_path
from roost.gateway.routes import TABLE

from .harness import Server, User, running_server

DOC_URI = "urn:roost:openapi"
OOB_URI = "urn:ietf:wg:oauth:2.0:oob"


class Contract:
    """/openapi.json as a validator of (method, path template, status, body)."""

    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc
        self.registry: Registry[Any] = Registry().with_resource(
            DOC_URI, Resource.from_contents(doc, default_specification=DRAFT202012)
        )
        self.seen: set[tuple[str, str, int]] = set()

    def schema_for(self, method: str, template: str, status: int, content_type: str) -> dict[str, Any]:
        responses = self.doc["paths"][template][method.lower()]["responses"]
        assert str(status) in responses, f"{method} {template} answered {status}, not declared"
        content = responses[str(status)].get("content", {})
        assert content_type in content, (method, template, status, content_type, list(content))
        pointer = "/".join(
            part.replace("~", "~0").replace("/", "~1")
            for part in ("paths", template, method.lower(), "responses", str(status), "content",
                         content_type, "schema")
        )
        return {"$ref": f"{DOC_URI}#/{pointer}"}

    def validator(self, schema: dict[str, Any]) -> Draft202012Validator:
        return Draft202012Validator(
            schema, registry=self.registry, format_checker=Draft202012Validator.FORMAT_CHECKER
        )

    def check(self, response: Any, method: str, template: str) -> Any:
        """Validate one response; returns it for chaining."""
        template = openapi_path(template)
        content_type = response.headers.get("content-type", "").split(";")[0]
        schema = self.schema_for(method, template, response.status_code, content_type)
        if content_type == "application/json":
            errors = sorted(self.validator(schema).iter_errors(response.json()), key=str)
            assert not errors, (method, template, response.status_code,
                                [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors[:5]])
        self.seen.add((method, template, response.status_code))
        return response


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Contract]]:
    with running_server(tmp_path_factory.mktemp("schemas")) as srv:
        doc = srv.client.get("/openapi.json").json()
        yield srv, Contract(doc)


def test_every_route_declares_a_response_schema() -> None:
    """The target is none; a route listed here answers with a body /openapi.json calls `{}`."""
    undeclared = [f"{e.method} {e.path}" for e in TABLE.endpoints if e.response is None]
    assert undeclared == [], f"routes still lacking a response schema: {undeclared}"


def test_a_wrong_body_is_rejected_by_the_declared_schema(world: tuple[Server, Contract]) -> None:
    """The check can fail: bodies missing a required field, or of the wrong type, are refused."""
    _srv, contract = world
    status_schema = contract.schema_for("GET", "/api/v1/statuses/{id}", 200, "application/json")
    account_schema = contract.schema_for("GET", "/api/v1/accounts/{id}", 200, "application/json")
    error_schema = contract.schema_for("GET", "/api/v1/statuses/{id}", 404, "application/json")
    for schema, body in (
        (account_schema, {}),
        (account_schema, {"id": 1, "username": "a"}),
        (status_schema, {"id": "1"}),
        (error_schema, {"message": "not found"}),
        (error_schema, {"error": 404}),
    ):
        with pytest.raises(ValidationError):
            contract.validator(schema).validate(body)


def _j(r: Any) -> Any:
    return r.json()


def test_every_route_answers_as_declared(world: tuple[Server, Contract]) -> None:
    srv, contract = world
    c, check = srv.client, contract.check

    def get(path: str, template: str | None = None, user: User | None = None, **params: Any) -> Any:
        return check(c.get(path, headers=user.headers if user else {}, params=params), "GET", template or path)

    def post(path: str, template: str | None = None, user: User | None = None, **data: Any) -> Any:
        return check(c.post(path, headers=user.headers if user else {}, data=data), "POST", template or path)

    # Operations, instance and discovery.
    for path in ("/health", "/ready", "/metrics", "/openapi.json", "/avatars/original/missing.png",
                 "/headers/original/missing.png", "/api/v1/instance", "/api/v2/instance",
                 "/.well-known/nodeinfo", "/nodeinfo/2.0", "/.well-known/oauth-authorization-server"):
        assert get(path).status_code == 200, path

    # Apps, tokens, registration, the login page.
    app = _j(post("/api/v1/apps", client_name="schemas", redirect_uris=OOB_URI, scopes="read write follow"))
    creds = {"client_id": app["client_id"], "client_secret": app["client_secret"]}
    assert post("/api/v1/apps", client_name="x").status_code == 400
    app_token = _j(post("/oauth/token", grant_type="client_credentials", scope="read write follow",
                        **creds))["access_token"]
    assert post("/oauth/token", grant_type="client_credentials", client_id="nope",
                client_secret="nope").status_code == 401
    assert post("/oauth/token", grant_type="bogus", **creds).status_code == 400
    app_headers = {"Authorization": f"Bearer {app_token}"}
    assert check(c.get("/api/v1/apps/verify_credentials", headers=app_headers),
                 "GET", "/api/v1/apps/verify_credentials").status_code == 200
    assert get("/api/v1/apps/verify_credentials").status_code == 401
    r = check(c.post("/api/v1/accounts", headers=app_headers, data={
        "username": "carol", "email": "carol@example.com", "password": "correct horse battery",
        "agreement": "1", "locale": "en"}), "POST", "/api/v1/accounts")
    assert r.status_code == 200, r.text
    carol = User("", "carol", r.json()["access_token"])
    assert check(c.post("/api/v1/accounts", headers=app_headers, data={
        "username": "carol", "email": "carol@example.com", "password": "correct horse battery",
        "agreement": "1", "locale": "en"}), "POST", "/api/v1/accounts").status_code == 422
    assert post("/oauth/token", grant_type="password", username="carol",
                password="correct horse battery", scope="read", **creds).status_code == 200
    assert get("/oauth/authorize", response_type="code", client_id=app["client_id"],
               redirect_uri=OOB_URI).status_code == 200
    assert get("/oauth/authorize", response_type="token", client_id="x", redirect_uri=OOB_URI).status_code == 400
    assert post("/oauth/authorize", client_id=app["client_id"], redirect_uri=OOB_URI, username="carol",
                password="correct horse battery").status_code == 200
    assert post("/oauth/authorize", client_id=app["client_id"], redirect_uri=OOB_URI, username="carol",
                password="wrong").status_code == 401
    throwaway = _j(post("/oauth/token", grant_type="client_credentials", **creds))["access_token"]
    assert post("/oauth/revoke", token=throwaway, **creds).status_code == 200

    # Accounts.
    alice, bob = srv.quick_user("alice"), srv.quick_user("bob")
    me = _j(get("/api/v1/accounts/verify_credentials", user=carol))
    carol.id = me["id"]
    assert get("/api/v1/accounts/verify_credentials").status_code == 401
    r = check(c.patch("/api/v1/accounts/update_credentials", headers=carol.headers,
                      data={"display_name": "Carol", "note": "hi #there", "locked": "false"}),
              "PATCH", "/api/v1/accounts/update_credentials")
    assert r.status_code == 200
    assert check(c.patch("/api/v1/accounts/update_credentials", headers=carol.headers, data={"bot": "maybe"}),
                 "PATCH", "/api/v1/accounts/update_credentials").status_code == 422
    assert get("/api/v1/accounts/lookup", acct="alice").status_code == 200
    assert get("/api/v1/accounts/lookup", acct="nobody").status_code == 404
    assert get(f"/api/v1/accounts/{alice.id}", "/api/v1/accounts/{id}").status_code == 200
    assert get("/api/v1/accounts/1", "/api/v1/accounts/{id}").status_code == 404
    assert post(f"/api/v1/accounts/{alice.id}/follow", "/api/v1/accounts/{id}/follow", bob).status_code == 200
    assert post(f"/api/v1/accounts/{bob.id}/follow", "/api/v1/accounts/{id}/follow", bob).status_code == 403
    assert post(f"/api/v1/accounts/{alice.id}/follow", "/api/v1/accounts/{id}/follow",
                carol).status_code == 200
    assert post(f"/api/v1/accounts/{alice.id}/unfollow", "/api/v1/accounts/{id}/unfollow",
                carol).status_code == 200
    assert get("/api/v1/accounts/relationships", user=bob, id=[alice.id, carol.id]).status_code == 200
    assert get("/api/v1/accounts/relationships", user=bob, id="x").status_code == 422
    for tail in ("statuses", "followers", "following"):
        assert get(f"/api/v1/accounts/{alice.id}/{tail}", f"/api/v1/accounts/{{id}}/{tail}").status_code == 200
        assert get(f"/api/v1/accounts/{alice.id}/{tail}", f"/api/v1/accounts/{{id}}/{tail}",
                   limit="x").status_code == 422
    assert get("/api/v1/preferences", user=alice).status_code == 200

    # Follow requests: dave locks his account; alice and bob ask; one answer each.
    dave = srv.quick_user("dave")
    assert check(c.patch("/api/v1/accounts/update_credentials", headers=dave.headers, data={"locked": "true"}),
                 "PATCH", "/api/v1/accounts/update_credentials").status_code == 200
    for asker in (alice, bob):
        assert post(f"/api/v1/accounts/{dave.id}/follow", "/api/v1/accounts/{id}/follow",
                    asker).status_code == 200
    assert get("/api/v1/follow_requests", user=dave).status_code == 200
    assert get("/api/v1/follow_requests", user=dave, limit="x").status_code == 422
    for answer, asker in (("authorize", alice), ("reject", bob)):
        template = f"/api/v1/follow_requests/{{id}}/{answer}"
        assert post(f"/api/v1/follow_requests/{asker.id}/{answer}", template, dave).status_code == 200
        assert post(f"/api/v1/follow_requests/{asker.id}/{answer}", template, dave).status_code == 404

    # Statuses, with a reply, a mention, a tag, a favourite and a reblog.
    first = _j(post("/api/v1/statuses", user=alice, status="hello @bob #roost", visibility="public",
                    spoiler_text="cw"))
    reply = _j(post("/api/v1/statuses", user=bob, status="@alice hi", in_reply_to_id=first["id"]))
    assert post("/api/v1/statuses", user=bob, status="x", visibility="everyone").status_code == 422
    assert post("/api/v1/statuses", user=bob, status="").status_code == 422
    assert check(c.post("/api/v1/statuses", data={"status": "x"}), "POST", "/api/v1/statuses").status_code == 401
    assert check(c.post("/api/v1/statuses", headers={"Authorization": f"Bearer {srv.token_for(bob.id, 'read')}"},
                        data={"status": "x"}), "POST", "/api/v1/statuses").status_code == 403
    sid = first["id"]
    for action in ("favourite", "reblog"):
        r = post(f"/api/v1/statuses/{sid}/{action}", f"/api/v1/statuses/{{id}}/{action}", bob)
        assert r.status_code == 200, r.text
    srv.drain()
    assert get(f"/api/v1/statuses/{sid}", "/api/v1/statuses/{id}", bob).status_code == 200
    assert get("/api/v1/statuses/1", "/api/v1/statuses/{id}").status_code == 404
    assert get(f"/api/v1/statuses/{reply['id']}/context", "/api/v1/statuses/{id}/context").status_code == 200
    for tail in ("favourited_by", "reblogged_by"):
        assert get(f"/api/v1/statuses/{sid}/{tail}", f"/api/v1/statuses/{{id}}/{tail}").status_code == 200
    assert get("/api/v1/favourites", user=bob).status_code == 200
    assert get("/api/v1/timelines/home", user=bob).status_code == 200
    assert get("/api/v1/timelines/home", user=bob, max_id="x").status_code == 422
    assert get("/api/v1/timelines/public").status_code == 200
    assert get("/api/v2/search", user=bob, q="hello").status_code == 200
    assert get("/api/v2/search", q="hello", type="nope").status_code == 422
    assert get("/api/v2/search").status_code == 400

    # Notifications (alice: bob's mention, favourite, reblog and follow).
    notes = _j(get("/api/v1/notifications", user=alice))
    assert {n["type"] for n in notes} >= {"mention", "favourite", "reblog", "follow"}, notes
    nid = notes[0]["id"]
    assert get(f"/api/v1/notifications/{nid}", "/api/v1/notifications/{id}", alice).status_code == 200
    assert get(f"/api/v1/notifications/{nid}", "/api/v1/notifications/{id}", bob).status_code == 404
    assert post(f"/api/v1/notifications/{nid}/dismiss", "/api/v1/notifications/{id}/dismiss",
                alice).status_code == 200
    assert post("/api/v1/notifications/clear", user=alice).status_code == 200

    # Undo everything, then delete (someone else's first: 403).
    for action in ("unfavourite", "unreblog"):
        assert post(f"/api/v1/statuses/{sid}/{action}", f"/api/v1/statuses/{{id}}/{action}",
                    bob).status_code == 200
    assert check(c.delete(f"/api/v1/statuses/{sid}", headers=bob.headers),
                 "DELETE", "/api/v1/statuses/{id}").status_code == 403
    assert check(c.delete(f"/api/v1/statuses/{sid}", headers=alice.headers),
                 "DELETE", "/api/v1/statuses/{id}").status_code == 200

    # Every route answered 2xx at least once, so every success schema met a real body.
    ok = {(m, t) for m, t, s in contract.seen if s < 300}
    missing = [f"{e.method} {openapi_path(e.path)}" for e in TABLE.endpoints
               if (e.method, openapi_path(e.path)) not in ok]
    assert missing == [], f"routes never driven to a 2xx here: {missing}"
