"""Two-factor sign-in for the staff who must have it (see access.two_factor_required)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from navbat.accounts.access import has_second_factor, two_factor_required

SETUP = "accounts:two_factor_setup"
VERIFY = "accounts:two_factor_verify"
# What a user who still owes his second factor may open: signing in (as someone else) and out, the language.
ALWAYS_OPEN = frozenset({"login", "logout", "admin:logout", "set_language", "language"})


class TwoFactorMiddleware:
    """A signed-in user who must enter a second factor and has not yet done so in this session is sent to
    enter it (or, if he has none yet, to set one up) before any other page — the admin site included.

    Goes after django_otp's OTPMiddleware, which tells whether the session is verified.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> HttpResponse | None:
        user = request.user
        if not user.is_authenticated or _is_verified(user):
            return None
        view_name = request.resolver_match.view_name if request.resolver_match else ""
        if view_name in ALWAYS_OPEN or not two_factor_required(user):
            return None
        target = VERIFY if has_second_factor(user) else SETUP
        if view_name == target:
            return None
        url = reverse(target)
        if request.method == "GET":
            url += "?" + urlencode({"next": request.get_full_path()})
        if request.headers.get("HX-Request"):
            # An htmx request would swap the page into a fragment: have htmx load it as a whole page.
            response = HttpResponse(status=204)
            response["HX-Redirect"] = url
            return response
        return HttpResponseRedirect(url)


def _is_verified(user: object) -> bool:
    is_verified = getattr(user, "is_verified", None)
    return bool(is_verified is not None and is_verified())


def client_ip(request: HttpRequest) -> str | None:
    """The client's address. With NAVBAT_TRUSTED_PROXIES = n reverse proxies in front, each appending to
    X-Forwarded-For, it is the n-th entry from the right (entries left of it may be forged by the client)."""
    proxies = int(getattr(settings, "NAVBAT_TRUSTED_PROXIES", 0))
    if proxies > 0:
        hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
        if len(hops) >= proxies:
            forwarded: str = hops[-proxies]
            return forwarded
    address: str | None = request.META.get("REMOTE_ADDR")
    return address
