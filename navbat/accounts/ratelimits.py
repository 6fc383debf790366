"""Rate limits in Django's cache (issue 6 §4): how often one phone, one address or one staff account may do
something in a fixed window.

The counters live in the default cache: Redis when REDIS_URL is set (shared by every web process, atomic
increments), else local memory (each process counts for itself: see settings.CACHES). Keys hold only a keyed
hash of the phone or address, never the value. Counted here: the one-time codes of accounts.otp, with their
own limits and refusal (per hour and per day, NAVBAT_OTP_LIMITS), and the searches for free times
(NAVBAT_SEARCH_LIMITS): 20 per 15 minutes per address and per phone for patients, 600 per 15 minutes per
account for staff — a call-centre operator searches all day, and a whole call centre shares one address, so
staff are counted by account and not by address.

A refusal is DomainError rate_limited with `retry_after` (seconds): pages answer 429 with Retry-After, the
API the same with its one error shape.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import ngettext

from navbat.accounts.access import Role, own_patient, role_of
from navbat.accounts.middleware import client_ip
from navbat.errors import DomainError

SEARCH_LIMITS: Mapping[str, int] = {"period_seconds": 15 * 60, "ip": 20, "phone": 20, "staff": 600}
STAFF_ROLES = frozenset(
    {Role.OPERATOR, Role.REGISTRAR, Role.DENTIST, Role.ASSISTANT, Role.MANAGER, Role.ADMINISTRATOR}
)


class RateLimitCode(StrEnum):
    RATE_LIMITED = "rate_limited"


@dataclass(frozen=True)
class Limit:
    scope: str  # what is counted: "ip", "phone", "account"
    subject: str  # whose: hashed before it reaches the cache
    period: int  # seconds
    most: int


def take(
    *,
    action: str,
    limits: Sequence[Limit],
    now: datetime | None = None,
    refusal: Callable[[int], DomainError] | None = None,
) -> None:
    """Count one `action` against every limit; when one is over, take the count back and refuse.

    Fixed windows on the clock: one atomic increment per counter, no read-modify-write race. Raises
    `refusal(retry_after)`, by default DomainError rate_limited with `retry_after`: when the last exceeded
    window ends, in seconds."""
    stamp = (now or timezone.now()).timestamp()
    counted: list[str] = []
    waits: list[int] = []
    for limit in limits:
        window = int(stamp // limit.period)
        key = f"limit:{action}:{limit.scope}:{limit.period}:{pseudonym(limit.subject)}:{window}"
        cache.add(key, 0, timeout=limit.period)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=limit.period)
            count = 1
        counted.append(key)
        if count > limit.most:
            waits.append(math.ceil((window + 1) * limit.period - stamp))
    if not waits:
        return
    for key in counted:
        with contextlib.suppress(ValueError):  # gone already: nothing to take back
            cache.decr(key)
    retry_after = max(1, *waits)
    raise (refusal or too_many_requests_error)(retry_after)


def too_many_requests_error(retry_after: int) -> DomainError:
    minutes = math.ceil(retry_after / 60)
    return DomainError(
        RateLimitCode.RATE_LIMITED,
        ngettext(
            "Too many requests. Please try again in %(minutes)d minute.",
            "Too many requests. Please try again in %(minutes)d minutes.",
            minutes,
        )
        % {"minutes": minutes},
        retry_after=retry_after,
    )


def pseudonym(subject: str) -> str:
    """Phones and addresses are personal data: the cache sees only a keyed hash of them."""
    return salted_hmac("navbat.accounts.ratelimits", subject, algorithm="sha256").hexdigest()[:32]


def search_limits(request: HttpRequest) -> list[Limit]:
    """The limits of one search for free times by whoever sent `request`."""
    configured = {**SEARCH_LIMITS, **getattr(settings, "NAVBAT_SEARCH_LIMITS", {})}
    period = configured["period_seconds"]
    user = request.user
    if user.is_authenticated and role_of(user) in STAFF_ROLES:
        return [Limit("account", str(user.pk), period, configured["staff"])]
    limits = []
    ip = client_ip(request)
    if ip:
        limits.append(Limit("ip", ip, period, configured["ip"]))
    patient = own_patient(user) if user.is_authenticated else None
    if patient is not None and patient.phone:
        limits.append(Limit("phone", str(patient.phone), period, configured["phone"]))
    elif user.is_authenticated:
        limits.append(Limit("account", str(user.pk), period, configured["phone"]))
    return limits


def take_search(request: HttpRequest, *, now: datetime | None = None) -> None:
    """Count a search for free times; raises DomainError rate_limited when one of its limits is over."""
    take(action="search", limits=search_limits(request), now=now)


def too_many_requests(request: HttpRequest, error: DomainError, *, template: str) -> HttpResponse:
    """A page's answer to a rate-limit refusal: `template` with the message, 429, Retry-After."""
    response = render(request, template, {"message": error.message}, status=429)
    response["Retry-After"] = str(error.details["retry_after"])
    return response
