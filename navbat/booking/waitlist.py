"""The waitlist (issue 6 §1): patients wait for a time that suits them; every freed time goes to the best one.

`offer_freed_time` is called whenever time frees up (a cancellation or a move — hooked in booking.services —,
a no-show, a released reserve). It records the freed time, picks the best matching waiting patient — higher
urgency first, then who has waited more whole days, then the clinic's priority groups (children, the
elderly, patients with a disability: CapacityPolicy.waitlist_priority_groups), then who came first — and
keeps the time for him with a SlotHold (booking.holds) for `offer_minutes` (15, or 5 when the time is within
3 hours), so nobody else can book it meanwhile. A proposal (an appointment in status "proposed") carries the
offer message with its accept link. Accepting books the held
time (booking.holds.book_held; for a patient who wanted his visit earlier, move_held moves it, releasing the
later time, which is offered on in turn); declining or letting it expire offers the time to the next patient.

Never two live offers for one time: the SlotHold's exclusion constraints on PostgreSQL (the serialised
transaction on SQLite), and a partial unique constraint on live offers. An accepted offer never meets a taken
slot: the hold kept it; accepting after the offer expired is refused (`offer_expired`).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Count, Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from navbat.booking.holds import book_held, move_held, place_hold
from navbat.booking.models import (
    Appointment,
    AppointmentEvent,
    FreedTime,
    OfferStatus,
    SlotHold,
    Urgency,
    WaitlistEntry,
    WaitlistOffer,
    WaitlistStatus,
)
from navbat.booking.services import RESCHEDULABLE_STATUSES, change_status
from navbat.booking.statuses import Channel, Status
from navbat.clinic.models import (
    CapacityPolicy,
    Chair,
    Clinic,
    PriorityGroup,
    ScheduleException,
    ScheduleExceptionKind,
    Service,
    StaffMember,
    WorkingPlan,
)
from navbat.errors import DomainError
from navbat.notify import services as notify
from navbat.patients.models import AlertKind, MedicalAlert, Patient
from navbat.patients.selectors import registry_clinics

OFFER_MINUTES = 15
SHORT_OFFER_MINUTES = 5
SHORT_WITHIN = timedelta(hours=3)
# Priority groups by age on the day of the visit: children below 18, the elderly from 65.
PRIORITY_AGES = {"children_under": 18, "elderly_from": 65}
# Candidates tried for one freed time before giving up (a patient's own clash, his age, a lost race).
OFFER_ATTEMPTS = 5
TOKEN_BYTES = 24


class WaitlistErrorCode(StrEnum):
    BAD_DATES = "waitlist_bad_dates"
    BAD_TIMES = "waitlist_bad_times"
    WRONG_CLINIC = "wrong_clinic"
    NOT_FOR_DENTIST = "not_for_dentist"
    NOT_MOVABLE = "waitlist_not_movable"
    ALREADY_WAITING = "waitlist_already_waiting"
    OFFER_CLOSED = "offer_closed"
    OFFER_EXPIRED = "offer_expired"
    OFFER_INVALID = "offer_invalid"


OFFER_EXPIRED_MESSAGE = _(
    "This offer has expired and the time was offered to the next patient. You are still on the waiting list."
)
OFFER_CLOSED_MESSAGE = _("This offer has already been answered.")
OFFER_INVALID_MESSAGE = _("This link is not valid. Please check that it was copied whole.")


def _setting(name: str, default: object) -> object:
    return getattr(settings, name, default)


def offer_minutes(*, starts_at: datetime, now: datetime) -> int:
    """How long an offer is kept for the patient: shorter when the time is close."""
    within = _setting("NAVBAT_WAITLIST_SHORT_WITHIN", SHORT_WITHIN)
    assert isinstance(within, timedelta)
    if starts_at - now <= within:
        return int(str(_setting("NAVBAT_WAITLIST_SHORT_OFFER_MINUTES", SHORT_OFFER_MINUTES)))
    return int(str(_setting("NAVBAT_WAITLIST_OFFER_MINUTES", OFFER_MINUTES)))


# Joining and leaving ------------------------------------------------------------------------------------


def join_waitlist(
    *,
    patient: Patient,
    service: Service,
    date_from: date,
    date_to: date,
    dentists: Iterable[StaffMember] = (),
    weekdays: Iterable[int] = (),
    time_from: time | None = None,
    time_to: time | None = None,
    urgency: Urgency = Urgency.ROUTINE,
    earlier_than: Appointment | None = None,
    created_by: User | None = None,
    now: datetime | None = None,
) -> WaitlistEntry:
    """Put `patient` on the waitlist for `service` with his wishes (empty dentists, weekdays: any).
    With `earlier_than` (his booked visit) he waits for an earlier time, and accepting one moves the visit."""
    now = now or timezone.now()
    clinic = service.clinic
    dentists = list(dentists)
    if date_to < date_from or date_to < now.astimezone(clinic.tz).date():
        raise DomainError(WaitlistErrorCode.BAD_DATES, _("Please choose dates from today on, in order."))
    if time_from is not None and time_to is not None and time_to <= time_from:
        raise DomainError(WaitlistErrorCode.BAD_TIMES, _("The latest time must be after the earliest."))
    if not registry_clinics(clinic).filter(pk=patient.clinic_id).exists() or any(
        dentist.clinic_id != clinic.pk for dentist in dentists
    ):
        raise DomainError(
            WaitlistErrorCode.WRONG_CLINIC, _("The patient, service and dentists must belong to one clinic.")
        )
    if any(not dentist.specialties.filter(pk=service.specialty_id).exists() for dentist in dentists):
        raise DomainError(
            WaitlistErrorCode.NOT_FOR_DENTIST, _("One of the chosen dentists does not do this service.")
        )
    if earlier_than is not None and (
        earlier_than.patient_id != patient.pk or earlier_than.status not in RESCHEDULABLE_STATUSES
    ):
        raise DomainError(WaitlistErrorCode.NOT_MOVABLE, _("This appointment can no longer be moved."))
    with transaction.atomic():
        list(Patient.objects.select_for_update().filter(pk=patient.pk).values_list("pk", flat=True))
        open_entries = WaitlistEntry.objects.filter(
            patient=patient,
            service=service,
            status__in=[WaitlistStatus.WAITING, WaitlistStatus.OFFERED],
        )
        if open_entries.exists():
            raise DomainError(
                WaitlistErrorCode.ALREADY_WAITING, _("The patient is already on the waiting list for this.")
            )
        entry = WaitlistEntry(
            clinic=clinic,
            patient=patient,
            service=service,
            date_from=date_from,
            date_to=date_to,
            weekdays="".join(str(day) for day in sorted(set(weekdays)) if 1 <= day <= 7),
            time_from=time_from,
            time_to=time_to,
            urgency=urgency,
            earlier_than=earlier_than,
            created_by=created_by,
            created_at=now,
        )
        entry.full_clean(exclude=["dentists"], validate_constraints=False)
        entry.save()
        entry.dentists.set(dentists)
    return entry


def withdraw_from_waitlist(*, entry: WaitlistEntry, now: datetime | None = None) -> WaitlistEntry:
    """The patient no longer waits. A live offer of his is declined (and goes to the next patient)."""
    now = now or timezone.now()
    live = WaitlistOffer.objects.filter(entry=entry, status=OfferStatus.OFFERED).first()
    with transaction.atomic():
        if live is not None:
            decline_offer(offer=live, now=now)
        WaitlistEntry.objects.filter(
            pk=entry.pk, status__in=[WaitlistStatus.WAITING, WaitlistStatus.OFFERED]
        ).update(status=WaitlistStatus.WITHDRAWN)
    entry.refresh_from_db()
    return entry


# Offering freed time ------------------------------------------------------------------------------------


def offer_freed_time(
    *, clinic: Clinic, dentist: StaffMember, chair: Chair, start: datetime, end: datetime, now: datetime
) -> WaitlistOffer | None:
    """Time became free: record it and offer it to the best matching waiting patient. Returns the offer, or
    None when nobody waiting fits (or the time is too close to be booked online)."""
    if start <= now:
        return None
    with transaction.atomic():
        freed = FreedTime.objects.create(
            clinic=clinic, dentist=dentist, chair=chair, starts_at=start, ends_at=end, freed_at=now
        )
        return _offer_next(freed=freed, now=now)


def offer_extra_hours(*, exception: ScheduleException, now: datetime | None = None) -> WaitlistOffer | None:
    """New working time — a dentist's extra hours on a date — is freed time like any other: offered to the
    waitlist, in the chair of the dentist's plan for that date (none: nothing to offer in)."""
    if exception.kind != ScheduleExceptionKind.EXTRA or exception.start is None or exception.end is None:
        return None
    dentist = exception.staff
    plan = (
        WorkingPlan.objects.filter(staff=dentist, valid_from__lte=exception.date, default_chair__isnull=False)
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gte=exception.date))
        .select_related("default_chair")
        .order_by("-valid_from")
        .first()
    )
    if plan is None or plan.default_chair is None:
        return None
    tz = dentist.clinic.tz
    return offer_freed_time(
        clinic=dentist.clinic,
        dentist=dentist,
        chair=plan.default_chair,
        start=datetime.combine(exception.date, exception.start, tzinfo=tz),
        end=datetime.combine(exception.date, exception.end, tzinfo=tz),
        now=now or timezone.now(),
    )


def _offer_next(*, freed: FreedTime, now: datetime) -> WaitlistOffer | None:
    minutes = offer_minutes(starts_at=freed.starts_at, now=now)
    # Accepting goes online: the clinic's notice must still hold when the offer ends.
    notice = timedelta(minutes=freed.clinic.min_notice_minutes + minutes)
    if freed.starts_at - now < notice:
        return None
    for entry in _candidates(freed, now)[:OFFER_ATTEMPTS]:
        try:
            with transaction.atomic():
                return _make_offer(entry=entry, freed=freed, minutes=minutes, now=now)
        except (DomainError, _Skipped, IntegrityError):
            continue
    return None


class _Skipped(Exception):
    """The entry was taken by a concurrent offer."""


def _candidates(freed: FreedTime, now: datetime) -> list[WaitlistEntry]:
    clinic = freed.clinic
    tz = clinic.tz
    local_start = freed.starts_at.astimezone(tz)
    local_end = freed.ends_at.astimezone(tz)
    day = local_start.date()
    specialties = freed.dentist.specialties.values_list("pk", flat=True)
    offered_here = WaitlistOffer.objects.filter(dentist=freed.dentist, starts_at=freed.starts_at)
    live_holds = SlotHold.objects.filter(expires_at__gt=now).values_list("patient_id", flat=True)
    entries = (
        WaitlistEntry.objects.filter(
            clinic=clinic,
            status=WaitlistStatus.WAITING,
            service__specialty_id__in=specialties,
            date_from__lte=day,
            date_to__gte=day,
        )
        .filter(Q(dentists__isnull=True) | Q(dentists=freed.dentist))
        .exclude(pk__in=offered_here.values("entry_id"))
        .exclude(patient_id__in=live_holds)
        .select_related("patient", "service__clinic", "earlier_than")
        .distinct()
    )
    fitting = [entry for entry in entries if _fits(entry, local_start, local_end)]
    groups = priority_groups(clinic)
    disabled = set(
        MedicalAlert.objects.filter(
            patient_id__in=[entry.patient_id for entry in fitting], kind=AlertKind.DISABILITY
        ).values_list("patient_id", flat=True)
    )
    return sorted(fitting, key=lambda entry: _rank(entry, now, day, groups, disabled))


def _fits(entry: WaitlistEntry, local_start: datetime, local_end: datetime) -> bool:
    service_end = local_start + timedelta(minutes=entry.service.duration_minutes)
    if service_end > local_end:
        return False
    if entry.weekdays and str(local_start.isoweekday()) not in entry.weekdays:
        return False
    if entry.time_from is not None and local_start.time() < entry.time_from:
        return False
    if entry.time_to is not None and service_end.time() > entry.time_to:
        return False
    later = entry.earlier_than
    # Earlier than his booked visit, and only while that visit can still be moved.
    return later is None or (later.status in RESCHEDULABLE_STATUSES and local_start < later.starts_at)


def _rank(
    entry: WaitlistEntry, now: datetime, day: date, groups: frozenset[str], disabled: set[int]
) -> tuple[int, int, int, datetime, int]:
    waited_days = (now - entry.created_at).days
    prior = in_priority_group(entry.patient, day, groups=groups, disabled=entry.patient_id in disabled)
    return (-entry.urgency, -waited_days, 0 if prior else 1, entry.created_at, entry.pk)


def priority_groups(clinic: Clinic) -> frozenset[str]:
    """The clinic's priority groups (its capacity policy's); all of them without a policy."""
    policy = CapacityPolicy.objects.filter(clinic=clinic).first()
    if policy is None:
        return frozenset(PriorityGroup.values)
    return policy.priority_groups()


def in_priority_group(patient: Patient, day: date, *, groups: frozenset[str], disabled: bool = False) -> bool:
    """Children and the elderly by their age on the visit's day (NAVBAT_WAITLIST_PRIORITY_AGES), patients
    with a disability by their registry alert: each counts where the clinic has the group. They go first
    among equally urgent, equally long waiting patients."""
    ages = _setting("NAVBAT_WAITLIST_PRIORITY_AGES", PRIORITY_AGES)
    assert isinstance(ages, dict)
    age = patient.age_on(day)
    return (
        (PriorityGroup.CHILDREN in groups and age < int(ages["children_under"]))
        or (PriorityGroup.ELDERLY in groups and age >= int(ages["elderly_from"]))
        or (PriorityGroup.DISABLED in groups and disabled)
    )


def _make_offer(*, entry: WaitlistEntry, freed: FreedTime, minutes: int, now: datetime) -> WaitlistOffer:
    # The entry's row is the lock: of two offers racing for one patient the second sees him offered already.
    locked = WaitlistEntry.objects.select_for_update().filter(pk=entry.pk, status=WaitlistStatus.WAITING)
    if not list(locked.values_list("pk", flat=True)):
        raise _Skipped
    hold = place_hold(
        patient=entry.patient,
        service=entry.service,
        starts_at=freed.starts_at,
        dentist=freed.dentist,
        ignore_appointment_id=entry.earlier_than_id,
        now=now,
        reserve_released=True,  # freed time, the reserve's included, goes to the waitlist first
    )
    expires_at = now + timedelta(minutes=minutes)
    SlotHold.objects.filter(pk=hold.pk).update(expires_at=expires_at)
    proposal = Appointment.objects.create(
        clinic=freed.clinic,
        patient=entry.patient,
        service=entry.service,
        dentist_id=hold.dentist_id,
        chair_id=hold.chair_id,
        starts_at=hold.starts_at,
        ends_at=hold.ends_at,
        status=Status.PROPOSED,
        channel=Channel.WEB,
    )
    AppointmentEvent.objects.create(
        appointment=proposal,
        from_status="",
        to_status=Status.PROPOSED,
        reason=str(_("Offered from the waitlist")),
    )
    offer = WaitlistOffer.objects.create(
        entry=entry,
        freed=freed,
        dentist_id=hold.dentist_id,
        chair_id=hold.chair_id,
        starts_at=hold.starts_at,
        ends_at=hold.ends_at,
        hold=hold,
        appointment=proposal,
        expires_at=expires_at,
        token=secrets.token_urlsafe(TOKEN_BYTES),
        created_at=now,
    )
    WaitlistEntry.objects.filter(pk=entry.pk).update(status=WaitlistStatus.OFFERED)
    notify.record_waitlist_offer(
        appointment=proposal, offer_url=offer_path(offer), key=str(offer.pk), now=now
    )
    transaction.on_commit(lambda: schedule_expiry(offer), robust=True)
    return offer


def offer_path(offer: WaitlistOffer) -> str:
    return reverse("waitlist:offer", kwargs={"token": offer.token})


def schedule_expiry(offer: WaitlistOffer) -> None:
    """Have the worker expire the offer when it ends (and offer the time on). Only a queue that runs tasks
    later can; otherwise expiry is noticed when somebody answers (expire_due_offers)."""
    from navbat.booking.tasks import expire_offer

    if expire_offer.get_backend().supports_defer:
        expire_offer.using(run_after=offer.expires_at).enqueue(offer.pk)


# Answering --------------------------------------------------------------------------------------------------


def offer_from_token(token: str) -> WaitlistOffer:
    offer = (
        WaitlistOffer.objects.select_related(
            "entry__patient", "entry__service__clinic", "entry__earlier_than", "dentist__user", "chair"
        )
        .filter(token=token)
        .first()
        if 0 < len(token) <= 64
        else None
    )
    if offer is None:
        raise DomainError(WaitlistErrorCode.OFFER_INVALID, OFFER_INVALID_MESSAGE)
    return offer


def accept_offer(
    *, offer: WaitlistOffer, actor: User | None = None, now: datetime | None = None
) -> Appointment:
    """Book the offered time (moving his visit when he wanted it earlier). DomainError offer_expired after
    the offer ended (the time goes to the next patient), offer_closed when it was answered already."""
    now = now or timezone.now()
    if offer.status == OfferStatus.OFFERED and now >= offer.expires_at:
        expire_offer_now(offer=offer, now=now)
        raise DomainError(WaitlistErrorCode.OFFER_EXPIRED, OFFER_EXPIRED_MESSAGE)
    with transaction.atomic():
        current = _locked_live(offer, now)
        entry = current.entry
        hold = SlotHold.objects.filter(pk=current.hold_id).first() if current.hold_id else None
        if hold is None:  # replaced by a hold he placed himself since
            raise DomainError(WaitlistErrorCode.OFFER_EXPIRED, OFFER_EXPIRED_MESSAGE)
        later = entry.earlier_than
        if later is not None and later.status in RESCHEDULABLE_STATUSES:
            booked = move_held(
                hold=hold,
                appointment=later,
                actor=actor,
                reason=str(_("Earlier time from the waitlist")),
                now=now,
            )
        else:
            booked = book_held(hold=hold, created_by=actor, now=now)
        change_status(
            appointment=current.appointment,
            to=Status.CANCELLED,
            actor=actor,
            reason=(str(_("Accepted: appointment #%(id)s")) % {"id": booked.pk})[:300],
        )
        current.status = OfferStatus.ACCEPTED
        current.booked = booked
        current.answered_at = now
        current.save(update_fields=["status", "booked", "answered_at"])
        WaitlistEntry.objects.filter(pk=entry.pk).update(status=WaitlistStatus.BOOKED)
    return booked


def decline_offer(*, offer: WaitlistOffer, now: datetime | None = None) -> WaitlistOffer | None:
    """The patient does not want this time (he stays on the waitlist): the next matching patient is offered
    it. Returns that next offer, if any."""
    now = now or timezone.now()
    with transaction.atomic():
        current = _locked_live(offer, now, allow_expired=True)
        _close(current, OfferStatus.DECLINED, now)
        return _offer_next(freed=current.freed, now=now)


def expire_offer_now(*, offer: WaitlistOffer, now: datetime | None = None) -> WaitlistOffer | None:
    """An unanswered offer has ended: the time goes to the next matching patient. Nothing if answered."""
    now = now or timezone.now()
    with transaction.atomic():
        current = (
            WaitlistOffer.objects.select_for_update(of=("self",))
            .select_related("freed__clinic", "freed__dentist", "appointment")
            .filter(pk=offer.pk, status=OfferStatus.OFFERED, expires_at__lte=now)
            .first()
        )
        if current is None:
            return None
        _close(current, OfferStatus.EXPIRED, now)
        return _offer_next(freed=current.freed, now=now)


def expire_due_offers(*, now: datetime | None = None) -> int:
    """Expire every ended offer (for a periodic task, and a safety net for a lost scheduled one)."""
    now = now or timezone.now()
    due = WaitlistOffer.objects.filter(status=OfferStatus.OFFERED, expires_at__lte=now).order_by("expires_at")
    expired = 0
    for offer in due:
        expire_offer_now(offer=offer, now=now)
        expired += 1
    return expired


def _locked_live(offer: WaitlistOffer, now: datetime, *, allow_expired: bool = False) -> WaitlistOffer:
    current = (
        WaitlistOffer.objects.select_for_update(of=("self",))
        .select_related("entry__earlier_than", "freed__clinic", "freed__dentist", "appointment")
        .get(pk=offer.pk)
    )
    check_live(current, now, allow_expired=allow_expired)
    return current


def check_live(offer: WaitlistOffer, now: datetime, *, allow_expired: bool = False) -> None:
    """Raise offer_closed for an answered offer, offer_expired for one that has ended (unless
    `allow_expired`, for the expiry itself)."""
    if offer.status in (OfferStatus.ACCEPTED, OfferStatus.DECLINED):
        raise DomainError(WaitlistErrorCode.OFFER_CLOSED, OFFER_CLOSED_MESSAGE)
    if offer.status != OfferStatus.OFFERED or (not allow_expired and now >= offer.expires_at):
        raise DomainError(WaitlistErrorCode.OFFER_EXPIRED, OFFER_EXPIRED_MESSAGE)


def _close(offer: WaitlistOffer, status: OfferStatus, now: datetime) -> None:
    if offer.hold_id is not None:
        SlotHold.objects.filter(pk=offer.hold_id).delete()
    offer.status = status
    offer.answered_at = now
    offer.hold = None
    offer.save(update_fields=["status", "answered_at", "hold"])
    reason = _("Offer declined") if status == OfferStatus.DECLINED else _("Offer expired")
    change_status(appointment=offer.appointment, to=Status.CANCELLED, reason=str(reason))
    # He still waits (for another time); this time is not offered to him again.
    WaitlistEntry.objects.filter(pk=offer.entry_id, status=WaitlistStatus.OFFERED).update(
        status=WaitlistStatus.WAITING
    )


# Reads ---------------------------------------------------------------------------------------------------


def offers_in_flight(*, clinic: Clinic) -> QuerySet[WaitlistOffer]:
    """Live offers of the clinic, the soonest to end first (the operators' list)."""
    return (
        WaitlistOffer.objects.filter(entry__clinic=clinic, status=OfferStatus.OFFERED)
        .select_related("entry__patient", "entry__service", "dentist__user", "chair")
        .order_by("expires_at", "pk")
    )


def waiting_entries(*, clinic: Clinic) -> QuerySet[WaitlistEntry]:
    return (
        WaitlistEntry.objects.filter(
            clinic=clinic, status__in=[WaitlistStatus.WAITING, WaitlistStatus.OFFERED]
        )
        .select_related("patient", "service")
        .order_by("-urgency", "created_at", "pk")
    )


@dataclass(frozen=True)
class RefillStats:
    freed: int  # times that became free (at least `min_lead` ahead)
    offered: int  # of those, offered to somebody
    refilled: int  # of those, booked by a waiting patient

    @property
    def share(self) -> float:
        return self.refilled / self.freed if self.freed else 0.0


def refill_stats(
    *, clinic: Clinic, since: datetime, until: datetime, min_lead: timedelta = timedelta(0)
) -> RefillStats:
    """Freed times (freed in [since, until), at least `min_lead` before they start) and how many the
    waitlist refilled."""
    freed = [
        row
        for row in FreedTime.objects.filter(clinic=clinic, freed_at__gte=since, freed_at__lt=until).annotate(
            n_offers=Count("offers"),
            n_accepted=Count("offers", filter=Q(offers__status=OfferStatus.ACCEPTED)),
        )
        if row.starts_at - row.freed_at >= min_lead
    ]
    return RefillStats(
        freed=len(freed),
        offered=sum(1 for row in freed if row.n_offers),
        refilled=sum(1 for row in freed if row.n_accepted),
    )
