"""Every change to an appointment: booking, status transitions, cancelling. Each owns its transaction."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from django.contrib.auth.models import User
from django.db import IntegrityError, OperationalError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from navbat.accounts.audit import Actor
from navbat.accounts.models import AuditAction, AuditEntry
from navbat.booking import noshows, quotas, release
from navbat.booking.boards import first_free_slots, local_day, spread_options
from navbat.booking.errors import BookingErrorCode
from navbat.booking.models import Appointment, AppointmentEvent
from navbat.booking.reserve import RESERVE_HIDDEN_CHANNELS, DepartmentReserve, is_urgent
from navbat.booking.selectors import load_availability, slot_request, visibly_taken
from navbat.booking.statuses import ACTIVE_STATUSES, Channel, Status, can_transition
from navbat.clinic.models import Chair, Funding, Service, StaffMember
from navbat.errors import DomainError
from navbat.notify import services as notify
from navbat.patients.arrival import IdentityCheck, check_identity_at_arrival
from navbat.patients.models import Patient
from navbat.patients.selectors import registry_clinics
from navbat.scheduling import Slot, check_slot

# Channels where the patient books for himself and the clinic's notice and horizon apply.
ONLINE_CHANNELS = frozenset({Channel.WEB})

# Names of the PostgreSQL exclusion constraints of migration booking/0002.
OVERLAP_CONSTRAINTS = frozenset(
    {"appointment_no_dentist_overlap", "appointment_no_chair_overlap", "appointment_no_patient_overlap"}
)

# PostgreSQL's SQLSTATE for "deadlock_detected" (psycopg raises errors.DeadlockDetected with it).
DEADLOCK_DETECTED = "40P01"

SLOT_TAKEN_MESSAGE = _("This time has just been taken. Please choose another time.")


LOADED_RELATIONS = ("clinic", "patient", "service", "dentist", "chair", "created_by")


def book_appointment(
    *,
    patient: Patient,
    service: Service,
    starts_at: datetime,
    channel: Channel,
    dentist: StaffMember | None = None,
    chair: Chair | None = None,
    created_by: User | None = None,
    notes: str = "",
    now: datetime | None = None,
    notify_patient: bool = True,
    release_draw: bool = False,
) -> Appointment:
    """Book `service` for `patient` at `starts_at` with the dentist and chair given, or the first that fit.
    The "booked" message, the reminders and the confirmation request are recorded in the same transaction
    (`notify_patient=False`: the caller records its own, as moving does). `release_draw`: booked by the draw
    of a newly opened day (booking.release), which that day's online horizon and notice do not stop.

    Raises DomainError: slot_taken when someone else holds the time, slot_unavailable when nobody works then.
    Online, a patient over the clinic's no-show limit (booking.noshows) is booked "pending confirmation", or
    refused with call_centre_only.
    """
    now = now or timezone.now()
    _check_booking_input(
        patient=patient, service=service, starts_at=starts_at, now=now, dentist=dentist, chair=chair
    )
    if not release_draw:
        release.check_not_in_draw(service=service, starts_at=starts_at, channel=channel, now=now)
    with _slot_taken_on_overlap(), transaction.atomic():
        # On SQLite this transaction began with BEGIN IMMEDIATE: check and insert are serialised.
        quotas.check_free_booking_quota(patient=patient, service=service, channel=channel, now=now)
        # A patient over the clinic's no-show limit books online only to confirm, or not at all (noshows).
        unconfirmed = channel in ONLINE_CHANNELS and noshows.check_no_show_policy(
            patient=patient, clinic=service.clinic, now=now
        )
        status = Status.PENDING if unconfirmed else Status.BOOKED
        slot = _fitting_slot(
            patient=patient,
            service=service,
            starts_at=starts_at,
            channel=channel,
            dentist=dentist,
            chair=chair,
            now=now,
            online_rules=not release_draw,
        )
        appointment = Appointment(
            clinic=service.clinic,
            patient=patient,
            service=service,
            dentist_id=slot.dentist_id,
            chair_id=slot.chair_id,
            starts_at=slot.start,
            ends_at=slot.end,
            status=status,
            channel=channel,
            created_by=created_by,
            notes=notes,
        )
        # The related rows were all read in this transaction (and the database keeps its foreign keys):
        # asking for each of them again would be six more queries on every booking.
        appointment.full_clean(exclude=LOADED_RELATIONS)
        appointment.save()
        AppointmentEvent.objects.create(
            appointment=appointment,
            actor=created_by,
            from_status="",
            to_status=status,
            reason=str(Channel(channel).label),
        )
        if notify_patient:
            notify.appointment_booked(appointment, now=now)
    return appointment


def change_status(
    *, appointment: Appointment, to: Status, actor: User | None = None, reason: str = ""
) -> Appointment:
    """Move an appointment to `to` if the transition table allows it, and record who did it and why."""
    with _slot_taken_on_overlap(), transaction.atomic():
        current = (
            Appointment.objects.select_for_update().select_related("service__clinic").get(pk=appointment.pk)
        )
        if not can_transition(current.status, to):
            raise DomainError(
                BookingErrorCode.INVALID_TRANSITION,
                _("An appointment that is “%(current)s” cannot become “%(target)s”.")
                % {"current": Status(current.status).label, "target": Status(to).label},
                current=current.status,
                target=str(to),
            )
        if Status(to) in ACTIVE_STATUSES and current.status not in ACTIVE_STATUSES:
            # A proposal or a waitlist entry takes its time only if nobody took it meanwhile.
            _fitting_slot(
                patient=current.patient,
                service=current.service,
                starts_at=current.starts_at,
                channel=Channel(current.channel),
                dentist=current.dentist,
                chair=current.chair,
                now=timezone.now(),
                ignore_appointment_id=current.pk,
            )
        AppointmentEvent.objects.create(
            appointment=current, actor=actor, from_status=current.status, to_status=to, reason=reason
        )
        previous = current.status
        current.status = to
        current.save(update_fields=["status", "updated_at"])
        notify.appointment_status_changed(current, previous=previous)
    appointment.status = current.status
    return current


def cancel_appointment(
    *, appointment: Appointment, actor: User | None = None, reason: str = ""
) -> Appointment:
    """Cancel: the time is free again at once for the next person (and offered to the waitlist)."""
    was_active = appointment.status in ACTIVE_STATUSES
    cancelled = change_status(appointment=appointment, to=Status.CANCELLED, actor=actor, reason=reason)
    if was_active:
        offer_freed_time_on_commit(cancelled)
    return cancelled


def _check_booking_input(
    *,
    patient: Patient,
    service: Service,
    starts_at: datetime,
    now: datetime,
    dentist: StaffMember | None,
    chair: Chair | None,
) -> None:
    if timezone.is_naive(starts_at):
        raise DomainError(BookingErrorCode.NAIVE_DATETIME, _("The time must include a time zone."))
    if starts_at < now - timedelta(minutes=1):
        raise DomainError(BookingErrorCode.IN_THE_PAST, _("This time has already passed."))
    clinic = service.clinic
    same_clinic = [
        dentist.clinic_id if dentist else clinic.pk,
        chair.department.clinic_id if chair else clinic.pk,
    ]
    shares_patients = registry_clinics(clinic).filter(pk=patient.clinic_id).exists()
    if any(other != clinic.pk for other in same_clinic) or not shares_patients:
        raise DomainError(
            BookingErrorCode.WRONG_CLINIC,
            _("The patient, service, dentist and chair must belong to one clinic."),
        )
    if (
        service.funding == Funding.STATE
        and clinic.requires_national_id
        and not patient.identifiers.filter(country=clinic.country).exists()
    ):
        raise DomainError(
            BookingErrorCode.NATIONAL_ID_REQUIRED,
            _("State-funded care needs the patient's national identifier in the registry."),
        )
    age = patient.age_on(starts_at.astimezone(service.clinic.tz).date())
    if not service.accepts_age(age):
        raise DomainError(
            BookingErrorCode.SERVICE_NOT_FOR_AGE,
            _("This service is not offered at the patient's age."),
            min_age=service.min_age,
            max_age=service.max_age,
        )


def _fitting_slot(
    *,
    patient: Patient,
    service: Service,
    starts_at: datetime,
    channel: Channel,
    dentist: StaffMember | None,
    chair: Chair | None,
    now: datetime,
    ignore_appointment_id: int | None = None,
    online_rules: bool = True,
    reserve_released: bool = False,
) -> Slot:
    clinic = service.clinic
    ends_at = starts_at + timedelta(minutes=service.duration_minutes)
    if visibly_taken(
        start=starts_at,
        end=ends_at,
        patient_id=patient.pk,
        dentist_id=dentist.pk if dentist else None,
        chair_id=chair.pk if chair else None,
        now=now,
        ignore_appointment_id=ignore_appointment_id,
    ):
        # Somebody holds that very time (or the patient has a visit then): refused at once, as the full check
        # below would refuse it, without loading the day's availability.
        raise DomainError(BookingErrorCode.SLOT_TAKEN, SLOT_TAKEN_MESSAGE)
    local_start = starts_at.astimezone(clinic.tz)
    day = local_start.date()
    last_day = ends_at.astimezone(clinic.tz).date()
    availability = load_availability(
        clinic=clinic,
        first_day=day,
        last_day=last_day,
        specialty_id=service.specialty_id,
        dentist_ids=[dentist.pk] if dentist else None,
        chair_ids=[chair.pk] if chair else None,
        patient_id=patient.pk,
        ignore_appointment_id=ignore_appointment_id,
        # Another patient's live hold (booking.holds) is busy, for staff and the API too; the holder's own
        # is not.
        hold_patient_id=patient.pk,
        now=now,
        # The emergency reserve not open yet is not for ordinary bookings online or by the call centre
        # (booking.reserve).
        hide_reserve=(
            not reserve_released and Channel(channel) in RESERVE_HIDDEN_CHANNELS and not is_urgent(service)
        ),
    )
    request = slot_request(
        clinic=clinic,
        service=service,
        now=now,
        online=online_rules and channel in ONLINE_CHANNELS,
        dentist_ids=frozenset({dentist.pk}) if dentist else None,
        patient_busy=availability.patient_busy,
    )
    slot = check_slot(request, starts_at, availability.dentists(), availability.chairs())
    if slot is not None:
        return slot
    # Tell "someone holds it" from "nobody works then": the same check with nobody busy.
    idle = check_slot(
        replace(request, patient_busy=()),
        starts_at,
        availability.dentists(with_busy=False),
        availability.chairs(with_busy=False),
    )
    if idle is not None:
        raise DomainError(BookingErrorCode.SLOT_TAKEN, SLOT_TAKEN_MESSAGE)
    raise DomainError(
        BookingErrorCode.SLOT_UNAVAILABLE,
        _("Nobody can do this service at that time. Please choose a time from the free slots."),
    )


@contextmanager
def _slot_taken_on_overlap() -> Iterator[None]:
    """PostgreSQL: a concurrent writer won the race and an exclusion constraint refused ours."""
    try:
        yield
    except IntegrityError as error:
        if _violated_constraint(error) in OVERLAP_CONSTRAINTS:
            raise DomainError(BookingErrorCode.SLOT_TAKEN, SLOT_TAKEN_MESSAGE) from None
        raise
    except OperationalError as error:
        # Writers racing for overlapping times wait on each other's uncommitted rows through the three
        # exclusion constraints (dentist, chair, patient); when two wait in a circle PostgreSQL aborts one
        # of them. The survivor holds a conflicting row: for the aborted one the time is taken.
        if getattr(error.__cause__, "sqlstate", None) == DEADLOCK_DETECTED:
            raise DomainError(BookingErrorCode.SLOT_TAKEN, SLOT_TAKEN_MESSAGE) from None
        raise


def _violated_constraint(error: IntegrityError) -> str | None:
    diag = getattr(error.__cause__, "diag", None)
    return getattr(diag, "constraint_name", None)


# Appended for the REST API (issue 4) ---------------------------------------------------------------------

# An appointment can be moved until the patient has come: after that it is a visit, not a booking.
RESCHEDULABLE_STATUSES = frozenset({Status.PENDING, Status.BOOKED})
REASON_LENGTH = AppointmentEvent._meta.get_field("reason").max_length or 300


def reschedule_appointment(
    *,
    appointment: Appointment,
    starts_at: datetime,
    channel: Channel,
    dentist: StaffMember | None = None,
    chair: Chair | None = None,
    actor: User | None = None,
    reason: str = "",
    now: datetime | None = None,
) -> Appointment:
    """Move an appointment: book the new time and cancel the old one in one transaction — both happen or
    neither. The old time is freed first, so the new one may overlap it (moving a visit by a quarter hour).
    Both histories name the other appointment. Returns the new appointment."""
    with transaction.atomic():
        current = (
            Appointment.objects.select_for_update(of=("self",))
            .select_related("patient", "service__clinic")
            .get(pk=appointment.pk)
        )
        if current.status not in RESCHEDULABLE_STATUSES:
            raise DomainError(
                BookingErrorCode.INVALID_TRANSITION,
                _("An appointment that is “%(current)s” cannot be moved.")
                % {"current": Status(current.status).label},
                current=current.status,
                target=str(Status.CANCELLED),
            )
        quotas.check_reschedule_quota(appointment=current)
        previous = current.status
        current.status = Status.CANCELLED
        current.save(update_fields=["status", "updated_at"])
        moved = book_appointment(
            patient=current.patient,
            service=current.service,
            starts_at=starts_at,
            channel=channel,
            dentist=dentist,
            chair=chair,
            created_by=actor,
            notes=current.notes,
            now=now,
            notify_patient=False,
        )
        notify.appointment_moved(current, moved, now=now)
        quotas.record_move(old=current, new=moved)
        note = f": {reason.strip()}" if reason.strip() else ""
        AppointmentEvent.objects.create(
            appointment=current,
            actor=actor,
            from_status=previous,
            to_status=Status.CANCELLED,
            reason=(str(_("Moved to appointment #%(id)s")) % {"id": moved.pk} + note)[:REASON_LENGTH],
        )
        moved.events.filter(from_status="").update(
            reason=(str(_("Moved from appointment #%(id)s")) % {"id": current.pk} + note)[:REASON_LENGTH]
        )
        offer_freed_time_on_commit(current)
    appointment.status = Status.CANCELLED
    return moved


def change_notes(*, appointment: Appointment, notes: str) -> Appointment:
    """Replace the appointment's notes (what the patient or the desk wrote for the dentist)."""
    with transaction.atomic():
        current = Appointment.objects.select_for_update().get(pk=appointment.pk)
        current.notes = notes.strip()
        current.full_clean(validate_unique=False, validate_constraints=False)
        current.save(update_fields=["notes", "updated_at"])
    return current


# Reception desk (issue 4 §3): walk-ins, emergencies, the board's audit ------------------------------------


class DeskErrorCode(StrEnum):
    NO_TIME_TODAY = "no_time_today"
    NO_FREE_TIME = "no_free_time"
    NOT_FOR_DENTIST = "not_for_dentist"


# A slot found free may be taken before it is booked (on PostgreSQL by a concurrent writer; a reserve's slot
# may be taken already): then the next earliest is tried, this many in all.
DESK_BOOKING_ATTEMPTS = 3


class EmergencyReserve(Protocol):
    """Time kept back for emergencies (issue 6). `slots`: the reserve's free slots for `service` on the local
    day of `now`, from `now` on. book_emergency books the earliest of these and of the ordinary gaps."""

    def slots(self, *, service: Service, patient: Patient, now: datetime) -> Sequence[Slot]: ...


def book_walk_in(
    *,
    patient: Patient,
    service: Service,
    created_by: User | None,
    dentist: StaffMember | None = None,
    starts_at: datetime | None = None,
    chair: Chair | None = None,
    notes: str = "",
    now: datetime | None = None,
) -> Appointment:
    """A patient at the desk, booked into the first gap from now that fits `service` today, with `dentist` or
    whoever can do it; channel walk-in, no online notice. With `starts_at`, exactly then (one of the options
    offered when today was full).

    Raises DomainError no_time_today (details: `options`, the earliest slots of the next days, one per dentist
    first) when today has no gap, no_free_time when the next two weeks have none either."""
    return _book_first_today(
        patient=patient,
        service=service,
        channel=Channel.WALK_IN,
        created_by=created_by,
        dentist=dentist,
        starts_at=starts_at,
        chair=chair,
        notes=notes,
        now=now or timezone.now(),
        reserve=None,
    )


def book_emergency(
    *,
    patient: Patient,
    service: Service,
    created_by: User | None,
    dentist: StaffMember | None = None,
    starts_at: datetime | None = None,
    chair: Chair | None = None,
    notes: str = "",
    now: datetime | None = None,
    reserve: EmergencyReserve | None = None,
) -> Appointment:
    """An urgent patient (pain, swelling, trauma) into the earliest time today across the dentists who can do
    the urgent `service`; channel emergency. Errors as book_walk_in's: when today is full the desk is told so
    and offered the earliest times of the next days. The emergency reserve (`reserve`, by default the clinic's
    booking.reserve.DepartmentReserve) competes with today's ordinary gaps: the earliest wins."""
    return _book_first_today(
        patient=patient,
        service=service,
        channel=Channel.EMERGENCY,
        created_by=created_by,
        dentist=dentist,
        starts_at=starts_at,
        chair=chair,
        notes=notes,
        now=now or timezone.now(),
        reserve=reserve if reserve is not None else DepartmentReserve(),
    )


def _book_first_today(
    *,
    patient: Patient,
    service: Service,
    channel: Channel,
    created_by: User | None,
    dentist: StaffMember | None,
    starts_at: datetime | None,
    chair: Chair | None,
    notes: str,
    now: datetime,
    reserve: EmergencyReserve | None,
) -> Appointment:
    def book(at: datetime, dentist: StaffMember | None, chair: Chair | None) -> Appointment:
        return book_appointment(
            patient=patient,
            service=service,
            starts_at=at,
            channel=channel,
            dentist=dentist,
            chair=chair,
            created_by=created_by,
            notes=notes,
            now=now,
        )

    if starts_at is not None:
        return book(starts_at, dentist, chair)
    if dentist is not None and not dentist.specialties.filter(pk=service.specialty_id).exists():
        raise DomainError(
            DeskErrorCode.NOT_FOR_DENTIST,
            _("This dentist does not do “%(service)s”. Choose another dentist or any dentist.")
            % {"service": service.name},
        )
    clinic = service.clinic
    today = local_day(clinic, now)
    # One transaction: on SQLite the search and the booking are serialised (BEGIN IMMEDIATE).
    with transaction.atomic():
        slots = first_free_slots(service=service, now=now, patient=patient, dentist=dentist)
        if reserve is not None:
            slots = sorted([*slots, *reserve.slots(service=service, patient=patient, now=now)])
        today_slots = [slot for slot in slots if local_day(clinic, slot.start) == today]
        if not today_slots:
            raise _no_time_today(service, channel, slots)
        for slot in today_slots[:DESK_BOOKING_ATTEMPTS]:
            try:
                return book(
                    slot.start,
                    StaffMember.objects.get(pk=slot.dentist_id),
                    Chair.objects.get(pk=slot.chair_id),
                )
            except DomainError as error:
                if error.code != BookingErrorCode.SLOT_TAKEN:
                    raise
    raise DomainError(BookingErrorCode.SLOT_TAKEN, SLOT_TAKEN_MESSAGE)


def _no_time_today(service: Service, channel: Channel, slots: Sequence[Slot]) -> DomainError:
    options = spread_options(slots)
    tz = service.clinic.tz
    if not options:
        return DomainError(
            DeskErrorCode.NO_FREE_TIME,
            _("Nobody can do “%(service)s” today or in the next two weeks.") % {"service": service.name},
        )
    if channel == Channel.EMERGENCY:
        message = _(
            "No dentist who does “%(service)s” has free time left today. Book one of the earliest times "
            "below, or ask a dentist to see the patient between visits."
        )
    else:
        message = _("There is no free time for “%(service)s” left today. The earliest times are below.")
    return DomainError(
        DeskErrorCode.NO_TIME_TODAY,
        message % {"service": service.name},
        options=[
            {
                "start": slot.start.astimezone(tz).isoformat(),
                "dentist": slot.dentist_id,
                "chair": slot.chair_id,
            }
            for slot in options
        ],
    )


def record_board_view(*, actor: Actor, patient_ids: Iterable[int], fields: Iterable[str], note: str) -> None:
    """A day board showed these patients (their short names): one audit entry each, in one insert."""
    names = sorted(set(fields))
    AuditEntry.objects.bulk_create(
        AuditEntry(
            actor=actor.user,
            action=AuditAction.VIEW,
            object_type="patient",
            object_id=str(patient_id),
            patient_id=patient_id,
            fields=names,
            ip_address=actor.ip,
            path=actor.path,
            note=note[:300],
        )
        for patient_id in sorted(set(patient_ids))
    )


# Confirmation (issue 5 §4): the patient answers a reminder or a confirmation request -----------------------

CONFIRMABLE_STATUSES = RESCHEDULABLE_STATUSES


def confirm_appointment(
    *, appointment: Appointment, via: str, actor: User | None = None, now: datetime | None = None
) -> Appointment:
    """The patient said he will come (an SMS "1", a Telegram button, an operator's call): set confirmed_at.

    Idempotent: confirming a confirmed appointment changes nothing and writes no second history row.
    `via` names how ("sms", "telegram", "call") and goes into the history. The status stays as it is.
    Raises DomainError invalid_transition for an appointment that is no longer pending or booked."""
    now = now or timezone.now()
    with transaction.atomic():
        current = Appointment.objects.select_for_update().get(pk=appointment.pk)
        if current.status not in CONFIRMABLE_STATUSES:
            raise DomainError(
                BookingErrorCode.INVALID_TRANSITION,
                _("An appointment that is “%(current)s” cannot be confirmed.")
                % {"current": Status(current.status).label},
                current=current.status,
            )
        if current.confirmed_at is None:
            current.confirmed_at = now
            current.save(update_fields=["confirmed_at", "updated_at"])
            AppointmentEvent.objects.create(
                appointment=current,
                actor=actor,
                from_status=current.status,
                to_status=current.status,
                reason=(str(_("Confirmed by the patient (%(via)s)")) % {"via": via})[:REASON_LENGTH],
            )
    appointment.confirmed_at = current.confirmed_at
    return current


# Waitlist (issue 6 §1) -------------------------------------------------------------------------------------


def offer_freed_time_on_commit(appointment: Appointment) -> None:
    """The appointment's time is free: offer it to the waitlist once the transaction has committed — after,
    so that nothing going wrong there can undo the cancellation, and the offer's own transaction sees the
    time free (committed) like every other booking does. A time freed too soon to book online is only
    recorded (booking.waitlist.offer_freed_time)."""

    def offer() -> None:
        from navbat.booking.waitlist import offer_freed_time

        offer_freed_time(
            clinic=appointment.clinic,
            dentist=appointment.dentist,
            chair=appointment.chair,
            start=appointment.starts_at,
            end=appointment.ends_at,
            now=timezone.now(),
        )

    transaction.on_commit(offer, robust=True)


def arrive_checked(
    *, appointment: Appointment, check: IdentityCheck, actor: Actor
) -> tuple[Appointment, bool]:
    """The patient arrived, and the registrar checked who he is, in one transaction. Returns the appointment
    and whether the identity matched (patients.arrival: a mismatch flags the patient; the visit goes on)."""
    with transaction.atomic():
        changed = change_status(appointment=appointment, to=Status.ARRIVED, actor=actor.user)
        matched = check_identity_at_arrival(
            patient=appointment.patient, check=check, actor=actor, appointment_id=appointment.pk
        )
    return changed, matched
