"""The overbooking estimator (scheduling.overbooking): chances of a miss, a day's expected no-shows, the extra
visits they allow, the overtime window and the overtime past a planned end."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from navbat.scheduling import Interval
from navbat.scheduling.overbooking import (
    PRIOR_RATE,
    VisitHistory,
    expected_no_shows,
    extra_allowed,
    history_rate,
    lead_time_factor,
    miss_probability,
    overtime_beyond,
    overtime_window,
)

counts = st.integers(min_value=0, max_value=500)
leads = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=400))
histories = st.builds(VisitHistory, no_shows=counts, visits=counts, lead_time=leads)
WEEK = timedelta(days=7)
NOON = datetime(2027, 3, 1, 12, tzinfo=UTC)


def test_a_patient_without_history_booked_a_week_ahead_has_the_population_rate() -> None:
    assert miss_probability(VisitHistory(0, 0, WEEK)) == pytest.approx(PRIOR_RATE)


def test_history_outweighs_the_prior_as_it_grows() -> None:
    assert history_rate(2, 1) > 3 * PRIOR_RATE  # two missed of three: already well above the prior
    assert history_rate(0, 20) < 0.02
    assert history_rate(10, 0) > 0.7
    assert history_rate(30, 0) > 0.85


def test_lead_time_from_a_same_day_booking_to_months_ahead() -> None:
    assert lead_time_factor(timedelta(0)) == 0.5
    assert lead_time_factor(WEEK) == 1.0
    assert lead_time_factor(timedelta(days=30)) == 1.5
    assert lead_time_factor(timedelta(days=365)) == 2.0
    assert lead_time_factor(timedelta(days=-3)) == 0.5  # booked "after" it started: same day
    same_day = miss_probability(VisitHistory(0, 0, timedelta(hours=2)))
    months = miss_probability(VisitHistory(0, 0, timedelta(days=120)))
    assert same_day < PRIOR_RATE < months


@given(histories)
def test_a_chance_is_between_zero_and_one(visit: VisitHistory) -> None:
    assert 0.0 <= miss_probability(visit) <= 1.0


@given(histories, st.integers(min_value=1, max_value=20))
def test_more_no_shows_never_lower_the_chance(visit: VisitHistory, more: int) -> None:
    worse = VisitHistory(visit.no_shows + more, visit.visits, visit.lead_time)
    assert miss_probability(worse) >= miss_probability(visit)


@given(histories, st.integers(min_value=1, max_value=20))
def test_more_visits_kept_never_raise_the_chance(visit: VisitHistory, more: int) -> None:
    better = VisitHistory(visit.no_shows, visit.visits + more, visit.lead_time)
    assert miss_probability(better) <= miss_probability(visit)


@given(histories, leads)
def test_a_longer_lead_time_never_lowers_the_chance(visit: VisitHistory, extra: timedelta) -> None:
    later = VisitHistory(visit.no_shows, visit.visits, visit.lead_time + extra)
    assert miss_probability(later) >= miss_probability(visit) - 1e-12


@given(st.lists(histories, max_size=40))
def test_the_expected_no_shows_are_the_sum_of_the_chances(visits: list[VisitHistory]) -> None:
    expected = expected_no_shows(visits)
    assert 0.0 <= expected <= len(visits)
    assert expected == pytest.approx(sum(miss_probability(v) for v in visits))


def test_extra_visits_start_once_the_threshold_is_exceeded() -> None:
    assert extra_allowed(0.9, threshold=1.0, most=2) == 0
    assert extra_allowed(1.0, threshold=1.0, most=2) == 0  # "exceed": equal is not enough
    assert extra_allowed(1.01, threshold=1.0, most=2) == 1
    assert extra_allowed(2.0, threshold=1.0, most=2) == 1  # the second needs more than 2.0
    assert extra_allowed(2.3, threshold=1.0, most=2) == 2
    assert extra_allowed(9.0, threshold=1.0, most=2) == 2
    assert extra_allowed(9.0, threshold=1.0, most=0) == 0


@given(
    st.floats(min_value=0, max_value=60, allow_nan=False),
    st.floats(min_value=0, max_value=50, allow_nan=False),
    st.integers(min_value=0, max_value=10),
)
def test_extra_visits_are_never_more_than_the_most_and_grow_with_the_expectation(
    expected: float, threshold: float, most: int
) -> None:
    allowed = extra_allowed(expected, threshold=threshold, most=most)
    assert 0 <= allowed <= most
    assert (allowed > 0) == (expected > threshold and most > 0)
    assert extra_allowed(expected + 1.0, threshold=threshold, most=most) >= allowed
    if allowed:
        # the k-th extra visit needs expected > threshold + k - 1
        assert expected > threshold + allowed - 1 - 1e-9
        assert allowed == most or expected <= threshold + allowed + 1e-9 or math.isclose(expected, threshold)


def test_the_overtime_window_follows_the_working_day() -> None:
    day = (
        Interval(NOON - timedelta(hours=3), NOON),
        Interval(NOON + timedelta(hours=1), NOON + timedelta(hours=6)),
    )
    end = NOON + timedelta(hours=6)
    assert overtime_window(day, allowed=2, longest=timedelta(minutes=30)) == Interval(
        end, end + timedelta(hours=1)
    )
    assert overtime_window(day, allowed=0, longest=timedelta(minutes=30)) is None
    assert overtime_window((), allowed=2, longest=timedelta(minutes=30)) is None


def test_overtime_counts_only_the_time_past_the_planned_end_and_overlaps_once() -> None:
    visits = [
        Interval(NOON - timedelta(minutes=15), NOON + timedelta(minutes=15)),  # 15 past the end
        Interval(NOON + timedelta(minutes=10), NOON + timedelta(minutes=40)),  # overlaps: 25 more
        Interval(NOON - timedelta(hours=1), NOON - timedelta(minutes=30)),  # inside the day
    ]
    assert overtime_beyond(visits, NOON) == timedelta(minutes=40)
    assert overtime_beyond([], NOON) == timedelta(0)
