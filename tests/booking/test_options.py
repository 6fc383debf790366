"""best_options: the five options the call centre offers a caller, on the small clinic's known week."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest

from navbat.booking.selectors import best_options
from navbat.booking.services import book_appointment
from navbat.booking.statuses import Channel
from navbat.clinic.models import ScheduleException, ScheduleExceptionKind
from navbat.scheduling import Slot, TimeWindow, Wishes
from tests.small_clinic import MONDAY, NOW, TASHKENT, SmallClinic, at

pytestmark = pytest.mark.django_db


def options(c: SmallClinic, **kwargs: object) -> list[Slot]:
    arguments: dict[str, object] = {
        "clinic": c.clinic,
        "service": c.therapy,
        "now": NOW,
        "first_day": MONDAY,
        "last_day": MONDAY + timedelta(days=60),
    }
    arguments.update(kwargs)
    return best_options(**arguments)  # type: ignore[arg-type]


def day_and_dentist(slot: Slot) -> tuple[date, int]:
    return slot.start.astimezone(TASHKENT).date(), slot.dentist_id


def test_five_options_earliest_first_one_per_dentist_and_day(small_clinic: SmallClinic) -> None:
    c = small_clinic
    tuesday, wednesday = MONDAY + timedelta(days=1), MONDAY + timedelta(days=2)

    found = options(c)

    assert [(s.start, s.dentist_id) for s in found] == [
        (at(MONDAY, 9), c.first.pk),
        (at(MONDAY, 9), c.second.pk),
        (at(tuesday, 9), c.first.pk),
        (at(tuesday, 9), c.second.pk),
        (at(wednesday, 9), c.first.pk),
    ]
    assert len({day_and_dentist(s) for s in found}) == 5
    # Each dentist's own chair (the core prefers it): the options are across dentists and chairs at once.
    assert {(s.dentist_id, s.chair_id) for s in found} == {
        (c.first.pk, c.chair_plain.pk),
        (c.second.pk, c.chair_xray.pk),
    }


def test_the_earliest_free_time_is_always_the_first_option(small_clinic: SmallClinic) -> None:
    c = small_clinic
    for dentist, hour in ((c.first, 9), (c.second, 9), (c.second, 9.5)):
        start = at(MONDAY, int(hour), 30 if hour % 1 else 0)
        book_appointment(
            patient=c.other_patient if dentist == c.second and hour == 9 else c.patient,
            service=c.therapy,
            starts_at=start,
            dentist=dentist,
            channel=Channel.PHONE,
            now=NOW,
        )

    found = options(c, patient_id=c.other_patient.pk)

    # The first dentist is free again at 09:30; the second only at 10:00 (and the caller has no clash then).
    assert found[0].start == at(MONDAY, 9, 30) and found[0].dentist_id == c.first.pk
    assert found == sorted(found)


def test_wishes_narrow_the_options_to_the_days_and_hours_asked_for(small_clinic: SmallClinic) -> None:
    c = small_clinic
    thursdays_afternoon = Wishes(weekdays=frozenset({3}), windows=(TimeWindow(time(14), time(17)),))

    found = options(c, wishes=thursdays_afternoon)

    assert len(found) == 5
    for slot in found:
        local = slot.start.astimezone(TASHKENT)
        assert local.weekday() == 3
        assert time(14) <= local.time() and slot.end.astimezone(TASHKENT).time() <= time(17)
    assert found[0].start == at(MONDAY + timedelta(days=3), 14)


def test_a_chosen_dentist_and_a_single_day_fill_up_with_that_days_next_times(
    small_clinic: SmallClinic,
) -> None:
    c = small_clinic
    only_monday = Wishes(earliest=MONDAY, latest=MONDAY)

    found = options(c, dentist=c.second, wishes=only_monday)

    assert [s.start for s in found] == [at(MONDAY, 9, m) for m in (0, 15, 30, 45)] + [at(MONDAY, 10)]
    assert {s.dentist_id for s in found} == {c.second.pk}


def test_a_dentist_on_leave_gives_his_days_to_the_other(small_clinic: SmallClinic) -> None:
    c = small_clinic
    ScheduleException.objects.bulk_create(
        ScheduleException(staff=c.first, date=MONDAY + timedelta(days=n), kind=ScheduleExceptionKind.LEAVE)
        for n in range(5)
    )

    found = options(c)

    assert [day_and_dentist(s) for s in found] == [
        (MONDAY + timedelta(days=n), c.second.pk) for n in range(5)
    ]


def test_the_callers_own_visits_are_not_offered_again(small_clinic: SmallClinic) -> None:
    c = small_clinic
    book_appointment(
        patient=c.patient,
        service=c.therapy,
        starts_at=at(MONDAY, 9),
        dentist=c.first,
        channel=Channel.PHONE,
        now=NOW,
    )

    found = options(c, patient_id=c.patient.pk)

    assert all(s.start >= at(MONDAY, 9, 30) for s in found if s.start.date() == MONDAY)
    assert found[0].start == at(MONDAY, 9, 30)


def test_nothing_matching_gives_no_options(small_clinic: SmallClinic) -> None:
    sundays = Wishes(weekdays=frozenset({6}))

    assert options(small_clinic, wishes=sundays) == []
    assert options(small_clinic, last_day=MONDAY - timedelta(days=1)) == []
