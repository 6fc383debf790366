"""The fair release of new days (issue 6 §4): speed and bots gain nothing.

Every day at the clinic's release time (BookingPolicy.release_time, 07:00 local by default) the last day of
the online horizon opens: today + Clinic.horizon_days. Online requests for that day made in the first
minutes (BookingPolicy.release_window_minutes, 10 by default) are not booked first come, first served: they
are entries of the day's draw (`enter_draw`), one per patient. When the window closes a task
(`run_release_draw_task`) draws a random order with a fresh seed, which it records, and books the entrants in
that order, each into the first free time that fits his wishes; until the draw has run nobody can book that
day online (`check_not_in_draw`). Every entrant is told: a winner by the ordinary "booked" message of his
appointment; an entrant left without a time by a message of his own (notify kind "draw_not_won", with the
way to the waiting list) and by his entry's outcome "not_won" on "My appointments". Should the task not have
run a little after the window (a worker down), the first online request for that day runs the draw itself.

Staff channels (the call centre, the desk) are not drawn: they book for callers and visitors as ever, and
the quotas (booking.quotas) bind them as they bind patients.
"""

from __future__ import annotations

import logging
import random
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.formats import date_format, time_format
from django.utils.translation import gettext_lazy as _
from django_tasks import task

from navbat.booking.models import Appointment, DrawOutcome, ReleaseDraw, ReleaseDrawEntry
from navbat.booking.quotas import (
    SHARED_PHONE_CHANNELS,
    check_free_booking_quota,
    limits_for,
    new_patients_on_phone,
    shares_phone_quota,
)
from navbat.booking.selectors import find_free_slots
from navbat.booking.statuses import Channel
from navbat.clinic.models import Clinic, Service, StaffMember
from navbat.errors import DomainError
from navbat.notify import services as notify
from navbat.patients.models import Patient
from navbat.scheduling import Slot

logger = logging.getLogger(__name__)

DRAWN_CHANNELS = frozenset({Channel.WEB})
# How long after its window a draw may wait for the worker before a booking request runs it.
OVERDUE = timedelta(minutes=2)


class ReleaseErrorCode(StrEnum):
    DRAW_OPEN = "release_draw_open"
    DRAW_CLOSED = "release_draw_closed"
    ALREADY_ENTERED = "release_draw_already_entered"
    PHONE_ALREADY_ENTERED = "release_draw_phone_already_entered"


@dataclass(frozen=True)
class Release:
    """Today's opening: `day` opens at `opens_at`; requests for it until `closes_at` are drawn."""

    day: date
    opens_at: datetime
    closes_at: datetime

    def is_open(self, now: datetime) -> bool:
        return self.opens_at <= now < self.closes_at


def release_of(clinic: Clinic, now: datetime) -> Release:
    limits = limits_for(clinic)
    tz = clinic.tz
    today = now.astimezone(tz).date()
    opens_at = datetime.combine(today, limits.release_time, tzinfo=tz)
    return Release(
        day=today + timedelta(days=clinic.horizon_days),
        opens_at=opens_at,
        closes_at=opens_at + timedelta(minutes=limits.release_window_minutes),
    )


def draw_order(entry_ids: Sequence[int], seed: int) -> list[int]:
    """The draw: a uniformly random permutation of the entries (given in the order they were made), decided
    by `seed` alone, so that the recorded seed replays it."""
    order = sorted(entry_ids)
    random.Random(seed).shuffle(order)
    return order


def check_not_in_draw(*, service: Service, starts_at: datetime, channel: Channel, now: datetime) -> None:
    """Hook of book_appointment: an online booking for the day being released, while its window is open or
    its draw has not run yet, is refused with the way to enter the draw."""
    if Channel(channel) not in DRAWN_CHANNELS:
        return
    clinic = service.clinic
    tz = clinic.tz
    if starts_at.astimezone(tz).date() != now.astimezone(tz).date() + timedelta(days=clinic.horizon_days):
        return
    release = release_of(clinic, now)
    pending = ReleaseDraw.objects.filter(clinic=clinic, day=release.day, ran_at__isnull=True).first()
    if pending is not None and now >= pending.closes_at + OVERDUE:
        run_release_draw(draw=pending, now=now)
        pending = None
    if release.is_open(now) or pending is not None:
        raise DomainError(
            ReleaseErrorCode.DRAW_OPEN,
            _(
                "Times on %(day)s have just opened. Everyone who asks for them until %(until)s takes part in "
                "a draw, so being first gains nothing: send your request and you will be told the outcome."
            )
            % {
                "day": date_format(release.day, "SHORT_DATE_FORMAT"),
                "until": time_format(release.closes_at.astimezone(clinic.tz).time(), "TIME_FORMAT"),
            },
            day=release.day.isoformat(),
            closes_at=release.closes_at.isoformat(),
        )


def enter_draw(
    *,
    patient: Patient,
    service: Service,
    wishes: Sequence[time] = (),
    dentist: StaffMember | None = None,
    channel: Channel = Channel.WEB,
    created_by: User | None = None,
    now: datetime | None = None,
) -> ReleaseDrawEntry:
    """Enter `patient` into the draw of the day being released, for `service`, with the local times he would
    take in his order of preference (`wishes`; none: any time that day) and `dentist` if he wants one.

    Raises DomainError release_draw_closed outside the window, release_draw_already_entered for a second
    entry of the same patient (whoever makes it: one entry per patient), release_draw_phone_already_entered
    for a second patient new to the clinic on one phone (booking.quotas), and the quota's error when he
    already holds the free visit the draw would give him."""
    now = now or timezone.now()
    clinic = service.clinic
    release = release_of(clinic, now)
    if not release.is_open(now):
        raise DomainError(
            ReleaseErrorCode.DRAW_CLOSED,
            _("No draw is open now. New days open every day at %(time)s.")
            % {"time": time_format(release.opens_at.astimezone(clinic.tz).time(), "TIME_FORMAT")},
        )
    try:
        with transaction.atomic():
            draw, created = ReleaseDraw.objects.get_or_create(
                clinic=clinic, day=release.day, defaults={"closes_at": release.closes_at}
            )
            if created:
                transaction.on_commit(lambda: _schedule_draw(draw))
            if draw.entries.filter(patient=patient).exists():
                raise _already_entered()
            # He could not be booked: tell him now, not by a lost draw.
            check_free_booking_quota(patient=patient, service=service, channel=channel, now=now)
            if (
                Channel(channel) in SHARED_PHONE_CHANNELS
                and shares_phone_quota(patient)
                and draw.entries.filter(patient__in=new_patients_on_phone(patient)).exists()
            ):
                raise DomainError(
                    ReleaseErrorCode.PHONE_ALREADY_ENTERED,
                    _(
                        "Someone with this phone number is already in today's draw. Patients who have not "
                        "yet been to the clinic take part once per phone number."
                    ),
                )
            return ReleaseDrawEntry.objects.create(
                draw=draw,
                patient=patient,
                service=service,
                dentist=dentist,
                wishes=[wish.strftime("%H:%M") for wish in wishes],
                channel=channel,
                created_by=created_by,
                created_at=now,
            )
    except IntegrityError:
        # A second request of the same patient raced the first one (PostgreSQL's unique constraint).
        raise _already_entered() from None


def _already_entered() -> DomainError:
    return DomainError(
        ReleaseErrorCode.ALREADY_ENTERED,
        _("This patient is already in today's draw. Each patient takes part once."),
    )


def run_release_draw(
    *, draw: ReleaseDraw, now: datetime | None = None, seed: int | None = None
) -> ReleaseDraw:
    """Draw the order of the entries and book them in it, each into the first free time that fits. Runs once:
    a second call (a retried task) changes nothing. `seed`: for replaying a recorded draw in tests; by default
    a fresh random one, recorded with the draw."""
    now = now or timezone.now()
    with transaction.atomic():
        current = ReleaseDraw.objects.select_for_update().select_related("clinic").get(pk=draw.pk)
        if current.ran_at is not None:
            return current
        current.seed = seed if seed is not None else secrets.randbits(62)
        entries = {
            entry.pk: entry
            for entry in current.entries.select_related("patient", "service__clinic", "dentist")
        }
        for position, entry_id in enumerate(draw_order(list(entries), current.seed), start=1):
            entry = entries[entry_id]
            entry.position = position
            entry.appointment = _book_entry(entry, day=current.day, now=now)
            entry.outcome = DrawOutcome.WON if entry.appointment is not None else DrawOutcome.NOT_WON
            entry.save(update_fields=["position", "appointment", "outcome"])
            if entry.outcome == DrawOutcome.NOT_WON:  # a winner hears it by his appointment's "booked"
                notify.record_draw_not_won(
                    patient=entry.patient, clinic=current.clinic, day=current.day, entry_key=entry.pk, now=now
                )
        current.ran_at = now
        current.save(update_fields=["seed", "ran_at"])
    return current


def _book_entry(entry: ReleaseDrawEntry, *, day: date, now: datetime) -> Appointment | None:
    """The first free time of `day` that fits the entry's wishes, in their order; None when none is left or
    the patient may not book it (a quota, his age, a missing identifier)."""
    from navbat.booking.services import book_appointment  # services calls check_not_in_draw

    for slot in _candidates(entry, day=day, now=now):
        try:
            return book_appointment(
                patient=entry.patient,
                service=entry.service,
                starts_at=slot.start,
                channel=Channel(entry.channel),
                dentist=StaffMember.objects.get(pk=slot.dentist_id),
                created_by=entry.created_by,
                now=now,
                release_draw=True,
            )
        except DomainError:
            continue
    return None


def _candidates(entry: ReleaseDrawEntry, *, day: date, now: datetime) -> list[Slot]:
    slots = find_free_slots(
        clinic=entry.service.clinic,
        service=entry.service,
        first_day=day,
        last_day=day,
        now=now,
        dentist=entry.dentist,
        patient_id=entry.patient_id,
        limit=None,
        online=False,  # the day lies at the horizon's end, which opens for the draw
        hide_reserve=True,  # which draws no emergencies
    )
    if not entry.wishes:
        return slots
    tz = entry.service.clinic.tz
    by_time: dict[str, list[Slot]] = {}
    for slot in slots:
        by_time.setdefault(slot.start.astimezone(tz).strftime("%H:%M"), []).append(slot)
    return [slot for wish in entry.wishes for slot in by_time.get(wish, [])]


def family_draw_entries(patients: QuerySet[Patient], *, now: datetime) -> list[ReleaseDrawEntry]:
    """The entries of `patients` in draws of days still ahead, the outcome included: "My appointments"
    shows them, which is how an entrant left without a time learns it."""
    today = now.date() - timedelta(days=1)  # every clinic's today, whatever its zone
    return list(
        ReleaseDrawEntry.objects.filter(patient__in=patients, draw__day__gte=today)
        .select_related("draw", "patient", "service")
        .order_by("draw__day", "pk")
    )


@task()
def run_release_draw_task(draw_id: int) -> int:
    """The worker's side: run the draw once its window has closed. Returns how many entrants got a time."""
    draw = ReleaseDraw.objects.filter(pk=draw_id).first()
    if draw is None:
        return 0
    done = run_release_draw(draw=draw)
    return done.entries.filter(outcome=DrawOutcome.WON).count()


def _schedule_draw(draw: ReleaseDraw) -> None:
    """Never fails the entry just committed: without the task, a booking request runs the draw (OVERDUE)."""
    try:
        run_release_draw_task.using(run_after=draw.closes_at).enqueue(draw.pk)
    except Exception as error:
        logger.warning("could not queue the release draw (%s); a request will run it", type(error).__name__)
