"""The emergency reserve's time (issue 6 §3), pure: which part of a dentist's day is kept back, and when a
kept part opens. No Django: booking.reserve loads the policy and the working time and calls these."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from navbat.scheduling.intervals import Interval, normalize


def day_tail(working: Sequence[Interval], *, percent: int, step: timedelta) -> tuple[Interval, ...]:
    """The last `percent` of one day's working time (whole steps, rounded up): the latest slots of the day
    are the reserve, so that the morning stays bookable and an emergency of the day still finds time."""
    day = normalize(working)
    total = sum((span.duration for span in day), timedelta(0))
    if percent <= 0 or total <= timedelta(0):
        return ()
    wanted = total * percent / 100
    if step > timedelta(0):
        wanted = step * -(-wanted // step)  # ceiling to whole steps
    wanted = min(wanted, total)
    kept: list[Interval] = []
    for span in reversed(day):
        if wanted <= timedelta(0):
            break
        take = min(span.duration, wanted)
        kept.append(Interval(span.end - take, span.end))
        wanted -= take
    return normalize(kept)


def still_kept(reserve: Sequence[Interval], *, now: datetime, open_before: timedelta) -> tuple[Interval, ...]:
    """The parts of `reserve` not open to everyone yet at `now`: a part opens `open_before` its start."""
    return tuple(span for span in reserve if now < span.start - open_before)
