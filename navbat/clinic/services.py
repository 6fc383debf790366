"""Changes to the clinic's set-up beyond the admin's forms: the dentists' private calendar feeds.

A feed is a secret address a dentist (or an assistant) gives the calendar on his phone. Only a SHA-256 hash
of its token is stored (tokens are 256 random bits, as the API's are: a plain hash is enough), so the address
is shown once, when it is made. Making a new one revokes the old; both are in the audit log.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone, translation

from navbat.accounts.access import CLINICAL_ROLES, calendar_appointments
from navbat.accounts.api_auth import token_hash
from navbat.accounts.audit import Actor, record
from navbat.accounts.models import AuditAction
from navbat.booking.calendar import dentist_event, new_calendar
from navbat.booking.models import Appointment
from navbat.booking.statuses import ACTIVE_STATUSES, Status
from navbat.clinic.models import CalendarFeed, StaffMember

# What a feed holds: the last two weeks and the next three months (what a phone's calendar is looked at for).
FEED_PAST = timedelta(days=14)
FEED_FUTURE = timedelta(days=90)
# Visits that will not happen stay in the feed for FEED_PAST after the change, marked cancelled, so that a
# calendar program which merges (rather than replaces) the feed removes them.
GONE_STATUSES = (Status.CANCELLED, Status.ENTERED_IN_ERROR)
# "Last fetched" is written at most this often: calendar programs poll, and a poll needs no write.
LAST_USED_RESOLUTION = timedelta(minutes=1)
# How often calendar programs that honour it should fetch the feed again.
REFRESH_INTERVAL = timedelta(hours=1)
TOKEN_LENGTH = 43  # secrets.token_urlsafe(32)


def create_calendar_feed(*, staff: StaffMember, actor: Actor, language: str) -> tuple[CalendarFeed, str]:
    """A new feed for `staff`, its events in `language`: the record, and the token of its address — shown
    once, never stored. His earlier feed, if any, stops working."""
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        # Two pages making a link at once end with one live feed (the constraint is the last guard).
        StaffMember.objects.select_for_update().filter(pk=staff.pk).first()
        for earlier in CalendarFeed.objects.filter(staff=staff, revoked_at__isnull=True):
            _revoke(earlier, actor)
        feed = CalendarFeed.objects.create(
            staff=staff, token_hash=token_hash(token), language=_site_language(language)
        )
        record(actor, AuditAction.CREATE, object_type="calendar_feed", object_id=feed.pk)
    return feed, token


def revoke_calendar_feed(*, feed: CalendarFeed, actor: Actor) -> CalendarFeed:
    """From now on the feed's address answers 404. Revoking twice keeps the first time and one audit entry."""
    with transaction.atomic():
        _revoke(feed, actor)
    feed.refresh_from_db()
    return feed


def calendar_feed_ics(*, token: str, now: datetime | None = None) -> bytes | None:
    """The calendar at a feed's secret address, or None when no live feed has this token (the caller answers
    404 either way, saying nothing of whether it ever existed). Two queries, and a write once a minute."""
    if len(token) != TOKEN_LENGTH:
        return None
    feed = (
        CalendarFeed.objects.filter(
            token_hash=token_hash(token),
            revoked_at__isnull=True,
            staff__is_active=True,
            staff__user__is_active=True,
            staff__role__in=sorted(CLINICAL_ROLES),
        )
        .select_related("staff__clinic", "staff__user")
        .first()
    )
    if feed is None:
        return None
    now = now or timezone.now()
    if feed.last_used_at is None or feed.last_used_at <= now - LAST_USED_RESOLUTION:
        CalendarFeed.objects.filter(pk=feed.pk).update(last_used_at=now)
    with translation.override(feed.language):
        calendar = new_calendar(f"{feed.staff.display_name} · {feed.staff.clinic.name}")
        calendar.add("x-published-ttl", REFRESH_INTERVAL)
        for appointment in feed_appointments(feed.staff, now=now):
            calendar.add_component(dentist_event(appointment, now=now))
    return bytes(calendar.to_ical())


def feed_appointments(staff: StaffMember, *, now: datetime) -> QuerySet[Appointment]:
    """What a staff member's feed shows: his active appointments from FEED_PAST before `now` to FEED_FUTURE
    after it, and those cancelled (or entered in error) within FEED_PAST."""
    since = now - FEED_PAST
    return (
        calendar_appointments(staff)
        .filter(starts_at__gte=since, starts_at__lt=now + FEED_FUTURE)
        .filter(Q(status__in=ACTIVE_STATUSES) | Q(status__in=GONE_STATUSES, updated_at__gte=since))
        .select_related("clinic", "service", "chair", "patient", "dentist__user")
        .order_by("starts_at", "pk")
    )


def _revoke(feed: CalendarFeed, actor: Actor) -> None:
    revoked = CalendarFeed.objects.filter(pk=feed.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    if revoked:
        record(
            actor, AuditAction.UPDATE, object_type="calendar_feed", object_id=feed.pk, fields=["revoked_at"]
        )


def _site_language(language: str) -> str:
    """One of the site's languages: `language` if it is one (or a variant of one: en-gb), else the default."""
    try:
        return translation.get_supported_language_variant(language)
    except LookupError:
        return str(settings.LANGUAGE_CODE)
