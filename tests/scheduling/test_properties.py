"""Property-based tests of the scheduling core, around the DST changes of Berlin and New York.

The slot search is compared with a slow, obviously-correct oracle that follows the written rules
candidate by candidate; working_time with a per-instant reading of the plans; the interval algebra
with sets of minutes.
"""

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from itertools import chain, pairwise
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from navbat.scheduling import (
    ChairSchedule,
    DateException,
    DentistSchedule,
    ExceptionKind,
    Interval,
    Slot,
    SlotRequest,
    TimeWindow,
    WeeklyPlan,
    WeeklyRule,
    Wishes,
    check_slot,
    clip,
    covers,
    find_slots,
    intersect,
    local_span,
    normalize,
    subtract,
    union,
    working_time,
)

# Days on which the clocks change, and a zone without DST.
ANCHORS = {
    "Europe/Berlin": [date(2026, 3, 29), date(2026, 10, 25)],
    "America/New_York": [date(2026, 3, 8), date(2026, 11, 1)],
    "Asia/Tashkent": [date(2026, 3, 2)],
}
SPECIALTIES = [1, 2]
EQUIPMENT = [1, 2]

PROPERTY_SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def minutes(count: int) -> timedelta:
    return timedelta(minutes=count)


def midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


# Strategies


@st.composite
def wall_spans(draw, grid: int = 10, shortest: int = 60, longest: int = 14 * 60) -> tuple[time, time]:
    """A start and end on the same day, on a `grid`-minute wall clock; nights are included on purpose."""
    last = 24 * 60 - grid
    start = draw(st.integers(0, (last - shortest) // grid)) * grid
    end = min(last, start + draw(st.integers(shortest // grid, longest // grid)) * grid)
    return time(start // 60, start % 60), time(end // 60, end % 60)


long_spans = wall_spans()
short_spans = wall_spans(shortest=10, longest=120)


@st.composite
def rules(draw, days: list[date], spans=long_spans) -> list[WeeklyRule]:
    """One wall-clock span on every day, or on one weekday, usually one of `days`."""
    start, end = draw(spans)
    one_day = draw(st.sampled_from([*(day.weekday() for day in days), *range(7)]))
    weekdays = [one_day] if draw(st.booleans()) else range(7)
    return [WeeklyRule(weekday, start, end) for weekday in weekdays]


def rule_lists(days: list[date], min_size: int, max_size: int, spans=long_spans):
    found = st.lists(rules(days, spans), min_size=min_size, max_size=max_size)
    return found.map(lambda nested: list(chain.from_iterable(nested)))


def sometimes(strategy, otherwise=None):
    """`strategy` about one time in three: every wish or filter at once would leave no slot to check.

    `otherwise` is the branch Hypothesis finds simplest, so it shrinks towards an unconstrained case.
    """
    return st.integers(0, 2).flatmap(lambda pick: strategy if pick == 2 else st.just(otherwise))


@st.composite
def plans(draw, days: list[date]) -> WeeklyPlan:
    valid_from = draw(sometimes(st.sampled_from(days)))
    valid_until = draw(sometimes(st.sampled_from([d for d in days if valid_from is None or d >= valid_from])))
    return WeeklyPlan(
        working=tuple(draw(rule_lists(days, 1, 4))),
        breaks=tuple(draw(rule_lists(days, 0, 2, short_spans))),
        valid_from=valid_from,
        valid_until=valid_until,
    )


@st.composite
def exceptions(draw, days: list[date]) -> DateException:
    kind = draw(st.sampled_from(ExceptionKind))
    day = draw(st.sampled_from(days))
    if kind is ExceptionKind.OFF and draw(sometimes(st.just(True), False)):
        return DateException(day, kind)
    start, end = draw(short_spans if kind is ExceptionKind.OFF else wall_spans())
    return DateException(day, kind, start, end)


@st.composite
def busy_times(draw, base: datetime, total_minutes: int, max_size: int = 4) -> tuple[Interval, ...]:
    """Appointments at any minute (so gaps off the step grid happen), 5 minutes to 2 hours long."""
    found = []
    for _ in range(draw(st.integers(0, max_size))):
        offset = draw(st.integers(-120, total_minutes))
        found.append(Interval(base + minutes(offset), base + minutes(offset + draw(st.integers(5, 120)))))
    return normalize(found)


@dataclass(frozen=True)
class Calendar:
    plans: tuple[WeeklyPlan, ...]
    exceptions: tuple[DateException, ...]
    holidays: frozenset[date]
    tz: ZoneInfo
    days: tuple[date, ...]

    def working(self) -> tuple[Interval, ...]:
        return working_time(self.plans, self.exceptions, self.holidays, self.tz, self.days[0], self.days[-1])


@st.composite
def calendars(draw, tz: ZoneInfo, days: list[date], holidays: frozenset[date]) -> Calendar:
    return Calendar(
        plans=tuple(draw(st.lists(plans(days), min_size=1, max_size=2))),
        exceptions=tuple(draw(st.lists(exceptions(days), max_size=3))),
        holidays=holidays,
        tz=tz,
        days=tuple(days),
    )


@st.composite
def zones_and_days(draw) -> tuple[ZoneInfo, list[date]]:
    name = draw(st.sampled_from(sorted(ANCHORS)))
    anchor = draw(st.sampled_from(ANCHORS[name]))
    first = anchor + timedelta(days=draw(st.integers(-2, 1)))
    count = draw(st.integers(1, 3))
    return ZoneInfo(name), [first + timedelta(days=index) for index in range(count)]


@dataclass(frozen=True)
class Dentist:
    schedule: DentistSchedule
    calendar: Calendar
    busy: tuple[Interval, ...]


@dataclass(frozen=True)
class Chair:
    schedule: ChairSchedule
    open: tuple[Interval, ...]
    busy: tuple[Interval, ...]


@dataclass(frozen=True)
class Scenario:
    request: SlotRequest
    dentists: tuple[Dentist, ...]
    chairs: tuple[Chair, ...]

    @property
    def dentist_schedules(self) -> list[DentistSchedule]:
        return [dentist.schedule for dentist in self.dentists]

    @property
    def chair_schedules(self) -> list[ChairSchedule]:
        return [chair.schedule for chair in self.chairs]


@st.composite
def wishes(draw, days: list[date], dentist_ids: list[int]) -> Wishes:
    nearby = [days[0] - timedelta(days=1), *days, days[-1] + timedelta(days=1)]
    windows = st.lists(wall_spans(grid=30), min_size=1, max_size=2)
    return Wishes(
        earliest=draw(sometimes(st.sampled_from(nearby))),
        latest=draw(sometimes(st.sampled_from(nearby))),
        weekdays=draw(sometimes(st.frozensets(st.integers(0, 6), min_size=1), frozenset())),
        windows=tuple(TimeWindow(*span) for span in draw(sometimes(windows, []))),
        preferred_dentist_ids=tuple(draw(st.permutations(dentist_ids))[: draw(st.integers(0, 3))]),
    )


@st.composite
def scenarios(draw) -> Scenario:
    tz, days = draw(zones_and_days())
    base = midnight(days[0], tz)
    total = len(days) * 24 * 60
    holidays = draw(sometimes(st.frozensets(st.sampled_from(days), max_size=1), frozenset()))
    open_all_day = (Interval(base - timedelta(days=1), base + timedelta(days=len(days) + 1)),)

    dentists = []
    for dentist_id in range(1, draw(st.integers(1, 3)) + 1):
        calendar = draw(calendars(tz, days, holidays))
        busy = draw(busy_times(base, total))
        schedule = DentistSchedule(
            dentist_id=dentist_id,
            specialty_ids=frozenset(draw(st.lists(st.sampled_from(SPECIALTIES), max_size=2))),
            free=subtract(calendar.working(), busy),
            default_chair_id=draw(st.none() | st.integers(1, 3)),
        )
        dentists.append(Dentist(schedule, calendar, busy))

    chairs = []
    for chair_id in range(1, draw(st.integers(1, 3)) + 1):
        opening = draw(sometimes(calendars(tz, days, frozenset()).map(Calendar.working), open_all_day))
        busy = draw(busy_times(base, total, max_size=3))
        equipment = frozenset(draw(st.lists(st.sampled_from(EQUIPMENT), max_size=2)))
        chairs.append(Chair(ChairSchedule(chair_id, equipment, subtract(opening, busy)), opening, busy))

    dentist_ids = [dentist.schedule.dentist_id for dentist in dentists]
    request = SlotRequest(
        duration=minutes(draw(st.integers(1, 24)) * 5),
        now=base + minutes(draw(st.integers(-60, 12 * 60))),
        tz=tz,
        specialty_id=draw(sometimes(st.sampled_from(SPECIALTIES))),
        equipment_ids=draw(sometimes(st.frozensets(st.sampled_from(EQUIPMENT), max_size=1), frozenset())),
        dentist_ids=draw(sometimes(st.frozensets(st.sampled_from(dentist_ids), min_size=1))),
        patient_busy=draw(busy_times(base, total, max_size=3)),
        wishes=draw(wishes(days, dentist_ids)),
        min_notice=minutes(draw(sometimes(st.integers(1, 300), 0))),
        horizon=minutes(draw(sometimes(st.integers(60, total), total))),
        step=minutes(draw(st.sampled_from([5, 7, 10, 15, 30]))),
        limit=None,
    )
    return Scenario(request, tuple(dentists), tuple(chairs))


# The oracle: the rules of find_slots as written, one candidate at a time, no cleverness.


def rank(request: SlotRequest, dentist_id: int) -> int:
    preferred = request.wishes.preferred_dentist_ids
    return preferred.index(dentist_id) if dentist_id in preferred else len(preferred)


def ordering(request: SlotRequest, slot: Slot) -> tuple[datetime, int, int]:
    return slot.start, rank(request, slot.dentist_id), slot.dentist_id


def eligible(request: SlotRequest, dentist: DentistSchedule) -> bool:
    return (request.specialty_id is None or request.specialty_id in dentist.specialty_ids) and (
        request.dentist_ids is None or dentist.dentist_id in request.dentist_ids
    )


def start_allowed(request: SlotRequest, span: Interval) -> bool:
    now = request.now.astimezone(UTC)
    if not now + request.min_notice <= span.start < now + request.horizon:
        return False
    if any(span.overlaps(busy) for busy in request.patient_busy):
        return False
    wishes, day = request.wishes, span.start.astimezone(request.tz).date()
    if wishes.earliest is not None and day < wishes.earliest:
        return False
    if wishes.latest is not None and day > wishes.latest:
        return False
    if wishes.weekdays and day.weekday() not in wishes.weekdays:
        return False
    if not wishes.windows:
        return True
    windows = (local_span(day, window.start, window.end, request.tz) for window in wishes.windows)
    return any(window is not None and window.contains(span) for window in windows)


def pick_chair(request: SlotRequest, dentist: DentistSchedule, chairs, span: Interval) -> int | None:
    fitting = [
        chair.chair_id
        for chair in chairs
        if request.equipment_ids <= chair.equipment_ids and any(free.contains(span) for free in chair.free)
    ]
    if dentist.default_chair_id in fitting:
        return dentist.default_chair_id
    return min(fitting, default=None)


def grid_in(interval: Interval, step: timedelta) -> list[datetime]:
    seconds = int(step.total_seconds())
    first = -(-int(interval.start.timestamp()) // seconds) * seconds
    last = int(interval.end.timestamp())
    return [datetime.fromtimestamp(moment, UTC) for moment in range(first, last, seconds)]


def oracle_slots(request: SlotRequest, dentists, chairs) -> list[Slot]:
    found = []
    for dentist in dentists:
        if not eligible(request, dentist):
            continue
        for free in dentist.free:
            for start in sorted({free.start, *grid_in(free, request.step)}):
                span = Interval(start, start + request.duration)
                if not free.contains(span) or not start_allowed(request, span):
                    continue
                chair_id = pick_chair(request, dentist, chairs, span)
                if chair_id is not None:
                    found.append(Slot(span.start, span.end, dentist.dentist_id, chair_id))
    return sorted(found, key=lambda slot: ordering(request, slot))


def oracle_check(request: SlotRequest, start: datetime, dentists, chairs) -> Slot | None:
    start = start.astimezone(UTC)  # adding to a local time is wall-clock arithmetic, wrong at a DST change
    span = Interval(start, start + request.duration)
    if not start_allowed(request, span):
        return None
    for dentist in sorted(dentists, key=lambda d: (rank(request, d.dentist_id), d.dentist_id)):
        if eligible(request, dentist) and any(free.contains(span) for free in dentist.free):
            chair_id = pick_chair(request, dentist, chairs, span)
            if chair_id is not None:
                return Slot(span.start, span.end, dentist.dentist_id, chair_id)
    return None


def is_working(calendar: Calendar, moment: datetime) -> bool:
    """Whether the plans say `moment` is worked, read directly from the rules of its local day."""
    day = moment.astimezone(calendar.tz).date()
    if day not in calendar.days:
        return False

    def inside(wall_spans) -> bool:
        spans = (local_span(day, start, end, calendar.tz) for start, end in wall_spans)
        return any(span is not None and span.start <= moment < span.end for span in spans)

    todays = [e for e in calendar.exceptions if e.day == day]
    if any(e.kind is ExceptionKind.OFF and e.start is None for e in todays):
        return False
    if inside((e.start, e.end) for e in todays if e.kind is ExceptionKind.OFF):
        return False
    if inside((e.start, e.end) for e in todays if e.kind is ExceptionKind.EXTRA):
        return True
    if day in calendar.holidays:
        return False
    for plan in calendar.plans:
        if (plan.valid_from or day) <= day <= (plan.valid_until or day):
            working = [(r.start, r.end) for r in plan.working if r.weekday == day.weekday()]
            breaks = [(r.start, r.end) for r in plan.breaks if r.weekday == day.weekday()]
            if inside(working) and not inside(breaks):
                return True
    return False


def samples(span: Interval) -> list[datetime]:
    """Instants that between them meet every 10-minute cell of span (wall rules are on a 10-minute grid)."""
    found = [span.start, span.end - minutes(1)]
    moment = span.start.replace(minute=span.start.minute // 10 * 10) + minutes(10)
    while moment < span.end:
        found.append(moment)
        moment += minutes(10)
    return found


# Slot search. Two tests check several properties each: a scenario costs more to draw than to check.


def assert_safe(scenario: Scenario, slots: tuple[Slot, ...]) -> None:
    """No slot overlaps busy time, and each lies in its dentist's working time and its chair's opening."""
    request = scenario.request
    by_dentist = {dentist.schedule.dentist_id: dentist for dentist in scenario.dentists}
    by_chair = {chair.schedule.chair_id: chair for chair in scenario.chairs}
    for slot in slots:
        span = Interval(slot.start, slot.end)
        dentist, chair = by_dentist[slot.dentist_id], by_chair[slot.chair_id]
        assert slot.end - slot.start == request.duration
        assert not any(span.overlaps(busy) for busy in (*dentist.busy, *chair.busy, *request.patient_busy))
        assert covers(dentist.calendar.working(), span)
        assert covers(chair.open, span)
        assert request.equipment_ids <= chair.schedule.equipment_ids
        assert request.specialty_id is None or request.specialty_id in dentist.schedule.specialty_ids


def assert_outside_breaks_leave_and_holidays(scenario: Scenario, slots: tuple[Slot, ...]) -> None:
    """Read straight from the rules, not from working_time: no break, leave or holiday inside a slot."""
    by_dentist = {dentist.schedule.dentist_id: dentist for dentist in scenario.dentists}
    for slot in slots[:25]:
        calendar = by_dentist[slot.dentist_id].calendar
        assert all(is_working(calendar, moment) for moment in samples(Interval(slot.start, slot.end)))


def assert_sorted_and_unique(request: SlotRequest, slots: tuple[Slot, ...]) -> None:
    keys = [ordering(request, slot) for slot in slots]
    assert keys == sorted(keys)
    assert len({(slot.start, slot.dentist_id) for slot in slots}) == len(slots)


@PROPERTY_SETTINGS
@given(scenarios(), st.integers(1, 12))
def test_find_slots(scenario: Scenario, limit: int):
    request, dentists, chairs = scenario.request, scenario.dentist_schedules, scenario.chair_schedules

    slots = find_slots(request, dentists, chairs)

    assert list(slots) == oracle_slots(request, dentists, chairs)
    assert_safe(scenario, slots)
    assert_outside_breaks_leave_and_holidays(scenario, slots)
    assert_sorted_and_unique(request, slots)
    assert find_slots(replace(request, limit=limit), dentists, chairs) == slots[:limit]


@PROPERTY_SETTINGS
@given(scenarios(), st.lists(st.integers(-60, 3 * 24 * 60), min_size=1, max_size=20))
def test_check_slot(scenario: Scenario, offsets: list[int]):
    request, dentists, chairs = scenario.request, scenario.dentist_schedules, scenario.chair_schedules
    first_at: dict[datetime, Slot] = {}
    for slot in find_slots(request, dentists, chairs):
        first_at.setdefault(slot.start, slot)

    # It accepts every slot find_slots found
    for start, slot in list(first_at.items())[:40]:
        checked = check_slot(request, start, dentists, chairs)
        assert checked is not None
        assert checked.end - checked.start == request.duration
        # check_slot sees every dentist free at `start`, also one for whom it is off his grid.
        assert ordering(request, checked) <= ordering(request, slot)
        if start.timestamp() % request.step.total_seconds() == 0:
            assert checked == slot

    # and at any minute it says what the rules say
    base = midnight(request.now.astimezone(request.tz).date(), request.tz)
    for offset in offsets:
        start = (base + minutes(offset)).astimezone(request.tz)  # local input works like UTC input
        assert check_slot(request, start, dentists, chairs) == oracle_check(request, start, dentists, chairs)


# Working time


@PROPERTY_SETTINGS
@given(zones_and_days().flatmap(lambda zd: calendars(zd[0], zd[1], frozenset(zd[1][:1]))))
def test_working_time_is_what_the_rules_say_at_every_instant(calendar: Calendar):
    working = calendar.working()

    assert normalize(working) == working
    moment = midnight(calendar.days[0], calendar.tz) - timedelta(hours=2)
    end = midnight(calendar.days[-1] + timedelta(days=1), calendar.tz) + timedelta(hours=2)
    while moment < end:
        worked = covers(working, Interval(moment, moment + minutes(1)))
        assert worked == is_working(calendar, moment), moment.astimezone(calendar.tz)
        moment += minutes(5)


# Interval algebra, against sets of minutes

BASE = datetime(2026, 3, 29, tzinfo=UTC)
ZONES = [UTC, ZoneInfo("Europe/Berlin"), ZoneInfo("America/New_York"), ZoneInfo("Asia/Tashkent")]


@st.composite
def intervals(draw) -> Interval:
    start = draw(st.integers(0, 300))
    length = draw(st.integers(1, 60))
    zone = draw(st.sampled_from(ZONES))  # the same instants written in other zones, around DST
    first, last = BASE + minutes(start), BASE + minutes(start + length)
    return Interval(first.astimezone(zone), last.astimezone(zone))


interval_lists = st.lists(intervals(), max_size=8)
normalized_lists = interval_lists.map(normalize)


def minute_set(items) -> set[int]:
    found: set[int] = set()
    for item in items:
        found |= set(range((item.start - BASE) // minutes(1), (item.end - BASE) // minutes(1)))
    return found


def is_normalized(items: tuple[Interval, ...]) -> bool:
    return all(left.end < right.start for left, right in pairwise(items))


ALGEBRA_SETTINGS = settings(max_examples=200, deadline=None)


@ALGEBRA_SETTINGS
@given(interval_lists)
def test_normalize_keeps_the_instants_and_is_idempotent(items):
    result = normalize(items)

    assert is_normalized(result)
    assert minute_set(result) == minute_set(items)
    assert normalize(result) == result
    assert all(item.start.tzinfo is UTC for item in result)


@ALGEBRA_SETTINGS
@given(interval_lists, interval_lists)
def test_union_covers_both(a, b):
    result = union(a, b)

    assert is_normalized(result)
    assert minute_set(result) == minute_set(a) | minute_set(b)
    assert all(covers(result, item) for item in (*a, *b))


@ALGEBRA_SETTINGS
@given(normalized_lists, normalized_lists)
def test_intersect_is_the_common_part(a, b):
    result = intersect(a, b)

    assert is_normalized(result)
    assert minute_set(result) == minute_set(a) & minute_set(b)
    assert result == intersect(b, a)


@ALGEBRA_SETTINGS
@given(normalized_lists, normalized_lists)
def test_subtract_removes_b_and_keeps_the_rest_of_a(a, b):
    result = subtract(a, b)

    assert is_normalized(result)
    assert intersect(result, b) == ()
    assert minute_set(result) == minute_set(a) - minute_set(b)
    assert union(result, intersect(a, b)) == a


@ALGEBRA_SETTINGS
@given(normalized_lists, intervals())
def test_clip_is_intersect_with_the_window(a, window):
    assert clip(a, window) == intersect(a, (window,))


@ALGEBRA_SETTINGS
@given(normalized_lists, intervals())
def test_covers_means_one_interval_contains_the_span(free, span):
    assert covers(free, span) == any(item.contains(span) for item in free)


@ALGEBRA_SETTINGS
@given(intervals(), intervals())
def test_overlap_is_a_nonempty_intersection(a, b):
    assert a.overlaps(b) == bool(intersect((a,), (b,)))
    assert a.overlaps(b) == b.overlaps(a)
