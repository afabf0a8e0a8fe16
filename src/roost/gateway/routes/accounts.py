"""Account routes: registration, credentials, profiles, follows and relationships."""

from __future__ import annotations

from starlette.responses import Response

from roost.domain.ids import parse_id
from roost.errors import Forbidden, NotFound, Unauthorized, Unprocessable
from roost.gateway.context import Call
from roost.gateway.endpoints import PAGE_PARAMS, Param
from roost.gateway.routes.table import TABLE
from roost.services.accounts.accounts import validation_error

ID = Param("id", "id", where="path", required=True)


@TABLE.add("POST", "/api/v1/accounts", "Register an account (returns a user token)", response="Token", auth="app",
           scope="write:accounts", tag="accounts", body_limit="max_auth_body_bytes", params=(
    Param("username", where="body", required=True), Param("email", where="body", required=True),
    Param("password", where="body", required=True), Param("agreement", "boolean", where="body", required=True),
    Param("locale", where="body", required=True), Param("reason", where="body"),
    Param("region", where="body", description="roost's own: where the account's data lives, under the"
          " geo placement (one of ROOST_PLACEMENT_REGIONS; omitted: the default region)"),
))
async def register(call: Call) -> Response:
    p = call.params
    if not call.services.settings.registrations_open:
        raise Forbidden("Registrations are closed")
    if not p.boolean("agreement"):
        raise validation_error("agreement", "ERR_ACCEPTED", "must be accepted")
    for name in ("username", "email", "password"):
        if p.string(name) is None:
            raise validation_error(name, "ERR_BLANK", "can't be blank")
    assert call.identity is not None
    oauth = call.services.oauth_service
    app = await oauth.app_by_id(call.identity.application_id)
    if app is None:
        raise Unauthorized()
    scopes = await oauth.granted_scopes(app, call.identity.token)
    account = await call.services.accounts_service.register(
        p.required_str("username"), p.required_str("email"), p.required_str("password"),
        region=(p.string("region") or "").strip() or None,
    )
    issued = await oauth.issue(app, account.id, scopes)
    return call.json(call.serializer.token(issued))


@TABLE.add("GET", "/api/v1/accounts/verify_credentials", "The calling user's account, with source", response="CredentialAccount",
           auth="user", scope="read:accounts", tag="accounts")
async def verify_credentials(call: Call) -> Response:
    account = await call.services.accounts_service.require(call.user_id)
    pending = await call.services.follows_service.pending_count(account.id)
    return call.json(call.serializer.credential_account(account, follow_requests_count=pending))


@TABLE.add("PATCH", "/api/v1/accounts/update_credentials", "Update display name, note, locked, bot, indexable", response="CredentialAccount",
           auth="user", scope="write:accounts", tag="accounts", params=(
    Param("display_name", where="body"), Param("note", where="body"),
    Param("locked", "boolean", where="body"), Param("bot", "boolean", where="body"),
    Param("indexable", "boolean", where="body", description="Whether public posts may be found by anyone's search"),
))
async def update_credentials(call: Call) -> Response:
    p = call.params
    locked = p.boolean("locked") if "locked" in p else None
    account = await call.services.accounts_service.update_credentials(
        call.user_id,
        display_name=p.string("display_name"),
        note=p.string("note"),
        locked=locked,
        bot=p.boolean("bot") if "bot" in p else None,
        indexable=p.boolean("indexable") if "indexable" in p else None,
    )
    follows = call.services.follows_service
    if locked is False:
        # As Mastodon: unlocking approves everyone still waiting. Sending locked=false
        # again finishes the job if an earlier call died half-way.
        await follows.authorize_all(account.id)
        account = await call.services.accounts_service.require(account.id)
    pending = await follows.pending_count(account.id)
    return call.json(call.serializer.credential_account(account, follow_requests_count=pending))


@TABLE.add("GET", "/api/v1/accounts/lookup", "Find an account by username", response="Account", statuses=(404,), auth="optional",
           tag="accounts", params=(Param("acct", required=True),))
async def lookup(call: Call) -> Response:
    acct = call.params.required_str("acct")
    domain = acct.lstrip("@").partition("@")[2]
    if domain and domain.lower() != call.services.settings.instance_domain.lower():
        raise NotFound()
    account = await call.services.accounts_service.lookup(acct)
    return call.json(call.serializer.account(account))


@TABLE.add("GET", "/api/v1/accounts/relationships", "Relationships with the given accounts", response=["Relationship"],
           auth="user", scope="read:follows", tag="accounts", params=(Param("id", "array"),))
async def relationships(call: Call) -> Response:
    ids = []
    for raw in call.params.strings("id"):
        parsed = parse_id(raw)
        if parsed is None:
            raise Unprocessable("Validation failed: id is not a valid id")
        ids.append(parsed)
    found = await call.services.accounts_service.get_many(ids)
    rels = await call.services.follows_service.relationships(call.user_id, [i for i in ids if i in found])
    return call.json([call.serializer.relationship(r) for r in rels])


@TABLE.add("GET", "/api/v1/accounts/{id}", "An account", response="Account", auth="optional", tag="accounts", params=(ID,))
async def get_account(call: Call) -> Response:
    account = await call.services.accounts_service.require(call.path_id())
    return call.json(call.serializer.account(account))


@TABLE.add("GET", "/api/v1/accounts/{id}/statuses", "An account's statuses", response=["Status"], auth="optional",
           scope="read:statuses", tag="accounts", params=(
    ID, *PAGE_PARAMS, Param("exclude_replies", "boolean"), Param("exclude_reblogs", "boolean"),
    Param("only_media", "boolean"), Param("pinned", "boolean"), Param("tagged"),
))
async def account_statuses(call: Call) -> Response:
    p = call.params
    account_id = call.path_id()
    page = call.page()
    exclude_replies, exclude_reblogs = p.boolean("exclude_replies"), p.boolean("exclude_reblogs")
    if p.boolean("pinned") or p.boolean("only_media"):
        # No pinning and no media yet: an honest empty page, after checking the account exists.
        await call.services.accounts_service.require(account_id)
        return call.json([])
    statuses = await call.services.timelines_service.account(
        account_id, call.viewer_id, page, exclude_replies=exclude_replies, exclude_reblogs=exclude_reblogs,
        tagged=(p.string("tagged") or "").strip().lstrip("#") or None,
    )
    return call.paged(await call.statuses_body(statuses), [s.id for s in statuses])


async def _follow_list(call: Call, direction: str) -> Response:
    page = call.page(default=40, maximum=80)
    pairs = await call.services.follows_service.page(call.path_id(), direction, page)
    accounts = await call.accounts_json([other for _, other in pairs])
    # Cursors are follow ids; Mastodon sends "next" only when the page is full.
    return call.paged(
        accounts, [cursor for cursor, _ in pairs], prev_param="since_id",
        include_next=len(pairs) >= page.limit,
    )


@TABLE.add("GET", "/api/v1/accounts/{id}/followers", "Accounts following this account", response=["Account"],
           auth="optional", tag="accounts", params=(ID, *PAGE_PARAMS))
async def followers(call: Call) -> Response:
    return await _follow_list(call, "followers")


@TABLE.add("GET", "/api/v1/accounts/{id}/following", "Accounts this account follows", response=["Account"],
           auth="optional", tag="accounts", params=(ID, *PAGE_PARAMS))
async def following(call: Call) -> Response:
    return await _follow_list(call, "following")


@TABLE.add("POST", "/api/v1/accounts/{id}/follow", "Follow an account", response="Relationship", auth="user",
           scope="write:follows", tag="accounts", params=(
    ID, Param("reblogs", "boolean", where="body"), Param("notify", "boolean", where="body"),
))
async def follow(call: Call) -> Response:
    target = call.path_id()
    if target == call.user_id:
        raise Forbidden("You cannot follow yourself")
    rel = await call.services.follows_service.follow(
        call.user_id, target, reblogs=call.params.boolean("reblogs", True), notify=call.params.boolean("notify")
    )
    return call.json(call.serializer.relationship(rel))


@TABLE.add("POST", "/api/v1/accounts/{id}/unfollow", "Unfollow an account", response="Relationship", auth="user",
           scope="write:follows", tag="accounts", params=(ID,))
async def unfollow(call: Call) -> Response:
    rel = await call.services.follows_service.unfollow(call.user_id, call.path_id())
    return call.json(call.serializer.relationship(rel))

