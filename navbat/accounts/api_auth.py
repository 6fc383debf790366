"""Who is calling the REST API: a bearer token (integrations, `navbat token create`) or the signed-in
session of the site's own pages (then unsafe methods need the CSRF token, as a form would).

Only a SHA-256 hash of a token is stored. Tokens are 256 random bits, so a plain hash is enough: nobody can
guess one, and the database alone does not give one away.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from ninja.errors import HttpError
from ninja.security import APIKeyCookie, HttpBearer
from ninja.utils import check_csrf

from navbat.accounts.access import AnyUser, role_of
from navbat.accounts.models import ApiToken

TOKEN_PREFIX = "nbt_"
# "Last used" is written at most this often per token: not one write per request under a booking burst.
LAST_USED_RESOLUTION = timedelta(minutes=1)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
_U = TypeVar("_U", bound="AnyUser")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def create_token(*, user: User, name: str = "") -> tuple[ApiToken, str]:
    """A new token for `user`: the record, and the token itself — shown once, never stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        record = ApiToken.objects.create(user=user, name=name.strip()[:100], token_hash=token_hash(token))
    return record, token


def revoke_token(*, token: ApiToken) -> ApiToken:
    """From now on the token opens nothing. Revoking twice keeps the first time."""
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    token.refresh_from_db()
    return token


def user_for_token(token: str) -> User | None:
    """The active user a live token belongs to, or None."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 100:
        return None
    record = (
        ApiToken.objects.filter(token_hash=token_hash(token), revoked_at__isnull=True, user__is_active=True)
        .select_related("user")
        .first()
    )
    if record is None:
        return None
    now = timezone.now()
    if record.last_used_at is None or record.last_used_at < now - LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=record.pk).update(last_used_at=now)
    return record.user


class TokenAuth(HttpBearer):
    """`Authorization: Bearer nbt_…`. The token's user becomes request.user, so that the access rules and the
    audit log see the same person whichever way he came in."""

    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        user = user_for_token(token.strip())
        if user is None:
            return None
        request.user = user
        return _with_role(user)


class SessionAuth(APIKeyCookie):
    """The session of a user signed in to the site. Unsafe methods must carry the CSRF token (the
    X-CSRFToken header), checked only once the session is known to be signed in: a caller without a
    session gets "sign in" (401), not a CSRF refusal."""

    param_name = settings.SESSION_COOKIE_NAME

    def __init__(self) -> None:
        super().__init__(csrf=True)

    def _get_key(self, request: HttpRequest) -> str | None:
        return request.COOKIES.get(self.param_name)

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = request.user
        if not user.is_authenticated:
            return None
        if request.method not in SAFE_METHODS and check_csrf(request) is not None:
            raise CsrfFailed()
        return _with_role(user)


def _with_role(user: _U) -> _U:
    """Every API caller acts in a role (staff of a clinic, or a patient); an account with none may not."""
    if role_of(user) is None:
        raise NoRole()
    return user


class CsrfFailed(HttpError):
    """A signed-in session sent an unsafe request without the page's CSRF token."""

    def __init__(self) -> None:
        super().__init__(403, str(_("The CSRF token is missing or wrong. Reload the page and try again.")))


class NoRole(HttpError):
    """A signed-in account that is neither a clinic's staff nor a patient."""

    def __init__(self) -> None:
        super().__init__(403, str(_("This account has no role in any clinic.")))
