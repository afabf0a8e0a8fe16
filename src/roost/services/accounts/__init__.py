"""The accounts service: accounts, the follow graph and OAuth."""

from roost.domain.redirect_uris import OOB
from roost.services.accounts.accounts import AccountsService
from roost.services.accounts.follows import FollowsService
from roost.services.accounts.oauth import GRANT_TYPES, OAuthError, OAuthService
from roost.services.accounts.schema import MIGRATIONS

__all__ = [
    "GRANT_TYPES",
    "MIGRATIONS",
    "OOB",
    "AccountsService",
    "FollowsService",
    "OAuthError",
    "OAuthService",
]
