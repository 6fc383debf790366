"""Reads for booking: who is free when. Loads a date range in a fixed number of queries, asks the core."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta

from django.db.models import Q, QuerySet
from django.utils import timezone

from navbat.booking.models import Appointment, SlotHold
from navbat.booking.statuses import Status
from navbat.clinic.models import Chair, Clinic, Service, StaffMember, StaffRole
from navbat.clinic.selectors import date_exceptions, national_holidays, weekly_plans
from navbat.scheduling import (
    ChairSchedule,
    DentistSchedule,
    Interval,
    Slot,
    SlotRequest,
    Wishes,
    find_slots,
    intersect,
    normalize,
    subtract,
    working_time,
)

# An "earliest N" search loads this many days first, then twice as many each time it needs more.
FIRST_CHUNK_DAYS = 2
# Searches for this many named dentists or fewer read other chairs' bookings only where they can matter.
FEW_DENTISTS = 3
MAX_WINDOWS = 200


@dataclass(frozen=True)
class Availability:
    """Working time and busy time of the clinic's dentists and chairs over one window, in core terms."""

    window: Interval
    working: dict[int, tuple[Interval, ...]]
    dentist_specialties: dict[int, frozenset[int]]
    default_chairs: dict[int, int]
    chair_equipment: dict[int, frozenset[int]]
    dentist_busy: dict[int, tuple[Interval, ...]] = field(default_factory=dict)
    chair_busy: dict[int, tuple[Interval, ...]] = field(default_factory=dict)
    patient_busy: tuple[Interval, ...] = ()

    def dentists(self, *, with_busy: bool = True) -> list[DentistSchedule]:
        return [
            DentistSchedule(
                dentist_id=dentist_id,
                specialty_ids=self.dentist_specialties.get(dentist_id, frozenset()),
                free=subtract(working, self.dentist_busy.get(dentist_id, ())) if with_busy else working,
                default_chair_id=self.default_chairs.get(dentist_id),
            )
            for dentist_id, working in self.working.items()
        ]

    def chairs(self, *, with_busy: bool = True) -> list[ChairSchedule]:
        whole = (self.window,)
        return [
            ChairSchedule(
                chair_id=chair_id,
                equipment_ids=equipment,
                free=subtract(whole, self.chair_busy.get(chair_id, ())) if with_busy else whole,
            )
            for chair_id, equipment in self.chair_equipment.items()
        ]


def local_window(clinic: Clinic, first_day: date, last_day: date) -> Interval:
    tz = clinic.tz
    start = datetime.combine(first_day, time.min, tzinfo=tz)
    end = datetime.combine(last_day + timedelta(days=1), time.min, tzinfo=tz)
    return Interval(start, end)


def load_availability(
    *,
    clinic: Clinic,
    first_day: date,
    last_day: date,
    specialty_id: int | None = None,
    dentist_ids: Collection[int] | None = None,
    chair_ids: Collection[int] | None = None,
    equipment_ids: Collection[int] = (),
    patient_id: int | None = None,
    ignore_appointment_id: int | None = None,
    hold_patient_id: int | None = None,
    now: datetime | None = None,
    hide_reserve: bool = False,
) -> Availability:
    """What the core needs for [first_day, last_day], in a constant number of queries whatever the size.

    Times held online (booking.holds) and not expired at `now` are busy like appointments, except those held
    for `hold_patient_id`: the holder may book his own. `hide_reserve`: the emergency reserve not open yet
    is busy too (booking.reserve; ordinary online booking)."""
    window = local_window(clinic, first_day, last_day)
    dentists = StaffMember.objects.filter(clinic=clinic, role=StaffRole.DENTIST, is_active=True)
    if specialty_id is not None:
        dentists = dentists.filter(specialties=specialty_id)
    if dentist_ids is not None:
        dentists = dentists.filter(pk__in=list(dentist_ids))
    specialties: dict[int, set[int]] = defaultdict(set)
    through = StaffMember.specialties.through.objects.filter(staffmember__in=dentists)
    for staff_id, spec_id in through.values_list("staffmember_id", "specialty_id"):
        specialties[staff_id].add(spec_id)
    ids = list(specialties)

    plans, default_chairs = weekly_plans(ids, first_day, last_day)
    exceptions, closures = date_exceptions(clinic, ids, first_day, last_day)
    holidays = national_holidays(clinic, first_day, last_day)
    working = {
        staff_id: working_time(
            plans.get(staff_id, []),
            [*exceptions.get(staff_id, []), *closures],
            holidays,
            clinic.tz,
            first_day,
            last_day,
        )
        for staff_id in ids
    }

    chairs = Chair.objects.filter(department__clinic=clinic, is_active=True)
    if chair_ids is not None:
        chairs = chairs.filter(pk__in=list(chair_ids))
    equipment: dict[int, set[int]] = defaultdict(set)
    for chair_id, equipment_id in chairs.values_list("pk", "equipment"):  # one LEFT JOIN
        equipment[chair_id].update(() if equipment_id is None else (equipment_id,))
    needed = set(equipment_ids)
    fitting = [chair_id for chair_id, kit in equipment.items() if needed <= kit]

    # Only the busy time the search can meet: of these dentists, and of the chairs that fit the service.
    busy = Appointment.objects.active().filter(clinic=clinic).overlapping(window.start, window.end).order_by()
    if ignore_appointment_id is not None:
        busy = busy.exclude(pk=ignore_appointment_id)
    held = SlotHold.objects.filter(
        clinic=clinic,
        expires_at__gt=now or timezone.now(),
        starts_at__lt=window.end,
        ends_at__gt=window.start,
    ).order_by()
    if hold_patient_id is not None:
        held = held.exclude(patient_id=hold_patient_id)
    dentist_busy: dict[int, list[Interval]] = defaultdict(list)
    chair_busy: dict[int, list[Interval]] = defaultdict(list)
    own_chairs = {default_chairs[d] for d in ids if d in default_chairs} & set(fitting)
    if dentist_ids is not None and len(ids) <= FEW_DENTISTS and own_chairs:
        # A few named dentists: their own chairs first. Other chairs matter only inside the dentist's free
        # intervals where his own chair is taken (the core prefers his chair), so only there are they read.
        _collect(busy, held, Q(dentist_id__in=ids) | Q(chair_id__in=own_chairs), dentist_busy, chair_busy)
        free = normalize(f for d in ids for f in subtract(working[d], normalize(dentist_busy.get(d, ()))))
        taken = normalize(span for chair in own_chairs for span in chair_busy.get(chair, ()))
        windows = [f for f in free if intersect((f,), taken)]
        others = [chair for chair in fitting if chair not in own_chairs]
        if windows and others:
            if len(windows) > MAX_WINDOWS:
                windows = [Interval(windows[0].start, windows[-1].end)]
            inside = Q()
            for w in windows:
                inside |= Q(starts_at__lt=w.end, ends_at__gt=w.start)
            _collect(busy, held, Q(chair_id__in=others) & inside, defaultdict(list), chair_busy)
    else:
        _collect(busy, held, Q(dentist_id__in=ids) | Q(chair_id__in=fitting), dentist_busy, chair_busy)

    if hide_reserve:
        from navbat.booking.reserve import hidden_reserve

        hidden = hidden_reserve(
            clinic=clinic,
            working=working,
            first_day=first_day,
            last_day=last_day,
            now=now or timezone.now(),
            hold_patient_id=hold_patient_id,
        )
        for dentist_id, spans in hidden.items():
            dentist_busy[dentist_id].extend(spans)

    patient_busy: tuple[Interval, ...] = ()
    if patient_id is not None:
        # A patient may have visits at another clinic of the network: not filtered by clinic.
        own = Appointment.objects.active().filter(patient_id=patient_id).overlapping(window.start, window.end)
        if ignore_appointment_id is not None:
            own = own.exclude(pk=ignore_appointment_id)
        patient_busy = normalize(Interval(s, e) for s, e in own.values_list("starts_at", "ends_at"))

    return Availability(
        window=window,
        working=working,
        dentist_specialties={k: frozenset(v) for k, v in specialties.items()},
        default_chairs=default_chairs,
        chair_equipment={chair_id: frozenset(equipment[chair_id]) for chair_id in fitting},
        dentist_busy={k: normalize(v) for k, v in dentist_busy.items()},
        chair_busy={k: normalize(v) for k, v in chair_busy.items()},
        patient_busy=patient_busy,
    )


def visibly_taken(
    *,
    start: datetime,
    end: datetime,
    patient_id: int,
    dentist_id: int | None,
    chair_id: int | None,
    now: datetime,
    ignore_appointment_id: int | None = None,
) -> bool:
    """Whether [start, end) is plainly taken: an active appointment of the dentist, the chair or the patient,
    or another patient's live hold on the dentist or the chair, overlaps it. One query: on a release day
    most booking attempts meet a time somebody has just taken, and this refuses them before the full
    availability is loaded (booking.services._fitting_slot). False does not mean free."""
    named = Q()
    if dentist_id is not None:
        named |= Q(dentist_id=dentist_id)
    if chair_id is not None:
        named |= Q(chair_id=chair_id)
    booked = Appointment.objects.active().overlapping(start, end).filter(named | Q(patient_id=patient_id))
    if ignore_appointment_id is not None:
        booked = booked.exclude(pk=ignore_appointment_id)
    rows = booked.order_by().values("pk")
    if named:
        held = SlotHold.objects.filter(named, expires_at__gt=now, starts_at__lt=end, ends_at__gt=start)
        rows = rows.union(held.exclude(patient_id=patient_id).order_by().values("pk"), all=True)
    return rows.exists()


BUSY_FIELDS = ("dentist_id", "chair_id", "starts_at", "ends_at")


def _collect(
    busy: QuerySet[Appointment],
    held: QuerySet[SlotHold],
    where: Q,
    dentist_busy: dict[int, list[Interval]],
    chair_busy: dict[int, list[Interval]],
) -> None:
    """Appointments and live holds matching `where`, in one query (UNION ALL): holds cost no extra query."""
    rows = (
        busy.filter(where)
        .values_list(*BUSY_FIELDS)
        .union(held.filter(where).values_list(*BUSY_FIELDS), all=True)
    )
    for dentist_id, chair_id, starts_at, ends_at in rows:
        span = Interval(starts_at, ends_at)
        dentist_busy[dentist_id].append(span)
        chair_busy[chair_id].append(span)


def last_online_day(clinic: Clinic, now: datetime) -> date:
    """The last day patients may book online at `now`. Days open whole, at the clinic's release time
    (BookingPolicy.release_time, booking.release): before it today + horizon_days - 1, from it on today +
    horizon_days. A rolling "now + horizon" would open a new day's times one by one through the day, so that
    whoever polls most often takes them and the release draw covers nothing."""
    from navbat.booking.quotas import limits_for

    local = now.astimezone(clinic.tz)
    last = local.date() + timedelta(days=clinic.horizon_days)
    if local.time() < limits_for(clinic).release_time:
        last -= timedelta(days=1)
    return last


def online_horizon(clinic: Clinic, now: datetime) -> timedelta:
    """From `now` to the end of the last day open online (last_online_day), in real time."""
    end = datetime.combine(last_online_day(clinic, now) + timedelta(days=1), time(0), tzinfo=clinic.tz)
    return end.astimezone(UTC) - now.astimezone(UTC)


def slot_request(
    *,
    clinic: Clinic,
    service: Service,
    now: datetime,
    online: bool,
    dentist_ids: frozenset[int] | None = None,
    patient_busy: tuple[Interval, ...] = (),
    wishes: Wishes | None = None,
    limit: int | None = 10,
) -> SlotRequest:
    """The clinic's rules for a search: online patients need notice and a horizon; staff do not."""
    return SlotRequest(
        duration=timedelta(minutes=service.duration_minutes),
        now=now,
        tz=clinic.tz,
        specialty_id=service.specialty_id,
        equipment_ids=frozenset(service.equipment.values_list("pk", flat=True)),
        dentist_ids=dentist_ids,
        patient_busy=patient_busy,
        wishes=wishes or Wishes(),
        min_notice=timedelta(minutes=clinic.min_notice_minutes) if online else timedelta(0),
        horizon=online_horizon(clinic, now) if online else timedelta(days=366),
        step=timedelta(minutes=clinic.slot_step_minutes),
        limit=limit,
    )


def find_free_slots(
    *,
    clinic: Clinic,
    service: Service,
    first_day: date,
    last_day: date,
    now: datetime,
    dentist: StaffMember | None = None,
    patient_id: int | None = None,
    wishes: Wishes | None = None,
    limit: int | None = 10,
    online: bool = True,
    hide_reserve: bool | None = None,
) -> list[Slot]:
    """Free slots for a service, earliest first. With a limit it loads two days, then four, eight, … until it
    has enough: the earliest slots are usually near, and a clinic's size should not decide the cost.
    With `hide_reserve` (by default: when online) the emergency reserve not open yet is busy unless the
    service is an urgent one (booking.reserve; the call centre hides it too)."""
    from navbat.booking.reserve import is_urgent

    dentist_ids = frozenset({dentist.pk}) if dentist is not None else None
    request = slot_request(
        clinic=clinic,
        service=service,
        now=now,
        online=online,
        dentist_ids=dentist_ids,
        wishes=wishes,
        limit=limit,
    )
    found: list[Slot] = []
    chunk_first = first_day
    chunk_days = FIRST_CHUNK_DAYS if limit is not None else (last_day - first_day).days + 1
    while chunk_first <= last_day:
        chunk_last = min(last_day, chunk_first + timedelta(days=chunk_days - 1))
        availability = load_availability(
            clinic=clinic,
            first_day=chunk_first,
            last_day=chunk_last,
            specialty_id=service.specialty_id,
            dentist_ids=dentist_ids,
            equipment_ids=request.equipment_ids,
            patient_id=patient_id,
            hold_patient_id=patient_id,
            now=now,
            hide_reserve=(online if hide_reserve is None else hide_reserve) and not is_urgent(service),
        )
        wanted = None if limit is None else limit - len(found)
        # Slots must start inside the loaded days: the core need not look further than they go.
        horizon = min(request.horizon, availability.window.end - now)
        chunk_request = replace(
            request, patient_busy=availability.patient_busy, limit=wanted, horizon=horizon
        )
        if horizon > timedelta(0):
            found.extend(find_slots(chunk_request, availability.dentists(), availability.chairs()))
        if limit is not None and len(found) >= limit:
            break
        chunk_first = chunk_last + timedelta(days=1)
        chunk_days *= 2
    return found


# Call-centre console (issue 4 §2) -------------------------------------------------------------------------

BEST_OPTIONS = 5


def best_options(
    *,
    clinic: Clinic,
    service: Service,
    now: datetime,
    first_day: date,
    last_day: date,
    wishes: Wishes | None = None,
    dentist: StaffMember | None = None,
    patient_id: int | None = None,
    count: int = BEST_OPTIONS,
    online: bool = False,
    hide_reserve: bool | None = None,
) -> list[Slot]:
    """The `count` options to offer a caller, earliest first, across dentists and chairs.

    "Best" is: the earliest slots that match the wishes, at most one per dentist and day while other
    dentist-days can fill the list, then the earliest of the rest. The operator can then say "Monday 9:00
    with Dr A or Dr B, Tuesday 9:00 …" instead of five quarter hours of one dentist's morning; the very
    earliest slot is always the first option. Loads two days, then four, eight, … until it has enough.
    """
    spread: list[Slot] = []  # the first slot of each (dentist, local day), in time order
    rest: list[Slot] = []  # the earliest of the others, kept in case there are too few dentist-days
    seen: set[tuple[int, date]] = set()
    chunk_first, chunk_days = first_day, FIRST_CHUNK_DAYS
    while chunk_first <= last_day and len(spread) < count:
        chunk_last = min(last_day, chunk_first + timedelta(days=chunk_days - 1))
        slots = find_free_slots(
            clinic=clinic,
            service=service,
            first_day=chunk_first,
            last_day=chunk_last,
            now=now,
            dentist=dentist,
            patient_id=patient_id,
            wishes=wishes,
            limit=None,
            online=online,
            hide_reserve=hide_reserve,
        )
        for slot in slots:
            key = (slot.dentist_id, slot.start.astimezone(clinic.tz).date())
            if key not in seen:
                seen.add(key)
                spread.append(slot)
            elif len(rest) < count:
                rest.append(slot)
        chunk_first = chunk_last + timedelta(days=1)
        chunk_days *= 2
    chosen = spread[:count]
    return sorted(chosen + rest[: count - len(chosen)])


def upcoming_visits(patient_id: int, *, now: datetime) -> list[Appointment]:
    """The patient's coming visits that hold their time (booked, or awaiting confirmation), soonest first."""
    holding = [Status.BOOKED, Status.PENDING]
    return list(
        Appointment.objects.filter(patient_id=patient_id, ends_at__gt=now, status__in=holding)
        .select_related("clinic", "service", "dentist__user", "chair")
        .order_by("starts_at")
    )


def no_show_count(patient_id: int) -> int:
    return Appointment.objects.filter(patient_id=patient_id, status=Status.NOSHOW).count()
