from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from navbat.scheduling import (
    ChairSchedule,
    DentistSchedule,
    Interval,
    Slot,
    SlotRequest,
    TimeWindow,
    Wishes,
    check_slot,
    find_slots,
    normalize,
)

TASHKENT = ZoneInfo("Asia/Tashkent")
BERLIN = ZoneInfo("Europe/Berlin")

MONDAY = date(2026, 3, 2)
TUESDAY = date(2026, 3, 3)
WEDNESDAY = date(2026, 3, 4)

XRAY = 1
SURGERY = 7
HALF_HOUR = timedelta(minutes=30)


def local(day: date, hour: int, minute: int = 0, tz: ZoneInfo = TASHKENT) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=tz)


def span(day: date, start: tuple[int, int] | int, end: tuple[int, int] | int) -> Interval:
    start_hm = start if isinstance(start, tuple) else (start, 0)
    end_hm = end if isinstance(end, tuple) else (end, 0)
    return Interval(local(day, *start_hm), local(day, *end_hm))


def dentist(dentist_id, *free, specialties=(), chair=None):
    return DentistSchedule(dentist_id, frozenset(specialties), normalize(free), chair)


def chair(chair_id, *free, equipment=()):
    return ChairSchedule(chair_id, frozenset(equipment), normalize(free))


def request(**changes) -> SlotRequest:
    """Half an hour, asked at 07:00 on Monday in Tashkent, changed by `changes`."""
    return replace(SlotRequest(HALF_HOUR, local(MONDAY, 7), TASHKENT), **changes)


OPEN_CHAIR = chair(1, span(MONDAY, 0, 23), span(TUESDAY, 0, 23), span(WEDNESDAY, 0, 23))


def starts(slots) -> list[datetime]:
    return [slot.start for slot in slots]


# The grid and the gaps


def test_the_earliest_slots_lie_on_the_step_grid():
    doctor = dentist(10, span(MONDAY, 9, 12))

    slots = find_slots(request(limit=3), [doctor], [OPEN_CHAIR])

    assert slots == (
        Slot(local(MONDAY, 9), local(MONDAY, 9, 30), 10, 1),
        Slot(local(MONDAY, 9, 15), local(MONDAY, 9, 45), 10, 1),
        Slot(local(MONDAY, 9, 30), local(MONDAY, 10), 10, 1),
    )


def test_slots_come_back_in_utc():
    doctor = dentist(10, span(MONDAY, 9, 12))

    (slot,) = find_slots(request(limit=1), [doctor], [OPEN_CHAIR])

    assert slot.start.tzinfo is UTC
    assert slot.start == datetime(2026, 3, 2, 4, tzinfo=UTC)


def test_the_gap_right_after_an_appointment_is_offered():
    # Given an appointment that ends at 09:20, off the 15-minute grid
    doctor = dentist(10, span(MONDAY, (9, 20), 12))

    slots = find_slots(request(limit=3), [doctor], [OPEN_CHAIR])

    assert starts(slots) == [local(MONDAY, 9, 20), local(MONDAY, 9, 30), local(MONDAY, 9, 45)]


def test_a_slot_must_fit_inside_one_free_interval():
    doctor = dentist(10, span(MONDAY, 9, (9, 20)), span(MONDAY, (9, 30), 10))

    slots = find_slots(request(limit=None), [doctor], [OPEN_CHAIR])

    assert starts(slots) == [local(MONDAY, 9, 30)]


def test_the_last_slot_ends_exactly_at_the_end_of_free_time():
    doctor = dentist(10, span(MONDAY, 9, 10))

    slots = find_slots(request(limit=None), [doctor], [OPEN_CHAIR])

    assert starts(slots) == [local(MONDAY, 9), local(MONDAY, 9, 15), local(MONDAY, 9, 30)]


def test_a_coarser_step_gives_fewer_candidates():
    doctor = dentist(10, span(MONDAY, 9, 11))

    slots = find_slots(request(step=timedelta(hours=1), limit=None), [doctor], [OPEN_CHAIR])

    assert starts(slots) == [local(MONDAY, 9), local(MONDAY, 10)]


# Who may treat


def test_only_dentists_with_the_specialty_are_offered():
    general = dentist(10, span(MONDAY, 9, 12))
    surgeon = dentist(11, span(MONDAY, 10, 12), specialties=[SURGERY])

    slots = find_slots(request(specialty_id=SURGERY, limit=None), [general, surgeon], [OPEN_CHAIR])

    assert {slot.dentist_id for slot in slots} == {11}
    assert slots[0].start == local(MONDAY, 10)


def test_a_dentist_restriction_filters_dentists():
    first = dentist(10, span(MONDAY, 9, 12))
    second = dentist(11, span(MONDAY, 10, 12))

    slots = find_slots(request(dentist_ids=frozenset({11}), limit=None), [first, second], [OPEN_CHAIR])

    assert {slot.dentist_id for slot in slots} == {11}


# Chairs


def test_the_chair_must_have_all_the_equipment():
    doctor = dentist(10, span(MONDAY, 9, 12))
    plain = chair(1, span(MONDAY, 9, 12))
    xray_only = chair(2, span(MONDAY, 11, 12), equipment=[XRAY])
    xray_and_more = chair(3, span(MONDAY, 10, 12), equipment=[XRAY, 5])

    slots = find_slots(
        request(equipment_ids=frozenset({XRAY}), limit=1), [doctor], [plain, xray_only, xray_and_more]
    )

    assert slots == (Slot(local(MONDAY, 10), local(MONDAY, 10, 30), 10, 3),)


def test_the_dentists_own_chair_is_preferred():
    doctor = dentist(10, span(MONDAY, 9, 12), chair=3)
    chairs = [chair(cid, span(MONDAY, 9, 12)) for cid in (3, 1, 2)]

    (slot,) = find_slots(request(limit=1), [doctor], chairs)

    assert slot.chair_id == 3


def test_when_the_own_chair_is_busy_the_lowest_free_chair_is_taken():
    doctor = dentist(10, span(MONDAY, 9, 12), chair=3)
    chairs = [chair(3, span(MONDAY, 10, 12)), chair(2, span(MONDAY, 9, 12)), chair(1, span(MONDAY, 11, 12))]

    slots = find_slots(request(limit=None), [doctor], chairs)

    assert [(slot.start, slot.chair_id) for slot in slots[:5]] == [
        (local(MONDAY, 9), 2),
        (local(MONDAY, 9, 15), 2),
        (local(MONDAY, 9, 30), 2),
        (local(MONDAY, 9, 45), 2),
        (local(MONDAY, 10), 3),
    ]


def test_no_free_chair_means_no_slot():
    doctor = dentist(10, span(MONDAY, 9, 12))
    busy_chair = chair(1, span(MONDAY, 13, 14))

    assert find_slots(request(limit=None), [doctor], [busy_chair]) == ()


def test_a_slot_needs_one_chair_for_its_whole_length():
    # Given two chairs that are free one after the other, but neither for half an hour around 09:30
    doctor = dentist(10, span(MONDAY, 9, 10))
    chairs = [chair(1, span(MONDAY, 9, (9, 40))), chair(2, span(MONDAY, (9, 20), 10))]

    slots = find_slots(request(limit=None), [doctor], chairs)

    assert [(slot.start, slot.chair_id) for slot in slots] == [
        (local(MONDAY, 9), 1),
        (local(MONDAY, 9, 30), 2),
    ]


def test_a_chair_free_only_right_at_the_start_of_the_search_is_used():
    doctor = dentist(10, span(MONDAY, 9, 12))
    brief = chair(2, span(MONDAY, 9, (9, 30)))

    slots = find_slots(request(now=local(MONDAY, 9), limit=None), [doctor], [brief])

    assert slots == (Slot(local(MONDAY, 9), local(MONDAY, 9, 30), 10, 2),)


# The patient


def test_the_patients_own_appointments_are_avoided():
    doctor = dentist(10, span(MONDAY, 9, 12))
    patient_busy = (span(MONDAY, (9, 10), 10),)

    slots = find_slots(request(patient_busy=patient_busy, limit=2), [doctor], [OPEN_CHAIR])

    assert starts(slots) == [local(MONDAY, 10), local(MONDAY, 10, 15)]


# Notice and horizon


def test_slots_start_no_earlier_than_the_notice():
    doctor = dentist(10, span(MONDAY, 9, 12))

    slots = find_slots(request(min_notice=timedelta(hours=2, minutes=20), limit=1), [doctor], [OPEN_CHAIR])

    assert starts(slots) == [local(MONDAY, 9, 30)]


def test_slots_already_begun_are_not_offered():
    doctor = dentist(10, span(MONDAY, 9, 12))

    slots = find_slots(request(now=local(MONDAY, 9, 5), limit=1), [doctor], [OPEN_CHAIR])

    assert starts(slots) == [local(MONDAY, 9, 15)]


def test_slots_start_before_the_horizon():
    doctor = dentist(10, span(MONDAY, 9, 12), span(TUESDAY, 9, 12))

    slots = find_slots(request(horizon=timedelta(hours=4), limit=None), [doctor], [OPEN_CHAIR])

    # 07:00 + 4 h = 11:00: a slot may start at 10:45 and end after the horizon, not start at 11:00
    assert starts(slots)[-1] == local(MONDAY, 10, 45)


def test_a_notice_beyond_the_horizon_finds_nothing():
    doctor = dentist(10, span(MONDAY, 9, 12))

    assert find_slots(request(min_notice=timedelta(days=61), limit=None), [doctor], [OPEN_CHAIR]) == ()


# Wishes


def test_only_wished_weekdays_are_offered():
    doctor = dentist(10, span(MONDAY, 9, 12), span(TUESDAY, 9, 12), span(WEDNESDAY, 9, 12))

    slots = find_slots(request(wishes=Wishes(weekdays=frozenset({2})), limit=None), [doctor], [OPEN_CHAIR])

    assert {slot.start.astimezone(TASHKENT).date() for slot in slots} == {WEDNESDAY}


def test_only_wished_dates_are_offered():
    doctor = dentist(10, span(MONDAY, 9, 12), span(TUESDAY, 9, 12), span(WEDNESDAY, 9, 12))

    wishes = Wishes(earliest=TUESDAY, latest=TUESDAY)
    slots = find_slots(request(wishes=wishes, limit=None), [doctor], [OPEN_CHAIR])

    assert {slot.start.astimezone(TASHKENT).date() for slot in slots} == {TUESDAY}
    assert len(slots) == 11


def test_a_slot_lies_entirely_inside_a_wished_window():
    doctor = dentist(10, span(MONDAY, 9, 12), span(TUESDAY, 9, 12))

    wishes = Wishes(windows=(TimeWindow(time(10), time(11)),))
    slots = find_slots(request(wishes=wishes, limit=None), [doctor], [OPEN_CHAIR])

    assert starts(slots) == [
        local(MONDAY, 10),
        local(MONDAY, 10, 15),
        local(MONDAY, 10, 30),
        local(TUESDAY, 10),
        local(TUESDAY, 10, 15),
        local(TUESDAY, 10, 30),
    ]


def test_a_slot_may_not_straddle_two_windows():
    doctor = dentist(10, span(MONDAY, 9, 12))

    wishes = Wishes(latest=MONDAY, windows=(TimeWindow(time(9), time(10)), TimeWindow(time(10), time(11))))
    slots = find_slots(request(wishes=wishes, limit=None), [doctor], [OPEN_CHAIR])

    assert local(MONDAY, 9, 45) not in starts(slots)
    assert len(slots) == 6


def test_a_window_shorter_than_the_visit_offers_nothing():
    doctor = dentist(10, span(MONDAY, 9, 12))

    wishes = Wishes(windows=(TimeWindow(time(10), time(10, 20)),))

    assert find_slots(request(wishes=wishes, limit=None), [doctor], [OPEN_CHAIR]) == ()


def test_a_window_must_end_after_it_starts():
    with pytest.raises(ValueError):
        TimeWindow(time(11), time(10))


# Ordering and limit


def test_at_the_same_time_preferred_dentists_come_first_then_by_id():
    dentists = [dentist(dentist_id, span(MONDAY, 9, 10)) for dentist_id in (14, 12, 11, 13)]

    wishes = Wishes(preferred_dentist_ids=(13, 12))
    slots = find_slots(request(wishes=wishes, limit=4), dentists, [OPEN_CHAIR])

    assert [slot.dentist_id for slot in slots] == [13, 12, 11, 14]
    assert {slot.start for slot in slots} == {local(MONDAY, 9)}


def test_a_preferred_dentist_does_not_beat_an_earlier_slot():
    early = dentist(10, span(MONDAY, 9, 10))
    favourite = dentist(11, span(MONDAY, 11, 12))

    wishes = Wishes(preferred_dentist_ids=(11,))
    slots = find_slots(request(wishes=wishes, limit=1), [favourite, early], [OPEN_CHAIR])

    assert slots[0].dentist_id == 10


def test_the_limit_keeps_the_earliest():
    dentists = [dentist(10, span(MONDAY, 9, 12)), dentist(11, span(MONDAY, (9, 10), 12))]

    everything = find_slots(request(limit=None), dentists, [OPEN_CHAIR])
    first_five = find_slots(request(limit=5), dentists, [OPEN_CHAIR])

    assert first_five == everything[:5]
    assert [(slot.start, slot.dentist_id) for slot in first_five] == [
        (local(MONDAY, 9), 10),
        (local(MONDAY, 9, 10), 11),
        (local(MONDAY, 9, 15), 10),
        (local(MONDAY, 9, 15), 11),
        (local(MONDAY, 9, 30), 10),
    ]


def test_a_limit_of_zero_finds_nothing():
    assert find_slots(request(limit=0), [dentist(10, span(MONDAY, 9, 12))], [OPEN_CHAIR]) == ()


def test_a_dentist_given_twice_gets_each_slot_once():
    doctor = dentist(10, span(MONDAY, 9, 10))

    slots = find_slots(request(limit=None), [doctor, doctor], [OPEN_CHAIR])

    assert starts(slots) == [local(MONDAY, 9), local(MONDAY, 9, 15), local(MONDAY, 9, 30)]


def test_nothing_to_search_finds_nothing():
    assert find_slots(request(), [], [OPEN_CHAIR]) == ()
    assert find_slots(request(), [dentist(10, span(MONDAY, 9, 10))], []) == ()


# Daylight saving time


def test_a_slot_over_the_spring_forward_jump_lasts_its_duration():
    spring = date(2026, 3, 29)
    night = Interval(local(spring, 1, tz=BERLIN), local(spring, 5, tz=BERLIN))
    doctor = DentistSchedule(10, frozenset(), (night,))
    room = ChairSchedule(1, frozenset(), (night,))
    hour = timedelta(hours=1)

    slots = find_slots(
        SlotRequest(duration=hour, now=local(spring, 0, tz=BERLIN), tz=BERLIN, limit=None), [doctor], [room]
    )

    assert all(slot.end - slot.start == hour for slot in slots)
    assert slots[4].start == local(spring, 3, tz=BERLIN)  # 01:00, 01:15, 01:30, 01:45, then 03:00
    assert slots[-1].end == night.end
    assert len(slots) == 9


def test_a_window_on_the_autumn_fold_day_holds_its_real_length():
    autumn = date(2026, 10, 25)
    night = Interval(local(autumn, 0, tz=BERLIN), local(autumn, 6, tz=BERLIN))
    doctor = DentistSchedule(10, frozenset(), (night,))
    room = ChairSchedule(1, frozenset(), (night,))

    # 01:00-03:00 on that night is three hours: twelve quarter-hours, so eleven half-hour starts
    wishes = Wishes(windows=(TimeWindow(time(1), time(3)),))
    given = SlotRequest(HALF_HOUR, local(autumn, 0, tz=BERLIN), BERLIN, wishes=wishes, limit=None)
    slots = find_slots(given, [doctor], [room])

    assert len(slots) == 11


# check_slot


def test_check_slot_accepts_a_time_off_the_grid():
    doctor = dentist(10, span(MONDAY, 9, 12))

    slot = check_slot(request(), local(MONDAY, 9, 7), [doctor], [OPEN_CHAIR])

    assert slot == Slot(local(MONDAY, 9, 7), local(MONDAY, 9, 37), 10, 1)


def test_check_slot_refuses_a_time_that_does_not_fit():
    doctor = dentist(10, span(MONDAY, 9, 12))

    assert check_slot(request(), local(MONDAY, 11, 45), [doctor], [OPEN_CHAIR]) is None
    assert check_slot(request(), local(MONDAY, 6), [doctor], [OPEN_CHAIR]) is None


def test_check_slot_applies_the_patient_notice_and_wishes():
    doctor = dentist(10, span(MONDAY, 9, 12))
    at_ten = local(MONDAY, 10)

    patient_busy = (span(MONDAY, 9, (10, 5)),)
    assert check_slot(request(patient_busy=patient_busy), at_ten, [doctor], [OPEN_CHAIR]) is None
    assert check_slot(request(min_notice=timedelta(hours=4)), at_ten, [doctor], [OPEN_CHAIR]) is None
    assert check_slot(request(wishes=Wishes(weekdays=frozenset({1}))), at_ten, [doctor], [OPEN_CHAIR]) is None
    windows = (TimeWindow(time(9), time(10, 15)),)
    assert check_slot(request(wishes=Wishes(windows=windows)), at_ten, [doctor], [OPEN_CHAIR]) is None


def test_check_slot_picks_the_preferred_dentist_and_his_chair():
    first = dentist(10, span(MONDAY, 9, 12))
    second = dentist(11, span(MONDAY, 9, 12), chair=2)
    chairs = [OPEN_CHAIR, chair(2, span(MONDAY, 9, 12))]

    given = request(wishes=Wishes(preferred_dentist_ids=(11,)))
    slot = check_slot(given, local(MONDAY, 10), [first, second], chairs)

    assert slot == Slot(local(MONDAY, 10), local(MONDAY, 10, 30), 11, 2)


def test_check_slot_falls_back_to_a_dentist_with_a_free_chair():
    first = dentist(10, span(MONDAY, 9, 12), chair=1)
    second = dentist(11, span(MONDAY, 9, 12))
    room = chair(1, span(MONDAY, 9, 12), equipment=[XRAY])

    slot = check_slot(request(specialty_id=None), local(MONDAY, 10), [first, second], [room])

    assert slot is not None
    assert (slot.dentist_id, slot.chair_id) == (10, 1)


def test_check_slot_refuses_a_naive_start():
    with pytest.raises(ValueError):
        check_slot(request(), datetime(2026, 3, 2, 10), [dentist(10, span(MONDAY, 9, 12))], [OPEN_CHAIR])


# The request itself


@pytest.mark.parametrize(
    "changes",
    [
        {"now": datetime(2026, 3, 2, 7)},
        {"duration": timedelta(0)},
        {"step": timedelta(0)},
        {"limit": -1},
    ],
)
def test_a_request_that_makes_no_sense_is_refused(changes):
    with pytest.raises(ValueError):
        request(**changes)
