"""Optional overbooking (issue 6 §5): extra visits on a dentist's day that is expected to lose some.

Off unless the clinic's CapacityPolicy turns it on. For a dentist's day, each visit still awaited (booked or
pending) gets a chance of being missed from its patient's last HISTORY_MONTHS of visits and its lead time
(scheduling.overbooking); their sum is the day's expected no-shows. When it exceeds the clinic's threshold,
staff may book up to `extra_allowed` extra visits (never more than the clinic's most per day), for adults
only and for services no longer than the clinic's limit.

An extra visit never overlaps anything (DESIGN.md invariant 1): it goes into the dentist's overtime, the first
free time after the end of his working day, within `allowed × longest overbookable service` of it, with the
same serialised check and the same exclusion constraints as every booking. It is flagged `overbooked`, booked
by staff only, and has its line in the appointment's history. When a no-show or a cancellation frees time
earlier that day, the desk moves it there with the ordinary move (which books it as an ordinary visit).

`overtime_report` tells managers, per dentist and day, the extra visits and the overtime they caused.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from navbat.booking.boards import local_day
from navbat.booking.errors import BookingErrorCode
from navbat.booking.models import Appointment, AppointmentEvent, AppointmentMove
from navbat.booking.noshows import months_before
from navbat.booking.quotas import check_free_booking_quota
from navbat.booking.selectors import load_availability, local_window, slot_request
from navbat.booking.services import (
    ONLINE_CHANNELS,
    REASON_LENGTH,
    SLOT_TAKEN_MESSAGE,
    _check_booking_input,
    _slot_taken_on_overlap,
)
from navbat.booking.statuses import Channel, Status
from navbat.clinic.models import CapacityPolicy, Clinic, Service, StaffMember, StaffRole
from navbat.clinic.selectors import date_exceptions, national_holidays, weekly_plans
from navbat.errors import DomainError
from navbat.notify import services as notify
from navbat.patients.models import Patient
from navbat.scheduling import DentistSchedule, Interval, clip, find_slots, subtract, working_time
from navbat.scheduling.overbooking import (
    VisitHistory,
    expected_no_shows,
    extra_allowed,
    overtime_beyond,
    overtime_window,
)

ADULT_AGE = 18
# How far back a patient's visits and no-shows count towards the chance that he misses the next one.
HISTORY_MONTHS = 24
AWAITED = frozenset({Status.PENDING, Status.BOOKED})
CAME = frozenset({Status.ARRIVED, Status.CHECKED_IN, Status.FULFILLED})
# The longest range the overtime report covers at once.
REPORT_MAX_DAYS = 92


class OverbookingErrorCode(StrEnum):
    OFF = "overbooking_off"
    STAFF_ONLY = "overbooking_staff_only"
    CHILD = "overbooking_child"
    SERVICE_TOO_LONG = "overbooking_service_too_long"
    NOT_FOR_DENTIST = "overbooking_not_for_dentist"
    NOT_WORKING = "overbooking_not_working"
    NOT_EXPECTED = "overbooking_not_expected"
    LIMIT_REACHED = "overbooking_limit_reached"
    NO_OVERTIME = "overbooking_no_overtime"


def overbooking_policy(clinic: Clinic) -> CapacityPolicy | None:
    """The clinic's policy if it allows overbooking at all."""
    return CapacityPolicy.objects.filter(clinic=clinic, overbooking_enabled=True).first()


# The outlook of a dentist's day -----------------------------------------------------------------------------


@dataclass(frozen=True)
class DayOutlook:
    """A dentist's day as overbooking sees it: the expected no-shows of the visits still awaited, how many
    extra visits that allows, how many it has (active), and when the working day ends (None: not working)."""

    dentist_id: int
    day: date
    awaited: int
    expected: float
    threshold: float
    most: int
    allowed: int
    used: int
    planned_end: datetime | None

    @property
    def left(self) -> int:
        return max(0, self.allowed - self.used)

    @property
    def possible(self) -> bool:
        return self.left > 0 and self.planned_end is not None


def working_days(
    clinic: Clinic, dentist_ids: Collection[int], first_day: date, last_day: date
) -> dict[int, dict[date, tuple[Interval, ...]]]:
    """Each dentist's working time per local day (plans, exceptions, closures, holidays)."""
    ids = list(dentist_ids)
    plans, _chairs = weekly_plans(ids, first_day, last_day)
    exceptions, closures = date_exceptions(clinic, ids, first_day, last_day)
    holidays = national_holidays(clinic, first_day, last_day)
    days: dict[int, dict[date, tuple[Interval, ...]]] = {}
    for dentist_id in ids:
        spans = working_time(
            plans.get(dentist_id, []),
            [*exceptions.get(dentist_id, []), *closures],
            holidays,
            clinic.tz,
            first_day,
            last_day,
        )
        by_day: dict[date, list[Interval]] = defaultdict(list)
        for span in spans:
            by_day[span.start.astimezone(clinic.tz).date()].append(span)
        days[dentist_id] = {day: tuple(found) for day, found in by_day.items()}
    return days


def day_outlooks(
    *, clinic: Clinic, day: date, now: datetime, dentist_ids: Collection[int] | None = None
) -> dict[int, DayOutlook]:
    """The outlook of each dentist's day (those given, else every active dentist of the clinic), in a fixed
    number of queries. Empty when the clinic does not overbook."""
    policy = overbooking_policy(clinic)
    if policy is None:
        return {}
    dentists = StaffMember.objects.filter(clinic=clinic, role=StaffRole.DENTIST, is_active=True)
    if dentist_ids is not None:
        dentists = dentists.filter(pk__in=list(dentist_ids))
    ids = list(dentists.values_list("pk", flat=True))
    window = local_window(clinic, day, day)
    rows = list(
        Appointment.objects.active()
        .filter(clinic=clinic, dentist_id__in=ids)
        .overlapping(window.start, window.end)
        .values("dentist_id", "patient_id", "status", "overbooked", "starts_at", "created_at")
    )
    awaited = [row for row in rows if row["status"] in AWAITED and not row["overbooked"]]
    history = _histories({row["patient_id"] for row in awaited}, now)
    visits: dict[int, list[VisitHistory]] = defaultdict(list)
    for row in awaited:
        missed, came = history.get(row["patient_id"], (0, 0))
        visits[row["dentist_id"]].append(VisitHistory(missed, came, row["starts_at"] - row["created_at"]))
    used: dict[int, int] = defaultdict(int)
    for row in rows:
        used[row["dentist_id"]] += int(row["overbooked"])
    working = working_days(clinic, ids, day, day)
    threshold = float(policy.overbooking_threshold)
    most = policy.overbooking_max_per_day
    outlooks = {}
    for dentist_id in ids:
        expected = expected_no_shows(visits[dentist_id])
        hours = working.get(dentist_id, {}).get(day, ())
        outlooks[dentist_id] = DayOutlook(
            dentist_id=dentist_id,
            day=day,
            awaited=len(visits[dentist_id]),
            expected=expected,
            threshold=threshold,
            most=most,
            allowed=extra_allowed(expected, threshold=threshold, most=most),
            used=used[dentist_id],
            planned_end=hours[-1].end if hours else None,
        )
    return outlooks


def _histories(patient_ids: Collection[int], now: datetime) -> dict[int, tuple[int, int]]:
    """Each patient's (no-shows, visits he came to) of the last HISTORY_MONTHS, at any clinic: one query."""
    if not patient_ids:
        return {}
    rows = (
        Appointment.objects.filter(
            patient_id__in=list(patient_ids),
            starts_at__gte=months_before(now, HISTORY_MONTHS),
            starts_at__lt=now,
        )
        .values("patient_id")
        .annotate(
            missed=Count("pk", filter=Q(status=Status.NOSHOW)),
            came=Count("pk", filter=Q(status__in=CAME)),
        )
        .order_by()
    )
    return {row["patient_id"]: (row["missed"], row["came"]) for row in rows}


# Booking an extra visit -------------------------------------------------------------------------------------


def overbook_appointment(
    *,
    patient: Patient,
    service: Service,
    dentist: StaffMember,
    day: date,
    channel: Channel,
    created_by: User | None = None,
    notes: str = "",
    now: datetime | None = None,
) -> Appointment:
    """Book an extra visit for `patient` with `dentist` on `day`, in his overtime right after his working
    day, when the clinic's policy allows it. Raises DomainError (codes OverbookingErrorCode, and slot_taken
    when a concurrent booking won the time) and changes nothing when it does not."""
    now = now or timezone.now()
    clinic = service.clinic
    policy = _check_request(patient=patient, service=service, dentist=dentist, day=day, channel=channel)
    with _slot_taken_on_overlap(), transaction.atomic():
        # One extra visit of a dentist at a time: on PostgreSQL a row lock, on SQLite BEGIN IMMEDIATE already.
        StaffMember.objects.select_for_update().filter(pk=dentist.pk).first()
        outlook = day_outlooks(clinic=clinic, day=day, now=now, dentist_ids=[dentist.pk]).get(dentist.pk)
        if outlook is None:  # a dentist no longer active
            raise DomainError(OverbookingErrorCode.NOT_WORKING, _("The dentist does not work on that day."))
        _check_outlook(outlook)
        slot_start, slot_end, chair_id = _overtime_slot(
            patient=patient, service=service, dentist=dentist, outlook=outlook, policy=policy, now=now
        )
        _check_booking_input(
            patient=patient, service=service, starts_at=slot_start, now=now, dentist=dentist, chair=None
        )
        check_free_booking_quota(patient=patient, service=service, channel=channel, now=now)
        _check_nothing_overlaps(patient, dentist, chair_id, slot_start, slot_end)
        appointment = Appointment(
            clinic=clinic,
            patient=patient,
            service=service,
            dentist=dentist,
            chair_id=chair_id,
            starts_at=slot_start,
            ends_at=slot_end,
            status=Status.BOOKED,
            channel=channel,
            created_by=created_by,
            notes=notes,
            overbooked=True,
        )
        appointment.full_clean()
        appointment.save()
        reason = _(
            "Overbooked (%(channel)s): no-shows expected that day %(expected)s, above the threshold of "
            "%(threshold)s"
        ) % {
            "channel": Channel(channel).label,
            "expected": f"{outlook.expected:.1f}",
            "threshold": f"{outlook.threshold:.1f}",
        }
        AppointmentEvent.objects.create(
            appointment=appointment,
            actor=created_by,
            from_status="",
            to_status=Status.BOOKED,
            reason=str(reason)[:REASON_LENGTH],
        )
        notify.appointment_booked(appointment, now=now)
    return appointment


def _check_request(
    *, patient: Patient, service: Service, dentist: StaffMember, day: date, channel: Channel
) -> CapacityPolicy:
    """The rules that need no schedule: the clinic overbooks, staff book it, an adult, a short service, a
    dentist of the clinic who does it."""
    policy = overbooking_policy(service.clinic)
    if policy is None:
        raise DomainError(OverbookingErrorCode.OFF, _("This clinic does not overbook."))
    if Channel(channel) in ONLINE_CHANNELS:
        raise DomainError(OverbookingErrorCode.STAFF_ONLY, _("Only the clinic's staff can overbook a day."))
    if patient.age_on(day) < ADULT_AGE:
        raise DomainError(
            OverbookingErrorCode.CHILD,
            _("Children are never overbooked: find the child a free time instead."),
        )
    if service.duration_minutes > policy.overbooking_max_minutes:
        raise DomainError(
            OverbookingErrorCode.SERVICE_TOO_LONG,
            _("“%(service)s” takes %(minutes)s minutes: only services up to %(most)s minutes are overbooked.")
            % {
                "service": service.name,
                "minutes": service.duration_minutes,
                "most": policy.overbooking_max_minutes,
            },
            most=policy.overbooking_max_minutes,
        )
    doing = dentist.specialties.filter(pk=service.specialty_id).exists()
    if dentist.clinic_id != service.clinic_id or dentist.role != StaffRole.DENTIST or not doing:
        raise DomainError(
            OverbookingErrorCode.NOT_FOR_DENTIST,
            _("This dentist does not do “%(service)s”.") % {"service": service.name},
        )
    return policy


def _check_outlook(outlook: DayOutlook) -> None:
    figures = {"expected": f"{outlook.expected:.1f}", "threshold": f"{outlook.threshold:.1f}"}
    if outlook.planned_end is None:
        raise DomainError(OverbookingErrorCode.NOT_WORKING, _("The dentist does not work on that day."))
    if outlook.allowed == 0:
        raise DomainError(
            OverbookingErrorCode.NOT_EXPECTED,
            _(
                "No-shows expected on the dentist's day: %(expected)s. Overbooking needs more than "
                "%(threshold)s."
            )
            % figures,
            expected=round(outlook.expected, 2),
            threshold=outlook.threshold,
        )
    if outlook.left == 0:
        raise DomainError(
            OverbookingErrorCode.LIMIT_REACHED,
            _("The dentist's day has as many extra visits as its expected no-shows allow (%(used)s).")
            % {"used": outlook.used},
            used=outlook.used,
            allowed=outlook.allowed,
        )


def _overtime_slot(
    *,
    patient: Patient,
    service: Service,
    dentist: StaffMember,
    outlook: DayOutlook,
    policy: CapacityPolicy,
    now: datetime,
) -> tuple[datetime, datetime, int]:
    """The first free time in the dentist's overtime for the service, with a chair that fits it."""
    clinic = service.clinic
    day = outlook.day
    # Every dentist and every fitting chair of the day: the chosen chair's busy time must all be known.
    availability = load_availability(
        clinic=clinic,
        first_day=day,
        last_day=day,
        specialty_id=service.specialty_id,
        equipment_ids=list(service.equipment.values_list("pk", flat=True)),
        patient_id=patient.pk,
        hold_patient_id=patient.pk,
        now=now,
    )
    window = overtime_window(
        availability.working.get(dentist.pk, ()),
        allowed=outlook.allowed,
        longest=timedelta(minutes=policy.overbooking_max_minutes),
    )
    overtime = clip((window,), availability.window) if window is not None else ()
    schedule = DentistSchedule(
        dentist_id=dentist.pk,
        specialty_ids=availability.dentist_specialties.get(dentist.pk, frozenset()),
        free=subtract(overtime, availability.dentist_busy.get(dentist.pk, ())),
        default_chair_id=availability.default_chairs.get(dentist.pk),
    )
    request = slot_request(
        clinic=clinic,
        service=service,
        now=now,
        online=False,
        dentist_ids=frozenset({dentist.pk}),
        patient_busy=availability.patient_busy,
        limit=1,
    )
    found = find_slots(request, [schedule], availability.chairs())
    if not found:
        raise DomainError(
            OverbookingErrorCode.NO_OVERTIME,
            _("There is no free time for “%(service)s” in the dentist's overtime that day.")
            % {"service": service.name},
        )
    slot = found[0]
    return slot.start, slot.end, slot.chair_id


def _check_nothing_overlaps(
    patient: Patient, dentist: StaffMember, chair_id: int, start: datetime, end: datetime
) -> None:
    """The last look before the insert (serialised on SQLite; the exclusion constraints on PostgreSQL)."""
    taken = (
        Appointment.objects.active()
        .overlapping(start, end)
        .filter(Q(dentist=dentist) | Q(chair_id=chair_id) | Q(patient=patient))
        .exists()
    )
    if taken:
        raise DomainError(BookingErrorCode.SLOT_TAKEN, SLOT_TAKEN_MESSAGE)


# The overtime report ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OvertimeRow:
    """One dentist's day with extra visits: how many were booked and what became of them, and the overtime
    the ones that took place ran past the planned end of his day."""

    day: date
    dentist: StaffMember
    planned_end: datetime | None
    booked: int
    came: int
    missed: int
    moved: int  # moved into free time (of that day or another) by the desk
    cancelled: int
    awaited: int
    overtime: timedelta

    @property
    def overtime_minutes(self) -> int:
        return int(self.overtime.total_seconds() // 60)


@dataclass(frozen=True)
class OvertimeReport:
    first_day: date
    last_day: date
    rows: tuple[OvertimeRow, ...]

    @property
    def booked(self) -> int:
        return sum(row.booked for row in self.rows)

    @property
    def came(self) -> int:
        return sum(row.came for row in self.rows)

    @property
    def overtime_minutes(self) -> int:
        return sum(row.overtime_minutes for row in self.rows)


def overtime_report(*, clinic: Clinic, first_day: date, last_day: date) -> OvertimeReport:
    """Per dentist and local day in [first_day, last_day]: the extra visits and the overtime minutes they
    caused (those that took place, past the planned end of the dentist's working day)."""
    window = local_window(clinic, first_day, last_day)
    extra = list(
        Appointment.objects.filter(
            clinic=clinic, overbooked=True, starts_at__gte=window.start, starts_at__lt=window.end
        )
        .select_related("dentist__user")
        .order_by("starts_at", "pk")
    )
    moved = set(AppointmentMove.objects.filter(original__in=extra).values_list("original_id", flat=True))
    groups: dict[tuple[date, int], list[Appointment]] = defaultdict(list)
    for appointment in extra:
        groups[(local_day(clinic, appointment.starts_at), appointment.dentist_id)].append(appointment)
    working = working_days(clinic, {a.dentist_id for a in extra}, first_day, last_day)
    rows = []
    for (day, dentist_id), visits in groups.items():
        hours = working.get(dentist_id, {}).get(day, ())
        planned_end = hours[-1].end if hours else None
        rows.append(_overtime_row(day, visits, planned_end, moved))
    rows.sort(key=lambda row: (row.day, row.dentist.display_name, row.dentist.pk))
    return OvertimeReport(first_day=first_day, last_day=last_day, rows=tuple(rows))


def _overtime_row(
    day: date, visits: list[Appointment], planned_end: datetime | None, moved: set[int]
) -> OvertimeRow:
    came = [Interval(a.starts_at, a.ends_at) for a in visits if a.status in CAME]
    overtime = timedelta(0)
    if came:
        # Without a working day that date (its plan changed since), every minute of an extra visit counts.
        overtime = overtime_beyond(came, planned_end or min(span.start for span in came))
    return OvertimeRow(
        day=day,
        dentist=visits[0].dentist,
        planned_end=planned_end,
        booked=len(visits),
        came=len(came),
        missed=sum(a.status == Status.NOSHOW for a in visits),
        moved=sum(a.pk in moved for a in visits),
        cancelled=sum(
            a.status in (Status.CANCELLED, Status.ENTERED_IN_ERROR) and a.pk not in moved for a in visits
        ),
        awaited=sum(a.status in AWAITED for a in visits),
        overtime=overtime,
    )
