"""Half-open time intervals and the set algebra on sorted, disjoint tuples of them.

Every datetime inside the core is UTC. Python compares and subtracts two datetimes that share a
tzinfo by their wall clock, ignoring the UTC offset and `fold`; with local times that silently gives
wrong answers around DST changes (an hour that happens twice, a duration that is an hour off).
`Interval` therefore converts its ends to UTC on construction; callers localise for display.

"Normalized" means: sorted by start, and no two intervals overlap or touch.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import chain
from operator import attrgetter

_start = attrgetter("start")
_end = attrgetter("end")


def to_utc(moment: datetime) -> datetime:
    """The same instant in UTC; ValueError for a naive datetime (its instant is unknown)."""
    if moment.tzinfo is UTC:
        return moment
    if moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment.isoformat()}: a time zone is required")
    return moment.astimezone(UTC)


@dataclass(frozen=True, slots=True, order=True)
class Interval:
    """The half-open span [start, end) between two instants."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        start, end = to_utc(self.start), to_utc(self.end)
        if start >= end:
            raise ValueError(f"empty interval: start {start.isoformat()} is not before end {end.isoformat()}")
        # Frozen dataclass: the UTC conversion has to bypass __setattr__.
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "end", end)

    @property
    def duration(self) -> timedelta:
        return self.end - self.start

    def overlaps(self, other: Interval) -> bool:
        """True if the two share some instant; touching intervals do not."""
        return self.start < other.end and other.start < self.end

    def contains(self, other: Interval) -> bool:
        return self.start <= other.start and other.end <= self.end


def normalize(intervals: Iterable[Interval]) -> tuple[Interval, ...]:
    """Sort and merge every overlapping or touching pair."""
    merged: list[Interval] = []
    for interval in sorted(intervals, key=_start):
        if merged and interval.start <= merged[-1].end:
            if interval.end > merged[-1].end:
                merged[-1] = Interval(merged[-1].start, interval.end)
        else:
            merged.append(interval)
    return tuple(merged)


def union(a: Iterable[Interval], b: Iterable[Interval]) -> tuple[Interval, ...]:
    return normalize(chain(a, b))


def intersect(a: Sequence[Interval], b: Sequence[Interval]) -> tuple[Interval, ...]:
    """The instants in both; a and b normalized. Linear two-pointer walk."""
    result: list[Interval] = []
    i = j = 0
    while i < len(a) and j < len(b):
        left, right = a[i], b[j]
        start = max(left.start, right.start)
        end = min(left.end, right.end)
        if start < end:
            result.append(Interval(start, end))
        # Drop whichever ends first: it cannot meet anything further along the other list.
        if left.end < right.end:
            i += 1
        else:
            j += 1
    return tuple(result)


def subtract(a: Sequence[Interval], b: Sequence[Interval]) -> tuple[Interval, ...]:
    """The instants of a that are not in b; a and b normalized. Linear."""
    result: list[Interval] = []
    j = 0
    for interval in a:
        cursor = interval.start
        while j < len(b) and b[j].end <= cursor:
            j += 1
        # Not advancing j past the last hole: it may reach into the next interval of a.
        k = j
        while k < len(b) and b[k].start < interval.end:
            if b[k].start > cursor:
                result.append(Interval(cursor, b[k].start))
            cursor = max(cursor, b[k].end)
            k += 1
        if cursor < interval.end:
            result.append(interval if cursor == interval.start else Interval(cursor, interval.end))
    return tuple(result)


def clip(a: Sequence[Interval], window: Interval) -> tuple[Interval, ...]:
    """The parts of a inside window; a normalized. Bisects to the window, so O(log n + k)."""
    result: list[Interval] = []
    for index in range(bisect_right(a, window.start, key=_end), len(a)):
        interval = a[index]
        if interval.start >= window.end:
            break
        if window.contains(interval):
            result.append(interval)
        else:
            result.append(Interval(max(interval.start, window.start), min(interval.end, window.end)))
    return tuple(result)


def covers(free: Sequence[Interval], span: Interval) -> bool:
    """True if one interval of free contains span; free normalized. O(log n)."""
    # The only candidate is the last interval that starts at or before span.start.
    index = bisect_right(free, span.start, key=_start) - 1
    return index >= 0 and free[index].end >= span.end
