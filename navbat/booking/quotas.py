"""Quotas against hoarding (issue 6 §4): what one patient may hold at once, and how often a booking moves.

The limits are per clinic: a `BookingPolicy` row when the clinic has one, else the defaults below. They bind
every channel alike — online, the call centre and the desk: a registrar cannot book a second free visit of a
specialty for a patient either (that is how tickets were hoarded through friendly staff). Only emergencies
are exempt: a patient in pain is seen whatever else he has booked. The third limit, patients per phone,
lives in the registry (Clinic.max_patients_per_phone, patients.services).

Patients new to the clinic share a phone's quota. Six invented names on one SIM card are six patients to the
registry, and forty SIM cards held 240 free visits at once for a scalper group. So patients the clinic has
never seen (no visit they came to, identity not checked from a document) who share a phone hold the clinic's
limit of free visits per specialty between them when booked online or by the call centre, and enter a day's
release draw once between them (booking.release). Children reached through a parent's phone have no phone of
their own and are not counted. At the desk, where a registrar can check a document (Patient.is_verified), the
limit is per patient again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from enum import StrEnum

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from navbat.booking.models import Appointment, AppointmentMove, BookingPolicy
from navbat.booking.statuses import Channel, Status
from navbat.clinic.models import Clinic, Funding, Service
from navbat.errors import DomainError
from navbat.patients.models import Patient
from navbat.patients.selectors import registry

FREE_BOOKINGS_PER_SPECIALTY = 1
MAX_RESCHEDULES = 2
RELEASE_TIME = time(7, 0)
RELEASE_WINDOW_MINUTES = 10

EXEMPT_CHANNELS = frozenset({Channel.EMERGENCY})
# A booking still ahead: once the patient has come it is a visit and no longer held.
HELD_STATUSES = frozenset({Status.PENDING, Status.BOOKED})


# Channels where patients new to the clinic share their phone's quota (no registrar has seen them).
SHARED_PHONE_CHANNELS = frozenset({Channel.WEB, Channel.PHONE})
# The patient came to a visit: a registrar saw him at the desk.
CAME_STATUSES = frozenset({Status.ARRIVED, Status.CHECKED_IN, Status.FULFILLED})


class QuotaErrorCode(StrEnum):
    FREE_BOOKING_LIMIT = "free_booking_limit"
    PHONE_FREE_BOOKING_LIMIT = "phone_free_booking_limit"
    RESCHEDULE_LIMIT = "reschedule_limit"


@dataclass(frozen=True)
class Limits:
    free_bookings_per_specialty: int = FREE_BOOKINGS_PER_SPECIALTY
    max_reschedules: int = MAX_RESCHEDULES
    release_time: time = RELEASE_TIME
    release_window_minutes: int = RELEASE_WINDOW_MINUTES


def limits_for(clinic: Clinic) -> Limits:
    policy = BookingPolicy.objects.filter(clinic=clinic).first()
    if policy is None:
        return Limits()
    return Limits(
        free_bookings_per_specialty=policy.free_bookings_per_specialty,
        max_reschedules=policy.max_reschedules,
        release_time=policy.release_time,
        release_window_minutes=policy.release_window_minutes,
    )


def check_free_booking_quota(
    *,
    patient: Patient,
    service: Service,
    channel: Channel,
    now: datetime,
    ignore_appointment_id: int | None = None,
) -> None:
    """Refuse a state-funded booking when the patient already holds the clinic's limit of active future
    free bookings in the same specialty (`ignore_appointment_id`: the one being moved). Call it inside the
    booking's transaction (serialised on SQLite)."""
    if service.funding != Funding.STATE or Channel(channel) in EXEMPT_CHANNELS:
        return
    limit = limits_for(service.clinic).free_bookings_per_specialty

    def held_by(patients: Q) -> int:
        held = Appointment.objects.filter(
            patients,
            status__in=HELD_STATUSES,
            starts_at__gt=now,
            service__funding=Funding.STATE,
            service__specialty_id=service.specialty_id,
        )
        if ignore_appointment_id is not None:
            held = held.exclude(pk=ignore_appointment_id)
        return held.count()

    if held_by(Q(patient=patient)) >= limit:
        raise DomainError(
            QuotaErrorCode.FREE_BOOKING_LIMIT,
            _(
                "The patient already has a free visit booked with this kind of dentist. Come to that visit, "
                "or move or cancel it, before booking another."
            ),
            limit=limit,
        )
    if Channel(channel) not in SHARED_PHONE_CHANNELS or not shares_phone_quota(patient):
        return
    if held_by(Q(patient__in=new_patients_on_phone(patient))) >= limit:
        raise DomainError(
            QuotaErrorCode.PHONE_FREE_BOOKING_LIMIT,
            _(
                "Another patient with this phone number already has a free visit booked with this kind of "
                "dentist. Patients who have not yet been to the clinic share one such visit per phone "
                "number. To book more, bring an identity document to the reception desk."
            ),
            limit=limit,
        )


def shares_phone_quota(patient: Patient) -> bool:
    """A patient with a phone of his own whom the clinic has not seen: never came to a visit, no document
    checked."""
    if not patient.phone or patient.is_verified:
        return False
    return not Appointment.objects.filter(patient=patient, status__in=CAME_STATUSES).exists()


def new_patients_on_phone(patient: Patient) -> QuerySet[Patient]:
    """The patients of the registry on `patient`'s phone whom the clinic has not seen, himself included."""
    came = Appointment.objects.filter(patient=OuterRef("pk"), status__in=CAME_STATUSES)
    return registry(patient.clinic).filter(phone=patient.phone, is_verified=False).exclude(Exists(came))


def first_booking(appointment: Appointment) -> Appointment:
    """The appointment a chain of moves began with (itself when it was never moved)."""
    move = AppointmentMove.objects.select_related("original").filter(moved_to=appointment).first()
    return move.original if move is not None else appointment


def moves_so_far(appointment: Appointment) -> int:
    return AppointmentMove.objects.filter(original=first_booking(appointment)).count()


def check_reschedule_quota(*, appointment: Appointment) -> None:
    """Refuse a move when the booking has been moved the clinic's limit of times already."""
    limit = limits_for(appointment.clinic).max_reschedules
    if moves_so_far(appointment) >= limit:
        raise DomainError(
            QuotaErrorCode.RESCHEDULE_LIMIT,
            _(
                "This visit has been moved %(limit)s times already and cannot be moved again. You can "
                "cancel it and book a new one."
            )
            % {"limit": limit},
            limit=limit,
        )


def record_move(*, old: Appointment, new: Appointment) -> AppointmentMove:
    return AppointmentMove.objects.create(original=first_booking(old), moved_to=new)
