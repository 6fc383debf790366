"""Reads for the reception desk and the dentist's day: the day board per dentist or per chair (working hours,
breaks, appointments and the free gaps between them), the first free times for a walk-in or an emergency,
and a dentist's patients of the day. Only reads: the changes are in services.py."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from itertools import pairwise
from typing import TYPE_CHECKING

from django.db.models import Q

from navbat.booking.models import Appointment, SlotHold
from navbat.booking.selectors import find_free_slots, load_availability, local_window
from navbat.booking.statuses import ACTIVE_STATUSES
from navbat.clinic.models import Chair, Clinic, Service, StaffMember, StaffRole
from navbat.patients.models import Patient
from navbat.scheduling import Interval, Slot, intersect, normalize, subtract

if TYPE_CHECKING:
    from navbat.booking.overbooking import DayOutlook

# When today is full, a walk-in or an emergency is offered the earliest times of the next days: this many,
# from different dentists where possible, found among the first OPTION_SEARCH free slots of OPTION_DAYS days.
OPTION_COUNT = 3
OPTION_SEARCH = 30
OPTION_DAYS = 14


class BoardBy(StrEnum):
    DENTIST = "dentist"
    CHAIR = "chair"


class EntryKind(StrEnum):
    APPOINTMENT = "appointment"
    GAP = "gap"
    BREAK = "break"
    HELD = "held"


@dataclass(frozen=True)
class Entry:
    """One line of a column, in time order: an appointment, a free gap (with the times a visit may start in
    it), a break between working hours, or time held for a patient (a patient confirming online, a waitlist
    offer) `until` the hold ends. `steps` are what the viewer may do with an appointment."""

    kind: EntryKind
    span: Interval
    appointment: Appointment | None = None
    starts: tuple[datetime, ...] = ()
    steps: frozenset[str] = frozenset()
    until: datetime | None = None

    @property
    def is_appointment(self) -> bool:
        return self.kind == EntryKind.APPOINTMENT

    @property
    def is_gap(self) -> bool:
        return self.kind == EntryKind.GAP

    @property
    def is_held(self) -> bool:
        return self.kind == EntryKind.HELD


@dataclass(frozen=True)
class Column:
    """A dentist's or a chair's day. `ended`: the appointments that no longer take time (cancelled, no-show,
    entered in error). `accepts` is False where the appointment being moved cannot go (no such specialty,
    no such equipment)."""

    by: BoardBy
    pk: int
    title: str
    details: str
    working: tuple[Interval, ...]
    entries: tuple[Entry, ...]
    ended: tuple[Entry, ...]
    accepts: bool = True
    overbooking: DayOutlook | None = None  # a dentist's day where the clinic overbooks (booking.overbooking)

    @property
    def key(self) -> str:
        return f"{self.by}-{self.pk}"


@dataclass(frozen=True)
class Board:
    clinic: Clinic
    day: date
    by: BoardBy
    columns: tuple[Column, ...]
    moving: Appointment | None = None

    def column(self, key: str) -> Column | None:
        return next((column for column in self.columns if column.key == key), None)

    def patient_ids(self) -> set[int]:
        return {
            entry.appointment.patient_id
            for column in self.columns
            for entry in (*column.entries, *column.ended)
            if entry.appointment is not None
        }

    def with_steps(self, steps_of: Callable[[Appointment], frozenset[str]]) -> Board:
        """The same board with each appointment's `steps` filled in (what the viewer may do with it)."""

        def fill(entries: tuple[Entry, ...]) -> tuple[Entry, ...]:
            return tuple(
                replace(entry, steps=steps_of(entry.appointment)) if entry.appointment is not None else entry
                for entry in entries
            )

        columns = tuple(
            replace(column, entries=fill(column.entries), ended=fill(column.ended)) for column in self.columns
        )
        return replace(self, columns=columns)

    def with_overbooking(self, outlooks: Mapping[int, DayOutlook]) -> Board:
        """The same board with each dentist's column showing his day's outlook for overbooking."""
        if self.by != BoardBy.DENTIST or not outlooks:
            return self
        columns = tuple(replace(column, overbooking=outlooks.get(column.pk)) for column in self.columns)
        return replace(self, columns=columns)


def local_day(clinic: Clinic, moment: datetime) -> date:
    return moment.astimezone(clinic.tz).date()


def day_board(
    *, clinic: Clinic, day: date, by: BoardBy, now: datetime, moving: Appointment | None = None
) -> Board:
    """The clinic's day, one column per dentist (who works that day or has appointments on it) or per chair.

    Free gaps carry the times a visit may start in them, from `now` on, on the clinic's step: for the
    appointment being moved (its own time counts as free), else for a visit of one step (an appointment
    dropped on a gap goes to its first)."""
    availability = load_availability(clinic=clinic, first_day=day, last_day=day)
    window = availability.window
    rows = list(
        Appointment.objects.filter(clinic=clinic)
        .overlapping(window.start, window.end)
        .select_related("clinic", "patient", "service", "chair", "dentist__user")
        .order_by("starts_at", "pk")
    )
    step = timedelta(minutes=clinic.slot_step_minutes)
    length = moving.ends_at - moving.starts_at if moving is not None else step
    grid = _Grid(clinic=clinic, day=day, step=step, length=length, now=now)
    holds = list(
        SlotHold.objects.filter(
            clinic=clinic, expires_at__gt=now, starts_at__lt=window.end, ends_at__gt=window.start
        ).order_by("starts_at")
    )
    if by == BoardBy.CHAIR:
        hours = normalize(span for spans in availability.working.values() for span in spans)
        columns = _chair_columns(clinic, rows, hours, grid, moving, holds)
    else:
        columns = _dentist_columns(clinic, rows, availability.working, grid, moving, holds)
    return Board(clinic=clinic, day=day, by=by, columns=tuple(columns), moving=moving)


@dataclass(frozen=True)
class _Grid:
    """Where a visit of `length` may start inside a free gap: the gap's own start, then every `step` from
    the local midnight, never before `now`."""

    clinic: Clinic
    day: date
    step: timedelta
    length: timedelta
    now: datetime

    def starts(self, gap: Interval) -> tuple[datetime, ...]:
        last = gap.end - self.length
        # In UTC: local arithmetic is an hour off on the day the clocks change.
        midnight = datetime.combine(self.day, time.min, tzinfo=self.clinic.tz).astimezone(UTC)
        found: list[datetime] = []
        if gap.start >= self.now and gap.start <= last:
            found.append(gap.start)
        steps = -(-(max(gap.start, self.now) - midnight) // self.step)  # whole steps, rounded up
        moment = midnight + steps * self.step
        while moment <= last:
            if moment > gap.start:
                found.append(moment)
            moment += self.step
        return tuple(found)


def _entries(
    appointments: Iterable[Appointment],
    hours: tuple[Interval, ...],
    busy: tuple[Interval, ...],
    breaks: Iterable[Interval],
    grid: _Grid | None,
    holds: Iterable[SlotHold],
) -> tuple[tuple[Entry, ...], tuple[Entry, ...]]:
    """The column's entries: its appointments, the live holds in its working `hours` and the gaps that are
    left of them (`busy`: the time the appointments take)."""
    taken: list[Entry] = []
    ended: list[Entry] = []
    for appointment in appointments:
        span = Interval(appointment.starts_at, appointment.ends_at)
        entry = Entry(EntryKind.APPOINTMENT, span, appointment)
        (taken if appointment.status in ACTIVE_STATUSES else ended).append(entry)
    held = [
        Entry(EntryKind.HELD, span, until=hold.expires_at)
        for hold in holds
        for span in subtract(intersect(hours, (Interval(hold.starts_at, hold.ends_at),)), busy)
    ]
    free = subtract(subtract(hours, busy), normalize(entry.span for entry in held))
    gaps = [Entry(EntryKind.GAP, gap, starts=grid.starts(gap) if grid else ()) for gap in free]
    pauses = [Entry(EntryKind.BREAK, pause) for pause in breaks]
    # A gap and the moved appointment may start together: the appointment first.
    order = {EntryKind.APPOINTMENT: 0, EntryKind.BREAK: 1, EntryKind.HELD: 2, EntryKind.GAP: 3}
    entries = sorted([*taken, *held, *gaps, *pauses], key=lambda e: (e.span.start, order[e.kind]))
    return tuple(entries), tuple(ended)


def _busy(appointments: Iterable[Appointment], moving: Appointment | None) -> tuple[Interval, ...]:
    """The time the appointments take, except the one being moved: its time is free for itself."""
    return normalize(
        Interval(a.starts_at, a.ends_at)
        for a in appointments
        if a.status in ACTIVE_STATUSES and (moving is None or a.pk != moving.pk)
    )


def _breaks(working: tuple[Interval, ...]) -> list[Interval]:
    return [Interval(before.end, after.start) for before, after in pairwise(working)]


def _dentist_columns(
    clinic: Clinic,
    rows: list[Appointment],
    working: dict[int, tuple[Interval, ...]],
    grid: _Grid,
    moving: Appointment | None,
    holds: list[SlotHold],
) -> list[Column]:
    by_dentist: dict[int, list[Appointment]] = defaultdict(list)
    for appointment in rows:
        by_dentist[appointment.dentist_id].append(appointment)
    dentists = (
        StaffMember.objects.filter(clinic=clinic, role=StaffRole.DENTIST)
        .filter(Q(pk__in=list(working)) | Q(pk__in=list(by_dentist)))
        .select_related("user")
        .prefetch_related("specialties")
    )
    columns = []
    for dentist in dentists:
        hours = working.get(dentist.pk, ())
        if not hours and not by_dentist.get(dentist.pk):
            continue
        specialties = list(dentist.specialties.all())
        accepts = moving is None or moving.service.specialty_id in {s.pk for s in specialties}
        entries, ended = _entries(
            by_dentist[dentist.pk],
            hours,
            _busy(by_dentist[dentist.pk], moving),
            _breaks(hours),
            grid if accepts else None,
            [hold for hold in holds if hold.dentist_id == dentist.pk],
        )
        columns.append(
            Column(
                by=BoardBy.DENTIST,
                pk=dentist.pk,
                title=dentist.display_name,
                details=", ".join(str(s.name) for s in specialties),
                working=hours,
                entries=entries,
                ended=ended,
                accepts=accepts,
            )
        )
    return columns


def _chair_columns(
    clinic: Clinic,
    rows: list[Appointment],
    hours: tuple[Interval, ...],
    grid: _Grid,
    moving: Appointment | None,
    holds: list[SlotHold],
) -> list[Column]:
    """A chair is free when it is not taken while some dentist works: those are its gaps."""
    by_chair: dict[int, list[Appointment]] = defaultdict(list)
    for appointment in rows:
        by_chair[appointment.chair_id].append(appointment)
    chairs = (
        Chair.objects.filter(department__clinic=clinic)
        .filter(Q(is_active=True) | Q(pk__in=list(by_chair)))
        .select_related("department")
        .prefetch_related("equipment")
    )
    needed = set(moving.service.equipment.values_list("pk", flat=True)) if moving is not None else set()
    columns = []
    for chair in chairs:
        accepts = needed <= {kit.pk for kit in chair.equipment.all()}
        entries, ended = _entries(
            by_chair[chair.pk],
            hours if chair.is_active else (),
            _busy(by_chair[chair.pk], moving),
            (),
            grid if accepts else None,
            [hold for hold in holds if hold.chair_id == chair.pk],
        )
        columns.append(
            Column(
                by=BoardBy.CHAIR,
                pk=chair.pk,
                title=chair.name,
                details=", ".join([chair.department.name, *(str(kit.name) for kit in chair.equipment.all())]),
                working=hours if chair.is_active else (),
                entries=entries,
                ended=ended,
                accepts=accepts,
            )
        )
    return columns


# Walk-ins and emergencies ---------------------------------------------------------------------------------


def desk_services(clinic: Clinic, *, age: int | None = None) -> list[Service]:
    """The clinic's active services, those for a patient of `age` if given."""
    services = Service.objects.filter(clinic=clinic, is_active=True).order_by("code")
    return [service for service in services if age is None or service.accepts_age(age)]


def first_free_slots(
    *,
    service: Service,
    now: datetime,
    patient: Patient | None = None,
    dentist: StaffMember | None = None,
    days: int = OPTION_DAYS,
    limit: int = OPTION_SEARCH,
) -> list[Slot]:
    """The earliest free slots from `now` on, for staff at the desk: no online notice, no horizon."""
    today = local_day(service.clinic, now)
    return find_free_slots(
        clinic=service.clinic,
        service=service,
        first_day=today,
        last_day=today + timedelta(days=days),
        now=now,
        dentist=dentist,
        patient_id=patient.pk if patient is not None else None,
        limit=limit,
        online=False,
    )


def spread_options(slots: Iterable[Slot], count: int = OPTION_COUNT) -> list[Slot]:
    """The earliest `count` slots, one per dentist first (three times of one dentist are one choice), then
    the next earliest."""
    ordered = sorted(slots)
    chosen: list[Slot] = []
    seen: set[int] = set()
    for slot in ordered:
        if slot.dentist_id not in seen:
            chosen.append(slot)
            seen.add(slot.dentist_id)
    chosen.extend(slot for slot in ordered if slot not in chosen)
    return sorted(chosen[:count])


# The dentist's own day ------------------------------------------------------------------------------------


def dentist_day(*, clinic: Clinic, dentist_ids: Collection[int], day: date) -> list[Appointment]:
    """The day's appointments of these dentists, in order, with the patients' alerts: active ones (booked,
    arrived, checked in, fulfilled); a cancelled visit or a no-show is not a patient to see."""
    window = local_window(clinic, day, day)
    return list(
        Appointment.objects.active()
        .filter(clinic=clinic, dentist_id__in=list(dentist_ids))
        .overlapping(window.start, window.end)
        .select_related("patient", "service", "chair", "dentist__user")
        .prefetch_related("patient__alerts")
        .order_by("starts_at", "pk")
    )
