"""When messages go out (navbat.scheduling.messages): reminders, confirmation, quiet hours, retry delays.

Pure functions, checked by example and by property across time zones with DST changes."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from navbat.scheduling.messages import (
    BEFORE_QUIET,
    LATEST_BEFORE_VISIT,
    RETRY_CAP,
    QuietHours,
    confirmation_time,
    parse_hours,
    reminder_times,
    retry_delay,
    send_time,
    still_ahead,
)

TASHKENT = ZoneInfo("Asia/Tashkent")
NIGHT = QuietHours(time(21), time(8))
# Zones with DST changes (and one without), where a quiet hour may be skipped or repeated.
ZONES = [
    ZoneInfo(name) for name in ("Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Tashkent")
]


def local(day: int, hour: int, minute: int = 0, tz: ZoneInfo = TASHKENT) -> datetime:
    return datetime(2027, 3, day, hour, minute, tzinfo=tz)


# Reminder and confirmation times


def test_reminders_come_24_and_2_hours_before_the_visit_the_earliest_first() -> None:
    start = local(10, 9, 30)

    assert reminder_times(start, parse_hours("2, 24")) == [
        (24, local(9, 9, 30).astimezone(UTC)),
        (2, local(10, 7, 30).astimezone(UTC)),
    ]


def test_a_reminder_already_past_when_booking_is_not_planned() -> None:
    start = local(10, 9, 30)
    booked_at = local(10, 6, 0)  # 3.5 hours before: the 24-hour reminder is past

    assert [hours for hours, _ in still_ahead(reminder_times(start, (24, 2)), booked_at)] == [2]


def test_the_confirmation_request_comes_48_hours_before_or_never() -> None:
    start = local(10, 9, 30)

    assert confirmation_time(start, 48) == local(8, 9, 30).astimezone(UTC)
    assert confirmation_time(start, 0) is None


@pytest.mark.parametrize("text", ["24,x", "0", "-2", "999"])
def test_unreadable_reminder_hours_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_hours(text)


def test_reminder_hours_are_read_loosely() -> None:
    assert parse_hours(" 2;24,,24 ") == (24, 2)
    assert parse_hours("") == ()


# Quiet hours


def test_an_sms_due_at_night_waits_until_morning() -> None:
    due = local(9, 23, 0)

    at = send_time(due, channel="sms", quiet=NIGHT, tz=TASHKENT, now=due, visit_start=local(10, 14, 0))

    assert at == local(10, 8, 0).astimezone(UTC)


@pytest.mark.parametrize("channel", ["telegram", "push", "email"])
def test_silent_channels_are_not_held_back(channel: str) -> None:
    due = local(9, 23, 0)

    assert send_time(due, channel=channel, quiet=NIGHT, tz=TASHKENT, now=due) == due.astimezone(UTC)


def test_a_reminder_for_an_early_visit_goes_before_quiet_hours_begin() -> None:
    # Visit at 08:30: the 2-hour reminder would be due at 06:30, and morning (08:00) is too late.
    now = local(9, 18, 0)

    at = send_time(
        local(10, 6, 30), channel="sms", quiet=NIGHT, tz=TASHKENT, now=now, visit_start=local(10, 8, 30)
    )

    assert at == (local(9, 21, 0) - BEFORE_QUIET).astimezone(UTC)


def test_a_reminder_that_can_neither_wait_nor_go_early_is_skipped() -> None:
    now = local(9, 22, 0)  # booked in the night for a visit at 08:30

    at = send_time(
        local(10, 6, 30), channel="call", quiet=NIGHT, tz=TASHKENT, now=now, visit_start=local(10, 8, 30)
    )

    assert at is None


def test_quiet_hours_within_a_day_and_none() -> None:
    lunch = QuietHours(time(13), time(14))

    assert lunch.contains(local(9, 13, 30), TASHKENT)
    assert not lunch.contains(local(9, 14, 0), TASHKENT)
    assert not QuietHours(time(8), time(8)).contains(local(9, 8, 0), TASHKENT)


# Properties across DST zones

moments = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
)
quiet_hours = st.builds(
    QuietHours,
    st.times().map(lambda t: t.replace(second=0, microsecond=0)),
    st.times().map(lambda t: t.replace(second=0, microsecond=0)),
)


@settings(max_examples=300, deadline=None)
@given(
    due=moments,
    ahead=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=3)),
    lead=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=2)),
    quiet=quiet_hours,
    tz=st.sampled_from(ZONES),
    channel=st.sampled_from(["sms", "call", "telegram", "email", "push"]),
)
def test_a_message_is_never_sent_in_quiet_hours_nor_held_past_the_last_hour_before_the_visit(
    due: datetime, ahead: timedelta, lead: timedelta, quiet: QuietHours, tz: ZoneInfo, channel: str
) -> None:
    now = due - lead
    visit = due + ahead
    at = send_time(due, channel=channel, quiet=quiet, tz=tz, now=now, visit_start=visit)

    if channel in ("telegram", "email", "push") or not quiet.contains(due, tz):
        assert at == due  # not held back
        return
    if at is None:
        # Skipped only when quiet hours had already begun and end too late.
        begin, end = quiet.period_of(due, tz) or (due, due)
        assert begin <= now and end > visit - LATEST_BEFORE_VISIT
        return
    assert not quiet.contains(at, tz)
    if at > due:
        assert at <= visit - LATEST_BEFORE_VISIT  # held, but still an hour before the visit
    else:
        assert now <= at < due  # sent early, before quiet hours began


@settings(max_examples=200, deadline=None)
@given(moment=moments, quiet=quiet_hours, tz=st.sampled_from(ZONES))
def test_the_quiet_period_found_contains_the_moment_and_ends_at_the_local_end_time(
    moment: datetime, quiet: QuietHours, tz: ZoneInfo
) -> None:
    period = quiet.period_of(moment, tz)
    if period is None:
        return
    begin, end = period
    assert begin <= moment < end
    assert end - begin <= timedelta(hours=26)  # a day at most, plus a DST change


@settings(max_examples=100, deadline=None)
@given(start=moments, hours=st.sets(st.integers(1, 24 * 14), min_size=1, max_size=5))
def test_reminders_are_before_the_visit_by_exactly_their_hours(start: datetime, hours: set[int]) -> None:
    times = reminder_times(start.astimezone(TASHKENT), hours)

    assert [h for h, _ in times] == sorted(hours, reverse=True)
    assert all(start - at == timedelta(hours=h) for h, at in times)
    assert [at for _, at in times] == sorted(at for _, at in times)


# Retry delays


def test_retry_delays_grow_fourfold_from_30_seconds_up_to_a_cap() -> None:
    assert [retry_delay(n) for n in range(1, 7)] == [
        timedelta(seconds=30),
        timedelta(minutes=2),
        timedelta(minutes=8),
        timedelta(minutes=32),
        RETRY_CAP,
        RETRY_CAP,
    ]


@given(st.integers(1, 10_000))
def test_retry_delays_never_shrink_nor_pass_the_cap(attempt: int) -> None:
    assert retry_delay(attempt) <= retry_delay(attempt + 1) <= RETRY_CAP


def test_a_naive_datetime_is_refused() -> None:
    with pytest.raises(ValueError):
        send_time(datetime(2027, 3, 9, 23), channel="sms", quiet=NIGHT, tz=TASHKENT, now=local(9, 20))
