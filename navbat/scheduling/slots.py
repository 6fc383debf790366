"""Slot search: when can a dentist, a fitting chair and the patient all be free for one visit.

Everything about *when a visit may start* (notice, horizon, wished dates, weekdays, time windows,
some chair with the equipment being free for the whole visit) becomes normalized ranges of allowed
starts, shared by all dentists. Each dentist then yields his candidate starts in time order, and a
heap merges the dentists, so asking for the earliest ten stops at the tenth answer.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from heapq import heapify, heappop, heapreplace
from operator import attrgetter
from zoneinfo import ZoneInfo

from navbat.scheduling.intervals import Interval, clip, covers, intersect, normalize, subtract, to_utc
from navbat.scheduling.plans import local_span

_start = attrgetter("start")
_end = attrgetter("end")

# Datetimes have microsecond resolution, so "start <= last" is "start < last + 1 µs": that turns the
# closed range of possible starts into a half-open Interval the algebra understands.
_MICROSECOND = timedelta(microseconds=1)
_ONE_DAY = timedelta(days=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class DentistSchedule:
    dentist_id: int
    specialty_ids: frozenset[int]
    free: tuple[Interval, ...]
    default_chair_id: int | None = None


@dataclass(frozen=True, slots=True)
class ChairSchedule:
    chair_id: int
    equipment_ids: frozenset[int]
    free: tuple[Interval, ...]


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """Local wall-clock times; a slot must lie entirely inside [start, end] of its local day."""

    start: time
    end: time

    def __post_init__(self) -> None:
        if self.start >= self.end:
            raise ValueError(
                f"window start {self.start.isoformat()} must be before end {self.end.isoformat()}"
            )


@dataclass(frozen=True, slots=True)
class Wishes:
    earliest: date | None = None
    latest: date | None = None
    weekdays: frozenset[int] = frozenset()
    windows: tuple[TimeWindow, ...] = ()
    preferred_dentist_ids: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class SlotRequest:
    duration: timedelta
    now: datetime
    tz: ZoneInfo
    specialty_id: int | None = None
    equipment_ids: frozenset[int] = frozenset()
    dentist_ids: frozenset[int] | None = None
    patient_busy: tuple[Interval, ...] = ()
    wishes: Wishes = Wishes()
    min_notice: timedelta = timedelta(0)
    horizon: timedelta = timedelta(days=60)
    step: timedelta = timedelta(minutes=15)
    limit: int | None = 10

    def __post_init__(self) -> None:
        to_utc(self.now)  # raises for a naive `now`
        if self.duration <= timedelta(0):
            raise ValueError(f"duration must be positive, not {self.duration}")
        if self.step <= timedelta(0):
            raise ValueError(f"step must be positive, not {self.step}")
        if self.limit is not None and self.limit < 0:
            raise ValueError(f"limit must be None or at least 0, not {self.limit}")


@dataclass(frozen=True, slots=True, order=True)
class Slot:
    start: datetime
    end: datetime
    dentist_id: int
    chair_id: int


@dataclass(frozen=True, slots=True)
class _Chairs:
    """The chairs with the requested equipment, lowest chair_id first."""

    ordered: tuple[ChairSchedule, ...]
    by_id: dict[int, ChairSchedule]

    def pick(self, default_chair_id: int | None, span: Interval) -> int | None:
        """The dentist's own chair if it is free for span, else the free chair with the lowest id."""
        own = self.by_id.get(default_chair_id) if default_chair_id is not None else None
        if own is not None and covers(own.free, span):
            return own.chair_id
        for chair in self.ordered:
            if chair is not own and covers(chair.free, span):
                return chair.chair_id
        return None


def _fitting_chairs(request: SlotRequest, chairs: Iterable[ChairSchedule]) -> _Chairs:
    ordered = sorted(
        (chair for chair in chairs if request.equipment_ids <= chair.equipment_ids),
        key=attrgetter("chair_id"),
    )
    # Reversed so that with a repeated chair_id the first one in chair order wins.
    return _Chairs(tuple(ordered), {chair.chair_id: chair for chair in reversed(ordered)})


class _Starts:
    """The instants at which a visit may start, as far as the request and the chairs go.

    The chair part is built for one UTC day at a time, the first time a dentist asks about that day,
    and then shared by all dentists: the earliest ten slots rarely need more than a day or two, and
    when the one chair with the X-ray is booked for weeks, those weeks are passed over once, not
    once per dentist and candidate.
    """

    __slots__ = ("_by_day", "_chairs", "_duration", "_first_day", "_last_day", "allowed")

    def __init__(self, allowed: tuple[Interval, ...], chairs: _Chairs, duration: timedelta) -> None:
        self.allowed = allowed  # normalized ranges of starts the request allows
        self._chairs = chairs
        self._duration = duration
        self._by_day: dict[int, tuple[Interval, ...]] = {}
        self._first_day = _day_number(allowed[0].start) if allowed else 0
        self._last_day = _day_number(allowed[-1].end - _MICROSECOND) if allowed else -1

    def first_from(self, moment: datetime) -> datetime | None:
        """The earliest start at or after moment, or None."""
        number = max(_day_number(moment), self._first_day)
        while number <= self._last_day:
            ranges = self._day(number)
            index = bisect_right(ranges, moment, key=_end)
            if index < len(ranges):
                return max(ranges[index].start, moment)
            number += 1
        return None

    def within(self, span: Interval) -> Iterator[Interval]:
        """The ranges of starts inside span, in time order (cut at UTC midnights)."""
        number = max(_day_number(span.start), self._first_day)
        last = min(_day_number(span.end - _MICROSECOND), self._last_day)
        while number <= last:
            yield from clip(self._day(number), span)
            number += 1

    def _day(self, number: int) -> tuple[Interval, ...]:
        ranges = self._by_day.get(number)
        if ranges is None:
            start = _EPOCH + timedelta(days=number)
            allowed = clip(self.allowed, Interval(start, start + _ONE_DAY))
            ranges = intersect(allowed, self._chair_starts(allowed)) if allowed else ()
            self._by_day[number] = ranges
        return ranges

    def _chair_starts(self, allowed: tuple[Interval, ...]) -> tuple[Interval, ...]:
        """Starts within the hull of allowed at which some fitting chair is free for the whole visit."""
        first, stop, duration = allowed[0].start, allowed[-1].end, self._duration
        found = []
        for chair in self._chairs.ordered:
            free = chair.free
            # From the first interval that is free for a visit starting at `first` or later.
            for index in range(bisect_left(free, first + duration, key=_end), len(free)):
                interval = free[index]
                if interval.start >= stop:
                    break
                if interval.duration >= duration:
                    found.append(Interval(interval.start, interval.end - duration + _MICROSECOND))
        return normalize(found)


@dataclass(frozen=True, slots=True)
class _Search:
    """What one request needs at every candidate, computed once."""

    duration: timedelta
    step_micros: int
    starts: _Starts
    patient_busy: tuple[Interval, ...]
    chairs: _Chairs
    ranks: dict[int, int]

    def rank(self, dentist_id: int) -> int:
        # Not listed = after every listed dentist.
        return self.ranks.get(dentist_id, len(self.ranks))


def _day_number(moment: datetime) -> int:
    """Whole UTC days since the Unix epoch."""
    return (moment - _EPOCH).days


def _local_date(moment: datetime, tz: ZoneInfo) -> date:
    return moment.astimezone(tz).date()


def _local_midnight(day: date, tz: ZoneInfo) -> datetime:
    # fold=0 as in local_span: where midnight falls in a DST gap, the day begins when the gap ends.
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def _day_wished(wishes: Wishes, day: date) -> bool:
    return (
        (wishes.earliest is None or wishes.earliest <= day)
        and (wishes.latest is None or day <= wishes.latest)
        and (not wishes.weekdays or day.weekday() in wishes.weekdays)
    )


def _day_starts(request: SlotRequest, day: date) -> list[Interval]:
    """Allowed start ranges of one wished local day."""
    tz = request.tz
    if not request.wishes.windows:
        return [Interval(_local_midnight(day, tz), _local_midnight(day + _ONE_DAY, tz))]
    ranges = []
    for window in request.wishes.windows:
        span = local_span(day, window.start, window.end, tz)
        # The whole visit must fit one window, so its start may be at most `duration` before the end.
        if span is not None and span.duration >= request.duration:
            ranges.append(Interval(span.start, span.end - request.duration + _MICROSECOND))
    return ranges


def _allowed_starts(request: SlotRequest, first_day: date, last_day: date) -> tuple[Interval, ...]:
    """Where a slot may start, from notice, horizon, wished dates, weekdays and windows."""
    now = to_utc(request.now)
    earliest, latest = now + request.min_notice, now + request.horizon
    if earliest >= latest:
        return ()
    wishes = request.wishes
    day = max(first_day, wishes.earliest) if wishes.earliest else first_day
    last_day = min(last_day, wishes.latest) if wishes.latest else last_day
    ranges: list[Interval] = []
    while day <= last_day:
        if _day_wished(wishes, day):
            ranges.extend(_day_starts(request, day))
        day += _ONE_DAY
    return intersect(normalize(ranges), (Interval(earliest, latest),))


def _prepare(
    request: SlotRequest, chairs: Sequence[ChairSchedule], first_day: date, last_day: date
) -> _Search:
    # dict.fromkeys drops repeats, so ranks are 0 … n-1 and n is the rank of everyone not listed.
    listed = dict.fromkeys(request.wishes.preferred_dentist_ids)
    ranks = {dentist_id: rank for rank, dentist_id in enumerate(listed)}
    fitting = _fitting_chairs(request, chairs)
    return _Search(
        duration=request.duration,
        step_micros=request.step // _MICROSECOND,
        starts=_Starts(_allowed_starts(request, first_day, last_day), fitting, request.duration),
        patient_busy=request.patient_busy,
        chairs=fitting,
        ranks=ranks,
    )


def _eligible(request: SlotRequest, dentists: Iterable[DentistSchedule]) -> list[DentistSchedule]:
    return [
        dentist
        for dentist in dentists
        if (request.specialty_id is None or request.specialty_id in dentist.specialty_ids)
        and (request.dentist_ids is None or dentist.dentist_id in request.dentist_ids)
    ]


def _overlapping(busy: tuple[Interval, ...], span: Interval) -> tuple[Interval, ...]:
    """The intervals of normalized busy that overlap span. O(log n + k)."""
    return busy[bisect_right(busy, span.start, key=_end) : bisect_left(busy, span.end, key=_start)]


def _contains_instant(ranges: Sequence[Interval], moment: datetime) -> bool:
    index = bisect_right(ranges, moment, key=_start) - 1
    return index >= 0 and moment < ranges[index].end


def _micros(moment: datetime) -> int:
    return (moment - _EPOCH) // _MICROSECOND


def _grid(first: datetime, stop: datetime, step_micros: int) -> Iterator[datetime]:
    """The instants in [first, stop) that are whole steps after the Unix epoch (integer maths, exact)."""
    moment = _EPOCH + timedelta(microseconds=-(-_micros(first) // step_micros) * step_micros)
    step = timedelta(microseconds=step_micros)
    while moment < stop:
        yield moment
        moment += step


def _starts_in(free: Interval, search: _Search) -> Iterator[datetime]:
    """Candidate starts inside one free interval, in time order."""
    for piece in subtract((free,), _overlapping(search.patient_busy, free)):
        if piece.duration < search.duration:
            continue
        possible = Interval(piece.start, piece.end - search.duration + _MICROSECOND)
        for starts in search.starts.within(possible):
            # The interval's own start is a candidate even off the grid: it fills the gap that an
            # appointment ending at 09:20 leaves before the next grid time.
            if starts.start == free.start and _micros(free.start) % search.step_micros:
                yield free.start
            yield from _grid(starts.start, starts.end, search.step_micros)


def _candidates(dentist: DentistSchedule, search: _Search) -> Iterator[tuple[datetime, int]]:
    """One dentist's slot starts in time order, each with the chair it gets."""
    free = dentist.free
    index = 0
    while index < len(free):
        interval = free[index]
        first = search.starts.first_from(interval.start)
        if first is None:
            return
        if first >= interval.end:
            # Nothing may start inside this interval (another weekday, no chair free): jump ahead.
            index = bisect_right(free, first, lo=index + 1, key=_end)
            continue
        for start in _starts_in(interval, search):
            chair_id = search.chairs.pick(dentist.default_chair_id, Interval(start, start + search.duration))
            if chair_id is not None:  # always: the start ranges hold only starts with a free chair
                yield start, chair_id
        index += 1


# (start, rank, dentist_id, tie-breaker, chair_id, the rest of that dentist's candidates)
_Entry = tuple[datetime, int, int, int, int, Iterator[tuple[datetime, int]]]


def find_slots(
    request: SlotRequest, dentists: Sequence[DentistSchedule], chairs: Sequence[ChairSchedule]
) -> tuple[Slot, ...]:
    """Free slots ordered by (start, preferred rank, dentist_id), at most request.limit of them."""
    if request.limit == 0:
        return ()
    now = to_utc(request.now)
    first_day = _local_date(now + request.min_notice, request.tz)
    last_day = _local_date(now + request.horizon - _MICROSECOND, request.tz)
    search = _prepare(request, chairs, first_day, last_day)
    heap: list[_Entry] = []
    for order, dentist in enumerate(_eligible(request, dentists)):
        candidates = _candidates(dentist, search)
        first = next(candidates, None)
        if first is not None:
            start, chair_id = first
            heap.append(
                (start, search.rank(dentist.dentist_id), dentist.dentist_id, order, chair_id, candidates)
            )
    heapify(heap)
    return _merge(heap, request.duration, request.limit)


def _merge(heap: list[_Entry], duration: timedelta, limit: int | None) -> tuple[Slot, ...]:
    """Pop the earliest candidate of all dentists until `limit` slots are found."""
    slots: list[Slot] = []
    while heap and (limit is None or len(slots) < limit):
        start, rank, dentist_id, order, chair_id, candidates = heap[0]
        # The same dentist twice in the input would give the same slot twice; equal keys pop together.
        if not slots or slots[-1].start != start or slots[-1].dentist_id != dentist_id:
            slots.append(Slot(start, start + duration, dentist_id, chair_id))
        following = next(candidates, None)
        if following is None:
            heappop(heap)
        else:
            heapreplace(heap, (following[0], rank, dentist_id, order, following[1], candidates))
    return tuple(slots)


def check_slot(
    request: SlotRequest,
    start: datetime,
    dentists: Sequence[DentistSchedule],
    chairs: Sequence[ChairSchedule],
) -> Slot | None:
    """The slot at exactly `start` (off the step grid too) by find_slots' rules, or None."""
    moment = to_utc(start)  # in UTC before adding: local-time arithmetic is off by an hour at DST
    span = Interval(moment, moment + request.duration)
    day = _local_date(moment, request.tz)
    search = _prepare(request, chairs, day - _ONE_DAY, day + _ONE_DAY)
    if not _contains_instant(search.starts.allowed, moment) or _overlapping(request.patient_busy, span):
        return None
    by_rank = sorted(_eligible(request, dentists), key=lambda d: (search.rank(d.dentist_id), d.dentist_id))
    for dentist in by_rank:
        if covers(dentist.free, span):
            chair_id = search.chairs.pick(dentist.default_chair_id, span)
            if chair_id is not None:
                return Slot(span.start, span.end, dentist.dentist_id, chair_id)
    return None
