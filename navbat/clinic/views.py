"""A dentist's calendar on his phone: the page where he makes or revokes his private feed's address, and the
feed itself, which a calendar program fetches without signing in.

Thin: authorise (accounts.access), call a service (clinic.services), render. The page shows the address
once, right after it is made (it is never stored), and is never cached by the browser.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe

from navbat.accounts.access import AnyUser, can_use_calendar_feed, require, staff_member
from navbat.accounts.audit import Actor
from navbat.accounts.views import _qr_svg as qr_svg
from navbat.booking.calendar import CONTENT_TYPE
from navbat.clinic.models import CalendarFeed, StaffMember
from navbat.clinic.services import calendar_feed_ics, create_calendar_feed, revoke_calendar_feed

TEMPLATE = "clinic/calendar.html"


@login_required
@never_cache
@require_safe
def mine(request: HttpRequest) -> HttpResponse:
    """Whether he has a feed, and the buttons to make a new address or revoke it."""
    member = _feed_owner(request.user)
    return render(request, TEMPLATE, _context(member))


@login_required
@never_cache
@require_POST
def create(request: HttpRequest) -> HttpResponse:
    """Make a new address (the old one stops working) and show it, this once."""
    member = _feed_owner(request.user)
    _feed, token = create_calendar_feed(staff=member, actor=Actor.of(request), language=get_language() or "")
    url = request.build_absolute_uri(reverse("calendar:feed", kwargs={"token": token}))
    webcal = "webcal://" + url.split("://", 1)[1]
    context = _context(member) | {"new_url": url, "webcal_url": webcal, "qr_svg": qr_svg(webcal)}
    return render(request, TEMPLATE, context)


@login_required
@require_POST
def revoke(request: HttpRequest) -> HttpResponse:
    member = _feed_owner(request.user)
    feed = _live_feed(member)
    if feed is not None:
        revoke_calendar_feed(feed=feed, actor=Actor.of(request))
        messages.success(
            request, _("The calendar link no longer works. Calendars that used it stop updating.")
        )
    return redirect("calendar:mine")


@require_safe
def feed(request: HttpRequest, token: str) -> HttpResponse:
    """The feed: no session, the secret address is the key. Unknown or revoked: 404, nothing more said."""
    body = calendar_feed_ics(token=token)
    if body is None:
        raise Http404()
    response = HttpResponse(body, content_type=CONTENT_TYPE)
    response["Cache-Control"] = "private, no-cache"
    response["X-Robots-Tag"] = "noindex"
    response["Referrer-Policy"] = "no-referrer"
    return response


def _feed_owner(user: AnyUser) -> StaffMember:
    require(can_use_calendar_feed(user))
    member = staff_member(user)
    assert member is not None  # can_use_calendar_feed says he is staff
    return member


def _live_feed(member: StaffMember) -> CalendarFeed | None:
    return CalendarFeed.objects.filter(staff=member, revoked_at__isnull=True).first()


def _context(member: StaffMember) -> dict[str, Any]:
    return {"member": member, "clinic": member.clinic, "feed": _live_feed(member)}
