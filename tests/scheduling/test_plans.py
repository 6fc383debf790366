from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from navbat.scheduling import (
    DateException,
    ExceptionKind,
    Interval,
    WeeklyPlan,
    WeeklyRule,
    local_span,
    working_time,
)

TASHKENT = ZoneInfo("Asia/Tashkent")
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")

MONDAY = date(2026, 3, 2)
TUESDAY = date(2026, 3, 3)
WEDNESDAY = date(2026, 3, 4)
FRIDAY = date(2026, 3, 6)
SUNDAY = date(2026, 3, 8)


def local(day: date, hour: int, minute: int = 0, tz: ZoneInfo = TASHKENT) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=tz)


def hours(day: date, start: int, end: int, tz: ZoneInfo = TASHKENT) -> Interval:
    return Interval(local(day, start, tz=tz), local(day, end, tz=tz))


def weekdays(start: int, end: int, days: range = range(5)) -> tuple[WeeklyRule, ...]:
    return tuple(WeeklyRule(weekday, time(start), time(end)) for weekday in days)


NINE_TO_FIVE = WeeklyPlan(working=weekdays(9, 17), breaks=weekdays(13, 14))


def work(
    plans=(NINE_TO_FIVE,), exceptions=(), holidays=(), first=MONDAY, last=MONDAY, tz=TASHKENT
) -> tuple[Interval, ...]:
    return working_time(plans, exceptions, frozenset(holidays), tz, first, last)


# Validation


def test_a_rule_must_end_after_it_starts():
    with pytest.raises(ValueError):
        WeeklyRule(0, time(17), time(9))
    with pytest.raises(ValueError):
        WeeklyRule(0, time(9), time(9))


def test_a_rule_needs_a_real_weekday():
    with pytest.raises(ValueError):
        WeeklyRule(7, time(9), time(17))


def test_extra_hours_need_both_times():
    with pytest.raises(ValueError):
        DateException(MONDAY, ExceptionKind.EXTRA)
    with pytest.raises(ValueError):
        DateException(MONDAY, ExceptionKind.OFF, start=time(9))


def test_an_exception_kind_may_come_as_its_string_value():
    assert DateException(MONDAY, "off").kind is ExceptionKind.OFF  # type: ignore[arg-type]


# local_span


def test_local_span_is_the_absolute_span_of_the_wall_clock_times():
    assert local_span(MONDAY, time(9), time(17), TASHKENT) == Interval(
        datetime(2026, 3, 2, 4, tzinfo=UTC), datetime(2026, 3, 2, 12, tzinfo=UTC)
    )


def test_local_span_across_the_spring_forward_gap_is_an_hour_shorter():
    spring = date(2026, 3, 29)

    night = local_span(spring, time(1), time(4), BERLIN)

    assert night is not None
    assert night.duration == timedelta(hours=2)


def test_local_span_inside_the_spring_forward_gap_is_empty():
    assert local_span(date(2026, 3, 29), time(2), time(3), BERLIN) is None


def test_local_span_reads_a_gap_time_as_just_after_the_jump():
    night = local_span(date(2026, 3, 29), time(2, 30), time(4), BERLIN)

    assert night is not None
    assert night.start == datetime(2026, 3, 29, 3, 30, tzinfo=BERLIN)


def test_local_span_across_the_autumn_fold_is_an_hour_longer():
    night = local_span(date(2026, 10, 25), time(1), time(4), BERLIN)

    assert night is not None
    assert night.duration == timedelta(hours=4)


def test_local_span_reads_a_repeated_time_as_its_first_occurrence():
    night = local_span(date(2026, 10, 25), time(2, 30), time(4), BERLIN)

    assert night is not None
    assert night.start == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)


# working_time


def test_a_working_day_minus_its_break():
    assert work() == (hours(MONDAY, 9, 13), hours(MONDAY, 14, 17))


def test_nothing_on_a_day_without_rules():
    assert work(first=SUNDAY, last=SUNDAY) == ()


def test_a_week_gives_five_working_days():
    week = work(first=MONDAY, last=SUNDAY)

    assert len(week) == 10
    assert sum((interval.duration for interval in week), timedelta()) == timedelta(hours=35)


def test_a_holiday_gives_no_working_time():
    assert work(holidays=[MONDAY], first=MONDAY, last=TUESDAY) == (
        hours(TUESDAY, 9, 13),
        hours(TUESDAY, 14, 17),
    )


def test_extra_hours_on_a_holiday_are_worked():
    saturday_shift = DateException(MONDAY, ExceptionKind.EXTRA, time(10), time(12))

    assert work(exceptions=[saturday_shift], holidays=[MONDAY]) == (hours(MONDAY, 10, 12),)


def test_extra_hours_extend_the_day_and_may_fill_the_break():
    evening = DateException(MONDAY, ExceptionKind.EXTRA, time(17), time(19))
    lunch = DateException(MONDAY, ExceptionKind.EXTRA, time(13), time(14))

    assert work(exceptions=[evening, lunch]) == (hours(MONDAY, 9, 19),)


def test_leave_removes_its_hours():
    dentist_visit = DateException(MONDAY, ExceptionKind.OFF, time(10), time(11))

    assert work(exceptions=[dentist_visit]) == (
        hours(MONDAY, 9, 10),
        hours(MONDAY, 11, 13),
        hours(MONDAY, 14, 17),
    )


def test_leave_wins_over_extra_hours():
    extra = DateException(MONDAY, ExceptionKind.EXTRA, time(17), time(20))
    leave = DateException(MONDAY, ExceptionKind.OFF, time(16), time(18))

    assert work(exceptions=[extra, leave]) == (
        hours(MONDAY, 9, 13),
        hours(MONDAY, 14, 16),
        hours(MONDAY, 18, 20),
    )


def test_a_whole_day_closure_removes_everything_including_extra_hours():
    extra = DateException(MONDAY, ExceptionKind.EXTRA, time(17), time(20))
    closure = DateException(MONDAY, ExceptionKind.OFF)

    assert work(exceptions=[extra, closure], first=MONDAY, last=TUESDAY) == (
        hours(TUESDAY, 9, 13),
        hours(TUESDAY, 14, 17),
    )


def test_exceptions_on_other_days_change_nothing():
    closure = DateException(WEDNESDAY, ExceptionKind.OFF)

    assert work(exceptions=[closure]) == work()


def test_plans_apply_only_inside_their_validity():
    winter = WeeklyPlan(working=weekdays(9, 13), valid_until=TUESDAY)
    spring = WeeklyPlan(working=weekdays(14, 18), valid_from=WEDNESDAY)

    result = work(plans=[winter, spring], first=MONDAY, last=WEDNESDAY)

    assert result == (hours(MONDAY, 9, 13), hours(TUESDAY, 9, 13), hours(WEDNESDAY, 14, 18))


def test_overlapping_plans_are_united_and_breaks_cut_only_their_own_plan():
    morning = WeeklyPlan(working=weekdays(8, 12), breaks=weekdays(10, 11))
    day = WeeklyPlan(working=weekdays(10, 16))

    assert work(plans=[morning, day]) == (hours(MONDAY, 8, 16),)


def test_a_plan_with_its_validity_reversed_is_refused():
    with pytest.raises(ValueError):
        WeeklyPlan(working=(), valid_from=TUESDAY, valid_until=MONDAY)


def test_weekday_rules_pick_their_day():
    friday_only = WeeklyPlan(working=(WeeklyRule(4, time(8), time(12)),))

    assert work(plans=[friday_only], first=MONDAY, last=SUNDAY) == (hours(FRIDAY, 8, 12),)


def test_a_working_day_on_the_spring_forward_sunday_is_its_full_nine_hours():
    spring = date(2026, 3, 29)
    sunday = WeeklyPlan(working=(WeeklyRule(6, time(8), time(17)),))

    result = work(plans=[sunday], first=spring, last=spring, tz=BERLIN)

    assert result == (hours(spring, 8, 17, BERLIN),)
    assert result[0].duration == timedelta(hours=9)
    assert result[0].start == datetime(2026, 3, 29, 6, tzinfo=UTC)  # summer time already


def test_a_working_day_on_the_autumn_sunday_is_its_full_nine_hours():
    autumn = date(2026, 10, 25)
    sunday = WeeklyPlan(working=(WeeklyRule(6, time(8), time(17)),))

    (result,) = work(plans=[sunday], first=autumn, last=autumn, tz=BERLIN)

    assert result.duration == timedelta(hours=9)
    assert result.start == datetime(2026, 10, 25, 7, tzinfo=UTC)  # winter time already


def test_a_night_shift_in_the_spring_forward_gap_is_no_time():
    spring = date(2026, 3, 29)
    gap = WeeklyPlan(working=(WeeklyRule(6, time(2), time(3)),))

    assert work(plans=[gap], first=spring, last=spring, tz=BERLIN) == ()


def test_a_night_shift_over_the_new_york_spring_change_loses_an_hour():
    spring = date(2026, 3, 8)
    night = WeeklyPlan(working=(WeeklyRule(6, time(0), time(6)),))

    (result,) = work(plans=[night], first=spring, last=spring, tz=NEW_YORK)

    assert result.duration == timedelta(hours=5)
