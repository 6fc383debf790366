import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from navbat.scheduling import Interval, clip, covers, intersect, normalize, subtract, union

BERLIN = ZoneInfo("Europe/Berlin")


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, 2, hour, minute, tzinfo=UTC)


def span(start: int, end: int) -> Interval:
    """Hours of 2 March 2026, UTC."""
    return Interval(at(start), at(end))


# The package


def test_the_core_loads_without_django():
    # Services call the core; the core never calls back into Django, the database or settings.
    code = "import sys, navbat.scheduling; print(sorted(m for m in sys.modules if m.startswith('django')))"
    root = Path(__file__).resolve().parents[2]

    result = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


# Interval


def test_interval_rejects_a_naive_datetime():
    with pytest.raises(ValueError, match="naive"):
        Interval(datetime(2026, 3, 2, 9), at(10))


def test_interval_rejects_an_empty_or_reversed_span():
    with pytest.raises(ValueError, match="empty"):
        span(9, 9)
    with pytest.raises(ValueError, match="empty"):
        span(10, 9)


def test_interval_keeps_the_instant_but_stores_it_in_utc():
    local = datetime(2026, 3, 2, 9, tzinfo=ZoneInfo("Asia/Tashkent"))

    interval = Interval(local, local + timedelta(hours=1))

    assert interval.start == local
    assert interval.start.tzinfo is UTC
    assert interval.start == at(4)


def test_interval_orders_the_repeated_autumn_hour_by_instant():
    # Given 02:30 twice on the night Berlin falls back: first in summer time, then in winter time
    first = datetime(2026, 10, 25, 2, 30, tzinfo=BERLIN, fold=0)
    second = datetime(2026, 10, 25, 2, 10, tzinfo=BERLIN, fold=1)

    # When an interval runs from the first to the second (a wall clock would call it backwards)
    interval = Interval(first, second)

    # Then it is the 40 minutes that really pass
    assert interval.duration == timedelta(minutes=40)


def test_duration_is_absolute_time_across_a_dst_change():
    start = datetime(2026, 3, 29, 1, 0, tzinfo=BERLIN)
    end = datetime(2026, 3, 29, 4, 0, tzinfo=BERLIN)

    assert Interval(start, end).duration == timedelta(hours=2)


def test_touching_intervals_do_not_overlap():
    assert not span(9, 10).overlaps(span(10, 11))
    assert span(9, 11).overlaps(span(10, 12))
    assert span(10, 12).overlaps(span(9, 11))
    assert span(9, 12).overlaps(span(10, 11))


def test_contains_includes_equal_ends():
    assert span(9, 12).contains(span(9, 12))
    assert span(9, 12).contains(span(10, 11))
    assert not span(9, 12).contains(span(8, 10))
    assert not span(9, 12).contains(span(11, 13))


def test_intervals_sort_by_start_then_end():
    assert sorted([span(10, 11), span(9, 12), span(9, 10)]) == [span(9, 10), span(9, 12), span(10, 11)]


# normalize and union


def test_normalize_sorts_and_merges_overlapping_and_touching():
    given = [span(14, 15), span(9, 11), span(10, 12), span(12, 13), span(16, 17)]

    assert normalize(given) == (span(9, 13), span(14, 15), span(16, 17))


def test_normalize_of_nothing_is_nothing():
    assert normalize([]) == ()


def test_normalize_keeps_a_contained_interval_inside_its_container():
    assert normalize([span(9, 17), span(10, 11)]) == (span(9, 17),)


def test_union_accepts_unsorted_input():
    assert union([span(13, 14), span(9, 10)], [span(10, 11)]) == (span(9, 11), span(13, 14))


# intersect


def test_intersect_keeps_the_common_parts():
    working = (span(8, 12), span(13, 18))
    chair_open = (span(9, 14), span(16, 20))

    assert intersect(working, chair_open) == (span(9, 12), span(13, 14), span(16, 18))


def test_intersect_with_touching_intervals_is_empty():
    assert intersect((span(9, 10),), (span(10, 11),)) == ()


def test_intersect_with_nothing_is_nothing():
    assert intersect((span(9, 10),), ()) == ()


# subtract


def test_subtract_cuts_holes_and_trims_ends():
    working = (span(8, 12), span(13, 18))
    busy = (span(7, 9), span(10, 11), span(11, 14), span(17, 19))

    assert subtract(working, busy) == (span(9, 10), span(14, 17))


def test_subtract_a_hole_spanning_two_intervals():
    assert subtract((span(8, 10), span(11, 13)), (span(9, 12),)) == (span(8, 9), span(12, 13))


def test_subtract_nothing_keeps_everything():
    assert subtract((span(8, 10),), ()) == (span(8, 10),)


def test_subtract_everything_leaves_nothing():
    assert subtract((span(8, 10), span(11, 12)), (span(7, 13),)) == ()


def test_subtract_touching_busy_time_changes_nothing():
    assert subtract((span(9, 10),), (span(8, 9), span(10, 11))) == (span(9, 10),)


# clip


def test_clip_cuts_to_the_window():
    free = (span(6, 8), span(9, 11), span(12, 14), span(15, 17))

    assert clip(free, span(10, 16)) == (span(10, 11), span(12, 14), span(15, 16))


def test_clip_outside_every_interval_is_empty():
    assert clip((span(9, 10),), span(10, 11)) == ()


# covers


def test_covers_needs_one_interval_holding_the_whole_span():
    free = (span(8, 10), span(11, 13))

    assert covers(free, span(8, 10))
    assert covers(free, Interval(at(11, 30), at(12, 30)))
    assert not covers(free, span(9, 12))
    assert not covers(free, span(7, 9))
    assert not covers(free, Interval(at(12), at(13, 30)))
    assert not covers((), span(8, 9))
