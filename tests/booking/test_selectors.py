"""find_free_slots: the search the call centre and the patient pages use, database included."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from navbat.booking.selectors import find_free_slots
from navbat.booking.services import book_appointment
from navbat.booking.statuses import Channel
from navbat.clinic.models import ScheduleException, ScheduleExceptionKind
from navbat.scheduling import Slot
from tests import factories
from tests.small_clinic import MONDAY, NOW, SmallClinic, at

pytestmark = pytest.mark.django_db


def search(c: SmallClinic, **kwargs: object) -> list[Slot]:
    options: dict[str, object] = {
        "clinic": c.clinic,
        "service": c.therapy,
        "first_day": MONDAY,
        "last_day": MONDAY + timedelta(days=30),
        "now": NOW,
        "online": False,
    }
    options.update(kwargs)
    return find_free_slots(**options)  # type: ignore[arg-type]


def test_the_earliest_slots_come_first_across_dentists(small_clinic: SmallClinic) -> None:
    c = small_clinic

    slots = search(c, limit=4)

    assert [s.start for s in slots] == [at(MONDAY, 9), at(MONDAY, 9), at(MONDAY, 9, 15), at(MONDAY, 9, 15)]
    assert {s.dentist_id for s in slots} == {c.first.pk, c.second.pk}


def test_every_slot_found_can_be_booked_and_then_is_gone(small_clinic: SmallClinic) -> None:
    c = small_clinic
    slot = search(c, dentist=c.first, limit=1)[0]

    booked = book_appointment(
        patient=c.patient,
        service=c.therapy,
        starts_at=slot.start,
        dentist=c.first,
        channel=Channel.PHONE,
        now=NOW,
    )

    assert (booked.starts_at, booked.chair_id) == (slot.start, slot.chair_id)
    after = search(c, dentist=c.first, limit=3)
    assert slot.start not in [s.start for s in after]
    assert after[0].start == booked.ends_at  # the gap right after a visit is offered first


def test_a_search_looks_past_the_first_days_when_they_are_full(small_clinic: SmallClinic) -> None:
    c = small_clinic
    away = [MONDAY + timedelta(days=n) for n in range(12)]
    ScheduleException.objects.bulk_create(
        ScheduleException(staff=dentist, date=day, kind=ScheduleExceptionKind.LEAVE)
        for dentist in (c.first, c.second)
        for day in away
    )

    slots = search(c, limit=2)

    assert slots[0].start == at(date(2027, 3, 15), 9)  # the Monday after two weeks of leave
    assert len(slots) == 2


def test_all_slots_of_one_dentist_skip_breaks_weekends_and_booked_time(small_clinic: SmallClinic) -> None:
    c = small_clinic
    book_appointment(
        patient=c.patient,
        service=c.therapy,
        starts_at=at(MONDAY, 10),
        dentist=c.first,
        channel=Channel.PHONE,
        now=NOW,
    )

    slots = search(c, dentist=c.first, last_day=MONDAY + timedelta(days=6), limit=None)

    local = [s.start.astimezone(c.clinic.tz) for s in slots]
    assert all(t.weekday() < 5 for t in local)
    lunch = [(t.replace(hour=13, minute=0), t.replace(hour=14, minute=0)) for t in local]
    assert not [
        t for t, (b0, b1) in zip(local, lunch, strict=True) if t < b1 and t + timedelta(minutes=30) > b0
    ]
    assert at(MONDAY, 10) not in [s.start for s in slots]
    assert at(MONDAY, 10, 30) in [s.start for s in slots]
    assert len({s.start for s in slots}) == len(slots)


def test_a_dentist_whose_chair_is_taken_gets_another_chair_only_if_one_is_free(
    small_clinic: SmallClinic,
) -> None:
    c = small_clinic
    third = factories.StaffFactory(clinic=c.clinic, specialties=list(c.first.specialties.all()))
    factories.weekly_plan(third, valid_from=date(2027, 1, 1))
    book_appointment(
        patient=c.other_patient,
        service=c.therapy,
        starts_at=at(MONDAY, 10),
        dentist=c.second,
        chair=c.chair_plain,
        channel=Channel.PHONE,
        now=NOW,
    )  # the first dentist's own chair, taken by his colleague

    monday = search(c, dentist=c.first, last_day=MONDAY, limit=None)
    at_ten = [s for s in monday if s.start == at(MONDAY, 10)]
    assert [s.chair_id for s in at_ten] == [c.chair_xray.pk]

    book_appointment(
        patient=c.patient,
        service=c.therapy,
        starts_at=at(MONDAY, 10),
        dentist=third,
        chair=c.chair_xray,
        channel=Channel.PHONE,
        now=NOW,
    )  # and now the only other chair too
    monday = search(c, dentist=c.first, last_day=MONDAY, limit=None)
    assert at(MONDAY, 10) not in [s.start for s in monday]
    assert at(MONDAY, 10, 30) in [s.start for s in monday]
