"""Weekly working plans in local wall-clock time, turned into absolute working intervals.

The pipeline per local day: weekly rules of the plans valid that day, minus their breaks; nothing on a
holiday; plus extra hours; minus time off. Wall-clock times become instants through `local_span`, the
one place that decides what a time means on a day when the clocks change.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from navbat.scheduling.intervals import Interval, normalize, subtract, union

_ONE_DAY = timedelta(days=1)


def _check_wall_span(start: time, end: time) -> None:
    if start.tzinfo is not None or end.tzinfo is not None:
        raise ValueError("wall-clock times must be naive: the plan's time zone gives them meaning")
    if start >= end:
        raise ValueError(f"start {start.isoformat()} must be before end {end.isoformat()}")


@dataclass(frozen=True, slots=True)
class WeeklyRule:
    """From start to end on every `weekday` (0 = Monday … 6 = Sunday), local wall-clock time."""

    weekday: int
    start: time
    end: time

    def __post_init__(self) -> None:
        if not 0 <= self.weekday <= 6:
            raise ValueError(f"weekday {self.weekday} is not in 0 (Monday) … 6 (Sunday)")
        # A night shift is two rules, one on each day: keeps every rule inside one local day.
        _check_wall_span(self.start, self.end)


@dataclass(frozen=True, slots=True)
class WeeklyPlan:
    working: tuple[WeeklyRule, ...]
    breaks: tuple[WeeklyRule, ...] = ()
    valid_from: date | None = None
    valid_until: date | None = None

    def __post_init__(self) -> None:
        if self.valid_from and self.valid_until and self.valid_from > self.valid_until:
            raise ValueError(f"valid_from {self.valid_from} is after valid_until {self.valid_until}")


class ExceptionKind(StrEnum):
    EXTRA = "extra"
    OFF = "off"


@dataclass(frozen=True, slots=True)
class DateException:
    """Extra hours or time off on one local date; OFF without times is the whole day."""

    day: date
    kind: ExceptionKind
    start: time | None = None
    end: time | None = None

    def __post_init__(self) -> None:
        # Accept the plain string too ("off"), as a model's choice field hands it over; reject others.
        object.__setattr__(self, "kind", ExceptionKind(self.kind))
        if self.start is None and self.end is None:
            if self.kind is ExceptionKind.EXTRA:
                raise ValueError("extra working hours need a start and an end")
            return
        if self.start is None or self.end is None:
            raise ValueError("give both start and end, or neither for a whole day off")
        _check_wall_span(self.start, self.end)

    @property
    def whole_day(self) -> bool:
        return self.start is None


def local_span(day: date, start: time, end: time, tz: ZoneInfo) -> Interval | None:
    """The instants between two wall-clock times of `day` in `tz`; None if no time passes between them.

    A wall time in the spring-forward gap or the autumn fold is read with fold=0, i.e. with the UTC
    offset in force before the change: a gap time lands just after the jump (02:30 → 03:30 in
    Berlin), a repeated time means its first occurrence. So 02:00-03:00 on the spring-forward night
    is empty, and 08:00-17:00 on either change day is the 9 hours a dentist actually works.
    """
    first = datetime.combine(day, start.replace(fold=0, tzinfo=None), tzinfo=tz).astimezone(UTC)
    last = datetime.combine(day, end.replace(fold=0, tzinfo=None), tzinfo=tz).astimezone(UTC)
    return Interval(first, last) if first < last else None


def _spans(day: date, rules: Sequence[WeeklyRule], tz: ZoneInfo) -> tuple[Interval, ...]:
    weekday = day.weekday()
    spans = (local_span(day, rule.start, rule.end, tz) for rule in rules if rule.weekday == weekday)
    return normalize(span for span in spans if span is not None)


def _valid_on(plan: WeeklyPlan, day: date) -> bool:
    return (plan.valid_from is None or plan.valid_from <= day) and (
        plan.valid_until is None or day <= plan.valid_until
    )


def _plan_time(plans: Sequence[WeeklyPlan], day: date, tz: ZoneInfo) -> tuple[Interval, ...]:
    """The weekly plans' working time on `day`; each plan's breaks cut only its own hours."""
    result: tuple[Interval, ...] = ()
    for plan in plans:
        if _valid_on(plan, day):
            result = union(result, subtract(_spans(day, plan.working, tz), _spans(day, plan.breaks, tz)))
    return result


def _exception_spans(exceptions: Sequence[DateException], tz: ZoneInfo) -> tuple[Interval, ...]:
    spans = (
        local_span(exception.day, exception.start, exception.end, tz)
        for exception in exceptions
        if exception.start is not None and exception.end is not None
    )
    return normalize(span for span in spans if span is not None)


def _days(first_day: date, last_day: date) -> Iterator[date]:
    day = first_day
    while day <= last_day:
        yield day
        day += _ONE_DAY


def working_time(
    plans: Sequence[WeeklyPlan],
    exceptions: Sequence[DateException],
    holidays: Collection[date],
    tz: ZoneInfo,
    first_day: date,
    last_day: date,
) -> tuple[Interval, ...]:
    """Working time for every local day from first_day to last_day, both inclusive; normalized.

    OFF wins over EXTRA: a closure or a sick day is not undone by extra hours planned before it.
    """
    by_day: defaultdict[date, list[DateException]] = defaultdict(list)
    for exception in exceptions:
        by_day[exception.day].append(exception)
    result: list[Interval] = []
    for day in _days(first_day, last_day):
        todays = by_day.get(day, [])
        if any(e.kind is ExceptionKind.OFF and e.whole_day for e in todays):
            continue
        base = () if day in holidays else _plan_time(plans, day, tz)
        extra = _exception_spans([e for e in todays if e.kind is ExceptionKind.EXTRA], tz)
        off = _exception_spans([e for e in todays if e.kind is ExceptionKind.OFF], tz)
        result.extend(subtract(union(base, extra), off))
    return normalize(result)
