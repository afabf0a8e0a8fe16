"""The accounts service: accounts, the follow graph and OAuth."""

from roost.domain.redirect_uris import OOB
from roost.services.accounts.accounts import AccountsService
from roost.services.accounts.follows import FollowsService
from roost.services.accounts.oauth import GRANT_TYPES, OAuthError, OAuthService

__all__ = [
    "GRANT_TYPES",
    "OOB",
    "AccountsService",
    "FollowsService",
    "OAuthError",
    "OAuthService",
]
