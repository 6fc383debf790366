"""When messages go out: reminder and confirmation times, quiet hours, retry delays. Pure, like the rest.

`navbat.notify.services` loads a clinic's rules (NotifyPolicy), calls these with `now` and the time zone,
and stores the answers. Every datetime here is tz-aware; those returned are in UTC.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

# Channels that wake people up: held back during quiet hours. Push, Telegram and e-mail are silent enough
# (the phone decides), and a sign-in code is never held back: the patient is waiting for it.
QUIET_CHANNELS = frozenset({"sms", "call"})

# A message held by quiet hours must still come this long before the visit, else it goes out early.
LATEST_BEFORE_VISIT = timedelta(hours=1)
# Sent this long before quiet hours begin when it cannot wait for them to end.
BEFORE_QUIET = timedelta(minutes=30)

RETRY_FIRST = timedelta(seconds=30)
RETRY_FACTOR = 4
RETRY_CAP = timedelta(hours=2)


def parse_hours(text: str) -> tuple[int, ...]:
    """ "24,2" → (24, 2): distinct positive whole hours, the earliest reminder first. Bad parts are refused
    with ValueError (the policy form shows it)."""
    hours: set[int] = set()
    for part in text.replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        value = int(part)
        if not 0 < value <= 24 * 14:
            raise ValueError(part)
        hours.add(value)
    return tuple(sorted(hours, reverse=True))


def reminder_times(start: datetime, hours: Iterable[int]) -> list[tuple[int, datetime]]:
    """(hours, due time) of each reminder before a visit at `start`, the earliest first."""
    _aware(start)
    return [(h, (start - timedelta(hours=h)).astimezone(UTC)) for h in sorted(set(hours), reverse=True)]


def confirmation_time(start: datetime, hours: int) -> datetime | None:
    """When to ask the patient to confirm: `hours` before the visit; None when the clinic never asks."""
    _aware(start)
    return (start - timedelta(hours=hours)).astimezone(UTC) if hours > 0 else None


def still_ahead(times: Iterable[tuple[int, datetime]], now: datetime) -> list[tuple[int, datetime]]:
    """The planned times that are not yet past: a reminder that should have gone before the booking is
    not sent late."""
    return [(h, at) for h, at in times if at > now]


@dataclass(frozen=True)
class QuietHours:
    """Local wall-clock hours without SMS or calls, e.g. 21:00–08:00 (across midnight) or 13:00–14:00.
    Equal ends mean none."""

    begin: time
    end: time

    def periods_around(self, moment: datetime, tz: ZoneInfo) -> list[tuple[datetime, datetime]]:
        """The quiet periods (UTC) that start on the day before, the day of, and the day after `moment`."""
        if self.begin == self.end:
            return []
        day = moment.astimezone(tz).date()
        periods = []
        for offset in (-1, 0, 1):
            first = day + timedelta(days=offset)
            last = first if self.end > self.begin else first + timedelta(days=1)
            periods.append((_at(first, self.begin, tz), _at(last, self.end, tz)))
        return periods

    def period_of(self, moment: datetime, tz: ZoneInfo) -> tuple[datetime, datetime] | None:
        """The quiet period `moment` falls in, or None."""
        _aware(moment)
        for begin, end in self.periods_around(moment, tz):
            if begin <= moment < end:
                return begin, end
        return None

    def contains(self, moment: datetime, tz: ZoneInfo) -> bool:
        return self.period_of(moment, tz) is not None


def send_time(
    due: datetime,
    *,
    channel: str,
    quiet: QuietHours,
    tz: ZoneInfo,
    now: datetime,
    visit_start: datetime | None = None,
) -> datetime | None:
    """When a message due at `due` may go out on `channel`; None: not at all (skip it).

    Outside quiet hours, or on a channel they do not hold back: at `due`. Inside them it waits until they
    end — unless that is later than an hour before the visit; then it goes out before quiet hours begin
    (BEFORE_QUIET ahead of them, or now if that is already past), if they have not begun yet; else it is
    skipped: a reminder in the night for a visit at dawn helps nobody."""
    _aware(due)
    _aware(now)
    if channel not in QUIET_CHANNELS:
        return due.astimezone(UTC)
    period = quiet.period_of(due, tz)
    if period is None:
        return due.astimezone(UTC)
    begin, end = period
    deadline = None if visit_start is None else visit_start - LATEST_BEFORE_VISIT
    if deadline is None or end <= deadline:
        return end
    if now < begin:
        return max(begin - BEFORE_QUIET, now).astimezone(UTC)
    return None


def retry_delay(attempt: int) -> timedelta:
    """How long to wait after failed attempt number `attempt` (1, 2, …): 30 s, 2 min, 8 min, 32 min, 2 h,
    then 2 h each time. No jitter: the claim lease, not chance, keeps workers apart."""
    if attempt < 1:
        raise ValueError(attempt)
    # Stop multiplying once past the cap (no huge integers for a large attempt count).
    delay = RETRY_FIRST
    for _ in range(attempt - 1):
        delay *= RETRY_FACTOR
        if delay >= RETRY_CAP:
            return RETRY_CAP
    return min(delay, RETRY_CAP)


def _at(day: date, moment: time, tz: ZoneInfo) -> datetime:
    """A local wall-clock time on `day`, as a UTC instant. A time skipped by a DST change lands just after
    the change (zoneinfo's fold=0 reading); a repeated one is its first occurrence."""
    return datetime.combine(day, moment, tzinfo=tz).astimezone(UTC)


def _aware(moment: datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("naive datetime")
