"""No-shows and confirmations (issue 6 §2).

- A booked visit whose patient has not come by its end plus the clinic's grace (clinic.CapacityPolicy,
  default 15 minutes) becomes a no-show automatically (`mark_due_no_shows`): history "automatic", the
  "we missed you" message, and — when the no-show still leaves time today — that time goes to the waitlist.
- Each patient's no-shows are his appointments in status noshow (`recent_no_shows`: the last M months).
- Policy, per clinic: after K no-shows in M months (default 2 in 6) an online booking is made "pending
  confirmation" (status pending) — asked again with a call task for the operators at T−24 h
  (`remind_unconfirmed`), released at T−2 h (`release_unconfirmed`: cancelled, the time to the waitlist) —
  or refused online (`call_centre_only`) with a message that says why, in the patient's language.
- `sweep_capacity` is the worker's task that runs these (and booking.reserve's release) every few minutes.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable
from datetime import datetime, timedelta
from enum import StrEnum

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_tasks import task

from navbat.booking.models import Appointment
from navbat.booking.statuses import Status
from navbat.clinic.models import CapacityPolicy, Clinic, NoShowMode
from navbat.errors import DomainError
from navbat.notify.models import Delivery, Kind
from navbat.patients.models import ContactChannel, Patient

DEFAULT_GRACE = timedelta(minutes=15)
CONFIRM_AGAIN_BEFORE = timedelta(hours=24)
RELEASE_UNCONFIRMED_BEFORE = timedelta(hours=2)
SWEEP_MINUTES = 5
# Visits that ended longer ago than this are left to the staff: a worker that was off for days (or a first
# start on old data) does not turn old bookings into no-shows and "we missed you" messages.
NO_SHOW_LOOKBACK = timedelta(days=1)
AUTOMATIC = "automatic"


class NoShowErrorCode(StrEnum):
    CALL_CENTRE_ONLY = "call_centre_only"


def _policy(clinic: Clinic) -> CapacityPolicy | None:
    return CapacityPolicy.objects.filter(clinic=clinic).first()


# No-show history and policy ---------------------------------------------------------------------------------


def recent_no_shows(*, patient: Patient, months: int, now: datetime) -> int:
    """The patient's no-shows of visits that started in the last `months` months (every clinic)."""
    since = months_before(now, months)
    return Appointment.objects.filter(
        patient=patient, status=Status.NOSHOW, starts_at__gte=since, starts_at__lt=now
    ).count()


def months_before(moment: datetime, months: int) -> datetime:
    """The same day and time `months` months earlier (the month's last day where it is shorter)."""
    index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def check_no_show_policy(*, patient: Patient, clinic: Clinic, now: datetime) -> bool:
    """For an online booking: True when the booking needs the patient's confirmation (he missed K visits in
    M months and the clinic asks for confirmation). Raises DomainError call_centre_only when the clinic lets
    such a patient book only through the call centre."""
    policy = _policy(clinic)
    if policy is None:
        return False
    missed = recent_no_shows(patient=patient, months=policy.no_show_months, now=now)
    if missed < policy.no_show_limit:
        return False
    if policy.no_show_mode == NoShowMode.CALL_CENTRE:
        raise DomainError(
            NoShowErrorCode.CALL_CENTRE_ONLY,
            _(
                "You missed %(count)s booked visits in the last %(months)s months without cancelling, so "
                "this clinic books your visits only by phone. Please call the clinic's call centre."
            )
            % {"count": missed, "months": policy.no_show_months},
            count=missed,
            months=policy.no_show_months,
        )
    return True


# Automatic no-shows ---------------------------------------------------------------------------------------


# Called with each freed time (clinic, dentist, chair, start, end, now) of a no-show that leaves time today.
freed_time_listeners: list[Callable[..., object]] = []


def grace(clinic: Clinic) -> timedelta:
    policy = _policy(clinic)
    return timedelta(minutes=policy.no_show_grace_minutes) if policy is not None else DEFAULT_GRACE


def mark_due_no_shows(*, now: datetime | None = None) -> list[Appointment]:
    """Every booked (or pending) visit not checked in by its end plus its clinic's grace becomes a no-show.
    Visits that ended more than NO_SHOW_LOOKBACK ago are left alone."""
    now = now or timezone.now()
    graces: dict[int, timedelta] = {}
    marked = []
    due = (
        Appointment.objects.filter(
            status__in=[Status.BOOKED, Status.PENDING], ends_at__lte=now, ends_at__gt=now - NO_SHOW_LOOKBACK
        )
        .select_related("clinic")
        .order_by("ends_at", "pk")
    )
    for appointment in due:
        if appointment.clinic_id not in graces:
            graces[appointment.clinic_id] = grace(appointment.clinic)
        if appointment.ends_at + graces[appointment.clinic_id] <= now:
            marked.append(mark_no_show(appointment=appointment, now=now))
    return marked


def mark_no_show(
    *,
    appointment: Appointment,
    actor: User | None = None,
    reason: str = AUTOMATIC,
    now: datetime | None = None,
) -> Appointment:
    """The patient did not come: status noshow, the follow-up message, and the rest of the visit's time (if
    any is left today) offered to the waitlist once committed."""
    from navbat.booking.services import change_status
    from navbat.notify.services import record_no_show_follow_up

    now = now or timezone.now()
    with transaction.atomic():
        missed = change_status(appointment=appointment, to=Status.NOSHOW, actor=actor, reason=reason)
        record_no_show_follow_up(appointment=missed, book_url=reverse("book:start"), now=now)
        left = _time_left_today(missed, now)
        if left is not None:
            transaction.on_commit(lambda: _offer(missed, left, now), robust=True)
    return missed


def _time_left_today(appointment: Appointment, now: datetime) -> tuple[datetime, datetime] | None:
    """What is left of the visit's time that someone could still book: from the first slot step after the
    clinic's notice."""
    clinic = appointment.clinic
    step = timedelta(minutes=clinic.slot_step_minutes)
    earliest = max(appointment.starts_at, now + timedelta(minutes=clinic.min_notice_minutes))
    start = appointment.starts_at + step * -(-(earliest - appointment.starts_at) // step)
    same_day = appointment.ends_at.astimezone(clinic.tz).date() == now.astimezone(clinic.tz).date()
    if start >= appointment.ends_at or not same_day:
        return None
    return start, appointment.ends_at


def _offer(appointment: Appointment, left: tuple[datetime, datetime], now: datetime) -> None:
    from navbat.booking.waitlist import offer_freed_time

    start, end = left
    offer_freed_time(
        clinic=appointment.clinic,
        dentist=appointment.dentist,
        chair=appointment.chair,
        start=start,
        end=end,
        now=now,
    )
    for listener in freed_time_listeners:
        listener(
            clinic=appointment.clinic,
            dentist=appointment.dentist,
            chair=appointment.chair,
            start=start,
            end=end,
            now=now,
        )


# Confirmations of bookings made under the policy ------------------------------------------------------------


def remind_unconfirmed(*, now: datetime | None = None) -> int:
    """At T−24 h an unconfirmed booking gets one more confirmation request and a call task for the
    operators. Recorded once per appointment (the outbox's key). Returns how many were asked again."""
    from navbat.notify.calls import open_call_task
    from navbat.notify.services import record_notification

    now = now or timezone.now()
    asked = 0
    due = Appointment.objects.filter(
        status=Status.PENDING,
        confirmed_at__isnull=True,
        starts_at__lte=now + CONFIRM_AGAIN_BEFORE,
        starts_at__gt=now + RELEASE_UNCONFIRMED_BEFORE,
    ).select_related("clinic", "patient")
    for appointment in due:
        key = f"confirmation_again:{appointment.pk}"
        with transaction.atomic():
            notification = record_notification(
                kind=Kind.CONFIRMATION,
                clinic=appointment.clinic,
                key=key,
                due_at=now,
                appointment=appointment,
            )
            delivery, created = Delivery.objects.get_or_create(
                idempotency_key=f"{key}:call",
                defaults={
                    "notification": notification,
                    "recipient": appointment.patient,
                    "channel": ContactChannel.CALL,
                    "address": str(appointment.patient.phone or ""),
                    "language": appointment.patient.preferred_language,
                    "next_attempt_at": now,
                },
            )
            if created:
                open_call_task(delivery=delivery, now=now)
                asked += 1
    return asked


def release_unconfirmed(*, now: datetime | None = None) -> list[Appointment]:
    """At T−2 h a booking still unconfirmed is cancelled, its time freed (and offered to the waitlist). One
    made within those 2 hours stays: the patient has just chosen it."""
    from navbat.booking.services import cancel_appointment

    now = now or timezone.now()
    released = []
    due = Appointment.objects.filter(
        status=Status.PENDING,
        confirmed_at__isnull=True,
        starts_at__lte=now + RELEASE_UNCONFIRMED_BEFORE,
        starts_at__gt=now,
        created_at__lt=F("starts_at") - RELEASE_UNCONFIRMED_BEFORE,
    ).select_related("clinic")
    for appointment in due:
        released.append(
            cancel_appointment(
                appointment=appointment,
                reason=str(_("Not confirmed in time: released for other patients (automatic)")),
            )
        )
    return released


def book_confirmed(*, now: datetime | None = None) -> int:
    """A pending booking the patient confirmed is booked (and can become a no-show like any other)."""
    from navbat.booking.services import change_status

    confirmed = Appointment.objects.filter(status=Status.PENDING, confirmed_at__isnull=False)
    done = 0
    for appointment in confirmed:
        change_status(appointment=appointment, to=Status.BOOKED, reason=str(_("Confirmed by the patient")))
        done += 1
    return done


def run_capacity_rules(*, now: datetime | None = None) -> None:
    """Everything time-driven of issue 6 §2–3, in order."""
    from navbat.booking.reserve import release_due_reserve
    from navbat.booking.waitlist import expire_due_offers

    now = now or timezone.now()
    expire_due_offers(now=now)  # a safety net: each offer's own expiry task normally ends it
    book_confirmed(now=now)
    release_unconfirmed(now=now)
    remind_unconfirmed(now=now)
    mark_due_no_shows(now=now)
    release_due_reserve(now=now)


@task()
def sweep_capacity() -> None:
    """The worker's round (every SWEEP_MINUTES): the next round is queued first, so a failing one does not
    end the chain."""
    from navbat.accounts.idempotency import forget_old_answers
    from navbat.notify.tasks import forget_old_runs

    schedule_sweep(at=timezone.now() + timedelta(minutes=SWEEP_MINUTES))
    run_capacity_rules()
    # Housekeeping: the chain's own finished runs (one every round), and API answers kept for retries.
    forget_old_runs(task_path=sweep_capacity.module_path)
    forget_old_answers()


def schedule_sweep(*, at: datetime | None = None) -> None:
    """Queue a round at `at` (now by default) unless one is already waiting by then."""
    if not sweep_capacity.get_backend().supports_defer:
        return
    from django_tasks.base import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    at = at or timezone.now()
    waiting = DBTaskResult.objects.filter(
        status=TaskResultStatus.READY, task_path=sweep_capacity.module_path, run_after__lte=at
    )
    if not waiting.exists():
        sweep_capacity.using(run_after=at).enqueue()
