"""Holds: a time kept for one patient for a few minutes while he confirms it online. Each service owns its
transaction.

A hold is busy time for everybody else — in every slot search and at booking time, online, by staff and
through the API (selectors.load_availability counts live holds as busy except the holder's own) — and it
expires by itself: a hold whose `expires_at` has passed is ignored everywhere, and deleted when a new hold is
written over it. One hold per patient: a new one replaces his previous (a family can keep one time per
person, for five minutes: nothing to hoard).

Races: on PostgreSQL two holds of one dentist or chair cannot overlap (EXCLUDE constraints, migration 0003),
so of two patients racing for one time one gets it and the other `slot_taken`; on SQLite the serialised
transaction (BEGIN IMMEDIATE) checks before it writes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from enum import StrEnum

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from navbat.booking import quotas, release
from navbat.booking.errors import BookingErrorCode
from navbat.booking.models import Appointment, SlotHold
from navbat.booking.services import (
    SLOT_TAKEN_MESSAGE,
    _check_booking_input,
    _fitting_slot,
    _violated_constraint,
    book_appointment,
    reschedule_appointment,
)
from navbat.booking.statuses import Channel
from navbat.clinic.models import Service, StaffMember
from navbat.errors import DomainError
from navbat.patients.models import Patient

HOLD_MINUTES = 5
# Names of the PostgreSQL exclusion constraints of migration booking/0003.
HOLD_OVERLAP_CONSTRAINTS = frozenset({"slot_hold_no_dentist_overlap", "slot_hold_no_chair_overlap"})


class HoldErrorCode(StrEnum):
    HOLD_GONE = "hold_gone"


HOLD_GONE_MESSAGE = _("Your hold on this time has ended. Please choose a time again.")


def place_hold(
    *,
    patient: Patient,
    service: Service,
    starts_at: datetime,
    dentist: StaffMember | None = None,
    created_by: User | None = None,
    urgent: bool = False,
    notes: str = "",
    channel: Channel = Channel.WEB,
    ignore_appointment_id: int | None = None,
    now: datetime | None = None,
    reserve_released: bool = False,
) -> SlotHold:
    """Hold `starts_at` for `patient` for HOLD_MINUTES, with `dentist` or the first who fits, and a chair.

    The same checks as booking (the patient's age, the clinic's notice and horizon online, nobody else
    busy); `ignore_appointment_id` is the appointment being moved, whose time is free for this purpose.
    `reserve_released`: the emergency reserve is released to the one held for (a waitlist offer).
    Raises DomainError slot_taken when another booking or live hold has the time.
    """
    now = now or timezone.now()
    _check_booking_input(
        patient=patient, service=service, starts_at=starts_at, now=now, dentist=dentist, chair=None
    )
    # A day being released goes to its draw, not to whoever holds it first (booking.release).
    release.check_not_in_draw(service=service, starts_at=starts_at, channel=channel, now=now)
    # The quotas, now rather than at the confirmation (booking.quotas).
    quotas.check_free_booking_quota(
        patient=patient,
        service=service,
        channel=channel,
        now=now,
        ignore_appointment_id=ignore_appointment_id,
    )
    if ignore_appointment_id is not None:
        moving = Appointment.objects.filter(pk=ignore_appointment_id).first()
        if moving is not None:
            quotas.check_reschedule_quota(appointment=moving)
    with _hold_taken_on_overlap(), transaction.atomic():
        # One patient's holds one after another (two taps, two tabs): his row is the lock on PostgreSQL.
        list(Patient.objects.select_for_update().filter(pk=patient.pk).values_list("pk", flat=True))
        slot = _fitting_slot(
            patient=patient,
            service=service,
            starts_at=starts_at,
            channel=channel,
            dentist=dentist,
            chair=None,
            now=now,
            ignore_appointment_id=ignore_appointment_id,
            reserve_released=reserve_released,
        )
        SlotHold.objects.filter(patient=patient).delete()
        # Expired holds may still be rows: those in this one's way go, or the constraints would refuse it.
        SlotHold.objects.filter(
            Q(dentist_id=slot.dentist_id) | Q(chair_id=slot.chair_id),
            expires_at__lte=now,
            starts_at__lt=slot.end,
            ends_at__gt=slot.start,
        ).delete()
        hold = SlotHold(
            clinic=service.clinic,
            patient=patient,
            service=service,
            dentist_id=slot.dentist_id,
            chair_id=slot.chair_id,
            starts_at=slot.start,
            ends_at=slot.end,
            expires_at=now + timedelta(minutes=HOLD_MINUTES),
            urgent=urgent,
            notes=notes.strip(),
            created_by=created_by,
        )
        hold.full_clean(validate_unique=False, validate_constraints=False)
        hold.save()
    return hold


def release_hold(*, hold: SlotHold) -> None:
    """The patient lets the time go before his hold ends: others see it at once."""
    with transaction.atomic():
        SlotHold.objects.filter(pk=hold.pk).delete()


def book_held(
    *, hold: SlotHold, created_by: User | None = None, note: str = "", now: datetime | None = None
) -> Appointment:
    """Book the held time. An expired hold still books if nobody took the time meanwhile; if somebody did,
    DomainError slot_taken; if the hold is gone (replaced, or cleared for someone else's), hold_gone."""
    with transaction.atomic():
        current = _locked(hold)
        appointment = book_appointment(
            patient=current.patient,
            service=current.service,
            starts_at=current.starts_at,
            channel=Channel.WEB,
            dentist=current.dentist,
            chair=current.chair,
            created_by=created_by,
            notes=_joined(current.notes, note),
            now=now,
        )
        current.delete()
    return appointment


def move_held(
    *,
    hold: SlotHold,
    appointment: Appointment,
    actor: User | None = None,
    reason: str = "",
    now: datetime | None = None,
) -> Appointment:
    """Move `appointment` to the held time (booking.services.reschedule_appointment): the new appointment, or
    DomainError as book_held. The hold must be for the same patient and service."""
    with transaction.atomic():
        current = _locked(hold)
        if (current.patient_id, current.service_id) != (appointment.patient_id, appointment.service_id):
            raise DomainError(HoldErrorCode.HOLD_GONE, HOLD_GONE_MESSAGE)
        moved = reschedule_appointment(
            appointment=appointment,
            starts_at=current.starts_at,
            channel=Channel.WEB,
            dentist=current.dentist,
            chair=current.chair,
            actor=actor,
            reason=reason,
            now=now,
        )
        current.delete()
    return moved


def purge_expired_holds(*, now: datetime | None = None, older_than: timedelta = timedelta(hours=1)) -> int:
    """Delete holds that ended more than `older_than` ago (for a periodic task; they are ignored anyway)."""
    cutoff = (now or timezone.now()) - older_than
    with transaction.atomic():
        deleted, _by_model = SlotHold.objects.filter(expires_at__lt=cutoff).delete()
    return deleted


def _locked(hold: SlotHold) -> SlotHold:
    current = (
        SlotHold.objects.select_for_update(of=("self",))
        .select_related("patient", "service__clinic", "dentist", "chair")
        .filter(pk=hold.pk)
        .first()
    )
    if current is None:
        raise DomainError(HoldErrorCode.HOLD_GONE, HOLD_GONE_MESSAGE)
    return current


def _joined(*parts: str) -> str:
    return "\n".join(part.strip() for part in parts if part.strip())


@contextmanager
def _hold_taken_on_overlap() -> Iterator[None]:
    """PostgreSQL: a concurrent hold won the race and an exclusion constraint refused ours."""
    try:
        yield
    except IntegrityError as error:
        if _violated_constraint(error) in HOLD_OVERLAP_CONSTRAINTS:
            raise DomainError(BookingErrorCode.SLOT_TAKEN, SLOT_TAKEN_MESSAGE) from None
        raise
