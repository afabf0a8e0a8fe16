"""Instance discovery: v1 and v2 instance, nodeinfo, OAuth server metadata, preferences."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from roost.domain import pkce
from roost.gateway.context import Call
from roost.gateway.openapi import NODEINFO, NODEINFO_LINKS
from roost.gateway.routes.table import TABLE
from roost.gateway.serializers import server_version
from roost.services.accounts import GRANT_TYPES

MIME_TYPES = ["image/jpeg", "image/png", "image/gif", "image/webp"]


def _configuration(call: Call) -> dict[str, Any]:
    s = call.services.settings
    return {
        "accounts": {"max_featured_tags": 10, "max_pinned_statuses": 5},
        "statuses": {
            "max_characters": s.max_status_chars,
            "max_media_attachments": 4,
            "characters_reserved_per_url": 23,
        },
        "media_attachments": {
            "supported_mime_types": MIME_TYPES,
            "image_size_limit": 16_777_216,
            "image_matrix_limit": 33_177_600,
            "video_size_limit": 103_809_024,
            "video_frame_rate_limit": 120,
            "video_matrix_limit": 8_294_400,
            "description_limit": 1500,
        },
        "polls": {
            "max_options": 4,
            "max_characters_per_option": 50,
            "min_expiration": 300,
            "max_expiration": 2_629_746,
        },
    }


async def _user_count(call: Call) -> int:
    count: int = await call.services.accounts_service.count()
    return count


@TABLE.add("GET", "/api/v1/instance", "Instance information (v1)", response="V1Instance", tag="instance", trailing_slash=True)
async def instance_v1(call: Call) -> Response:
    s = call.services.settings
    return call.json({
        "uri": s.instance_domain,
        "title": s.title,
        "short_description": "A roost server",
        "description": "roost: a Twitter-like social backend speaking the Mastodon API",
        "email": f"admin@{s.instance_domain.split(':')[0]}",
        "version": server_version(),
        "urls": {"streaming_api": call.base_url.replace("http", "ws", 1)},
        "stats": {"user_count": await _user_count(call), "status_count": 0, "domain_count": 1},
        "thumbnail": None,
        "languages": ["en"],
        "registrations": s.registrations_open,
        "approval_required": False,
        "invites_enabled": False,
        "configuration": _configuration(call),
        "contact_account": None,
        "rules": [],
    })


@TABLE.add("GET", "/api/v2/instance", "Instance information (v2)", response="Instance", tag="instance", trailing_slash=True)
async def instance_v2(call: Call) -> Response:
    s = call.services.settings
    config = _configuration(call)
    config.update({
        "urls": {"streaming": call.base_url.replace("http", "ws", 1)},
        "vapid": {"public_key": ""},
        "translation": {"enabled": False},
        "timelines_access": {
            "live_feeds": {"local": "public", "remote": "public"},
            "hashtag_feeds": {"local": "public", "remote": "public"},
            "trending_link_feeds": {"local": "public", "remote": "public"},
        },
        "limited_federation": False,
    })
    return call.json({
        "domain": s.instance_domain,
        "title": s.title,
        "version": server_version(),
        "source_url": "https://github.com/roost/roost",
        "description": "roost: a Twitter-like social backend speaking the Mastodon API",
        "usage": {"users": {"active_month": await _user_count(call)}},
        "thumbnail": {"url": f"{call.base_url}/headers/original/missing.png"},
        "icon": [],
        "languages": ["en"],
        "configuration": config,
        "registrations": {
            "enabled": s.registrations_open, "approval_required": False, "message": None,
            "url": None, "min_age": None, "reason_required": False,
        },
        "api_versions": {"mastodon": 2},
        "contact": {"email": f"admin@{s.instance_domain.split(':')[0]}", "account": None},
        "rules": [],
    })


@TABLE.add("GET", "/.well-known/nodeinfo", "NodeInfo discovery", response=NODEINFO_LINKS, tag="instance")
async def nodeinfo_links(call: Call) -> Response:
    return call.json({"links": [{
        "rel": "http://nodeinfo.diaspora.software/ns/schema/2.0",
        "href": f"{call.base_url}/nodeinfo/2.0",
    }]})


@TABLE.add("GET", "/nodeinfo/2.0", "NodeInfo 2.0 document", response=NODEINFO, tag="instance")
async def nodeinfo(call: Call) -> Response:
    users = await _user_count(call)
    return call.json({
        "version": "2.0",
        "software": {"name": "mastodon", "version": server_version().split()[0]},
        "protocols": ["activitypub"],
        "services": {"outbound": [], "inbound": []},
        "usage": {"users": {"total": users, "activeMonth": users, "activeHalfyear": users}, "localPosts": 0},
        "openRegistrations": call.services.settings.registrations_open,
        "metadata": {"nodeName": call.services.settings.title, "upstream": {"name": "roost"}},
    })


@TABLE.add("GET", "/.well-known/oauth-authorization-server", "OAuth 2 server metadata (RFC 8414)", response="DiscoverOauthServerConfigurationResponse", tag="oauth")
async def oauth_metadata(call: Call) -> Response:
    from roost.domain.scopes import ALL_SCOPES

    base = call.base_url
    return call.json({
        "issuer": base + "/",
        "service_documentation": "https://docs.joinmastodon.org/",
        "authorization_endpoint": f"{base}/oauth/authorize",
        "token_endpoint": f"{base}/oauth/token",
        "app_registration_endpoint": f"{base}/api/v1/apps",
        "revocation_endpoint": f"{base}/oauth/revoke",
        "scopes_supported": sorted(ALL_SCOPES),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "fragment", "form_post"],
        "grant_types_supported": list(GRANT_TYPES),
        "code_challenge_methods_supported": list(pkce.METHODS),
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
    })


@TABLE.add("GET", "/api/v1/preferences", "The user's posting and reading preferences", response="Preferences", auth="user",
           scope="read:accounts", tag="accounts")
async def preferences(call: Call) -> Response:
    return call.json({
        "posting:default:visibility": "public",
        "posting:default:sensitive": False,
        "posting:default:language": None,
        "reading:expand:media": "default",
        "reading:expand:spoilers": False,
    })
