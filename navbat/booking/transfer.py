"""Giving a booking to another patient (issue 6 §4, DESIGN.md invariant 2): a staff action, with a reason,
audited.

A booking belongs to the named patient it was made for; moving it to somebody else is how resold tickets
would change hands, so only the registrars, managers and administrators of the clinic may do it
(accounts.access.can_transfer), and the new patient must pass every rule a fresh booking of that time would:
the registry of the clinic, the age of the service, the national identifier for state-funded care, the free
booking quota, no visit of his own at that time.

The appointment row is not handed over: it is cancelled, and a new one for the new patient takes its very
time, dentist and chair (like a move, booking.services.reschedule_appointment). So each appointment keeps
one patient for its whole life — its history, its messages, a reply to one of them, a privacy export are
all about one person — and the time is never free in between (nothing is offered to the waitlist).
The first patient is told his visit was cancelled (so that a transfer he did not ask for cannot go unnoticed)
and his reminders are dropped; the new patient is told he is booked and gets his own reminders.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from navbat.accounts.access import booking_channel, can_transfer, clinic_of, require
from navbat.accounts.audit import Actor, record
from navbat.accounts.models import AuditAction
from navbat.booking import quotas
from navbat.booking.errors import BookingErrorCode, TransferErrorCode
from navbat.booking.models import Appointment, AppointmentEvent
from navbat.booking.overbooking import ADULT_AGE, OverbookingErrorCode
from navbat.booking.services import (
    REASON_LENGTH,
    RESCHEDULABLE_STATUSES,
    _check_booking_input,
    _slot_taken_on_overlap,
)
from navbat.booking.statuses import Status
from navbat.errors import DomainError
from navbat.notify import services as notify
from navbat.patients.models import Patient

# What can be given away: a booking still waiting for its time (not a visit that has begun or ended).
TRANSFERABLE_STATUSES = RESCHEDULABLE_STATUSES


def transfer_appointment(
    *, appointment: Appointment, to_patient: Patient, actor: Actor, reason: str, now: datetime | None = None
) -> Appointment:
    """Give `appointment` to `to_patient`, in one transaction: the old appointment is cancelled, a new one
    at the same time, dentist and chair is booked for him, both histories name the other appointment and the
    reason, and the audit log has one TRANSFER entry per patient (ids only). Returns the new appointment.

    Raises PermissionDenied for who is not staff allowed to transfer, and DomainError (nothing changed) for
    no reason, an appointment that is not a booking still ahead, another clinic, and any booking rule the
    new patient fails."""
    require(can_transfer(actor.user))
    now = now or timezone.now()
    why = reason.strip()
    if not why:
        raise DomainError(
            TransferErrorCode.REASON_REQUIRED, _("Say why the visit is transferred to another patient.")
        )
    with _slot_taken_on_overlap(), transaction.atomic():
        # On SQLite this transaction began with BEGIN IMMEDIATE: the checks and the writes are serialised.
        current = (
            Appointment.objects.select_for_update(of=("self",))
            .select_related("clinic", "service__clinic", "dentist", "chair__department", "patient")
            .get(pk=appointment.pk)
        )
        _check_transferable(current, to_patient=to_patient, actor=actor, now=now)
        assert actor.user is not None  # can_transfer let nobody else through
        channel = booking_channel(actor.user)
        quotas.check_free_booking_quota(patient=to_patient, service=current.service, channel=channel, now=now)
        _check_patient_free(current, to_patient)
        previous = current.status
        current.status = Status.CANCELLED
        current.save(update_fields=["status", "updated_at"])
        given = Appointment(
            clinic=current.clinic,
            patient=to_patient,
            service=current.service,
            dentist=current.dentist,
            chair=current.chair,
            starts_at=current.starts_at,
            ends_at=current.ends_at,
            status=Status.BOOKED,
            channel=channel,
            created_by=actor.user,
            # The visit's time and place, not the first patient's notes or confirmation.
            overbooked=current.overbooked,
        )
        given.full_clean()
        given.save()
        _history(current, given, previous=previous, actor=actor, reason=why)
        notify.appointment_status_changed(current, previous=previous, now=now)
        notify.appointment_booked(given, now=now)
        _audit(current, given, actor=actor)
    appointment.status = Status.CANCELLED
    return given


def _check_transferable(current: Appointment, *, to_patient: Patient, actor: Actor, now: datetime) -> None:
    """The appointment may be given away at all, and the new patient could book it afresh."""
    if current.status not in TRANSFERABLE_STATUSES:
        raise DomainError(
            BookingErrorCode.INVALID_TRANSITION,
            _("An appointment that is “%(current)s” cannot be transferred to another patient.")
            % {"current": Status(current.status).label},
            current=current.status,
        )
    if current.starts_at <= now:
        raise DomainError(
            BookingErrorCode.IN_THE_PAST,
            _("This visit has already begun or passed: it can no longer be transferred."),
        )
    clinic = clinic_of(actor.user) if actor.user is not None else None
    if clinic is None or clinic.pk != current.clinic_id:
        raise DomainError(
            BookingErrorCode.WRONG_CLINIC,
            _("Only the staff of the appointment's clinic can transfer it to another patient."),
        )
    if to_patient.pk == current.patient_id:
        raise DomainError(TransferErrorCode.SAME_PATIENT, _("The visit already belongs to this patient."))
    if not to_patient.is_active_record:
        raise DomainError(
            TransferErrorCode.PATIENT_INACTIVE,
            _("This patient record is no longer in use (merged or anonymised). Choose the current record."),
        )
    # The registry, the national identifier, the age: what book_appointment checks of a patient.
    _check_booking_input(
        patient=to_patient,
        service=current.service,
        starts_at=current.starts_at,
        now=now,
        dentist=current.dentist,
        chair=current.chair,
    )
    if current.overbooked and to_patient.age_on(current.starts_at.astimezone(current.clinic.tz).date()) < (
        ADULT_AGE
    ):
        raise DomainError(
            OverbookingErrorCode.CHILD,
            _("Children are never overbooked: find the child a free time instead."),
        )


def _check_patient_free(current: Appointment, to_patient: Patient) -> None:
    """Invariant 1 for the new patient (on PostgreSQL the exclusion constraint also guards it)."""
    busy = (
        Appointment.objects.active()
        .filter(patient=to_patient)
        .overlapping(current.starts_at, current.ends_at)
        .exists()
    )
    if busy:
        raise DomainError(
            TransferErrorCode.PATIENT_BUSY,
            _("The new patient already has a visit at this time."),
        )


def _history(current: Appointment, given: Appointment, *, previous: str, actor: Actor, reason: str) -> None:
    AppointmentEvent.objects.create(
        appointment=current,
        actor=actor.user,
        from_status=previous,
        to_status=Status.CANCELLED,
        reason=(
            str(_("Transferred to another patient (appointment #%(id)s)")) % {"id": given.pk} + f": {reason}"
        )[:REASON_LENGTH],
    )
    AppointmentEvent.objects.create(
        appointment=given,
        actor=actor.user,
        from_status="",
        to_status=Status.BOOKED,
        reason=(str(_("Transferred from appointment #%(id)s")) % {"id": current.pk} + f": {reason}")[
            :REASON_LENGTH
        ],
    )


def _audit(current: Appointment, given: Appointment, *, actor: Actor) -> None:
    """One entry per patient, so that each one's log shows it; ids only, never a name or the reason's text
    (it may name people: it stays in the appointments' history)."""
    note = f"appointment {current.pk} → {given.pk}; patient {current.patient_id} → {given.patient_id}"
    for patient_id in (current.patient_id, given.patient_id):
        record(
            actor,
            AuditAction.TRANSFER,
            object_type="appointment",
            object_id=given.pk,
            patient_id=patient_id,
            fields=("patient",),
            note=note,
        )
