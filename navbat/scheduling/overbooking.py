"""Overbooking (issue 6 §5), pure: how likely a booked visit is to be missed, how many visits a dentist's
day may expect to lose, how many extra visits that allows, and where in his overtime they go.

No Django, no clock: booking.overbooking loads each visit's history and lead time and calls these.

- The chance a visit is missed is the patient's own no-show rate, smoothed towards the population's
  (`PRIOR_RATE`, worth `PRIOR_VISITS` visits: a patient with no history gets the population's rate, one with
  a long record his own), then scaled on the odds scale by the lead time: a visit booked today is rarely
  forgotten, one booked months ahead often is (`LEAD_TIME_ODDS`).
- A day's expected no-shows are the sum of its visits' chances.
- The k-th extra visit is allowed when the expected no-shows exceed `threshold + k − 1`: so
  `extra_allowed = min(most, ceil(expected − threshold))`, and none while expected ≤ threshold.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from navbat.scheduling.intervals import Interval, normalize

# About 9% of booked dental visits are missed (the clinics' own figures; the literature says 5–20%).
PRIOR_RATE = 0.09
# The prior counts as this many visits of the patient's own: two missed of three make his chance about 34%,
# none missed of twenty about 2%.
PRIOR_VISITS = 4.0
# Lead time (days from booking to visit) → factor on the odds of missing it, linear in between and flat
# beyond the ends: a week's lead is the reference.
LEAD_TIME_ODDS: tuple[tuple[float, float], ...] = ((0.0, 0.5), (7.0, 1.0), (30.0, 1.5), (90.0, 2.0))


@dataclass(frozen=True, slots=True)
class VisitHistory:
    """One booked visit: its patient's past no-shows and visits that took place, and how long before the
    visit it was booked."""

    no_shows: int
    visits: int
    lead_time: timedelta

    def __post_init__(self) -> None:
        if self.no_shows < 0 or self.visits < 0:
            raise ValueError("counts of past visits cannot be negative")


def history_rate(
    no_shows: int, visits: int, *, prior: float = PRIOR_RATE, weight: float = PRIOR_VISITS
) -> float:
    """The patient's no-show rate smoothed towards `prior`: (no-shows + prior·weight) / (all + weight)."""
    return (no_shows + prior * weight) / (no_shows + visits + weight)


def lead_time_factor(lead_time: timedelta) -> float:
    """The factor on the odds of a miss for this lead time (LEAD_TIME_ODDS); a negative lead counts as 0."""
    days = max(lead_time.total_seconds(), 0.0) / 86400
    points = LEAD_TIME_ODDS
    index = bisect_right([x for x, _ in points], days)
    if index == 0:
        return points[0][1]
    if index == len(points):
        return points[-1][1]
    (x0, y0), (x1, y1) = points[index - 1], points[index]
    return y0 + (y1 - y0) * (days - x0) / (x1 - x0)


def miss_probability(visit: VisitHistory, *, prior: float = PRIOR_RATE) -> float:
    """The chance this visit is missed, in [0, 1]: rises with the patient's no-shows and the lead time,
    falls with the visits he came to."""
    rate = history_rate(visit.no_shows, visit.visits, prior=prior)
    if rate >= 1.0:
        return 1.0
    odds = rate / (1.0 - rate) * lead_time_factor(visit.lead_time)
    return odds / (1.0 + odds)


def expected_no_shows(visits: Iterable[VisitHistory], *, prior: float = PRIOR_RATE) -> float:
    return math.fsum(miss_probability(visit, prior=prior) for visit in visits)


def extra_allowed(expected: float, *, threshold: float, most: int) -> int:
    """Extra visits a day may take: the k-th needs `expected > threshold + k − 1`; never more than `most`."""
    if most <= 0 or expected <= threshold:
        return 0
    return min(most, math.ceil(expected - threshold))


def overtime_window(working: Sequence[Interval], *, allowed: int, longest: timedelta) -> Interval | None:
    """Where a day's extra visits may go: from the end of its working time, `allowed` visits of the longest
    overbookable length at most. None when nobody works or nothing is allowed."""
    day = normalize(working)
    if not day or allowed <= 0 or longest <= timedelta(0):
        return None
    end = day[-1].end
    return Interval(end, end + longest * allowed)


def overtime_beyond(visits: Iterable[Interval], planned_end: datetime) -> timedelta:
    """How long the visits ran past the planned end of the day (overlapping visits counted once)."""
    past = normalize(
        Interval(max(visit.start, planned_end), visit.end) for visit in visits if visit.end > planned_end
    )
    return sum((span.duration for span in past), timedelta(0))
