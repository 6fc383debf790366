"""The emergency reserve (booking.reserve): hidden from online booking, booked by emergencies, released."""

from __future__ import annotations

from datetime import time, timedelta

import pytest

from navbat.booking.errors import BookingErrorCode
from navbat.booking.models import WaitlistOffer
from navbat.booking.reserve import DepartmentReserve, release_due_reserve
from navbat.booking.selectors import find_free_slots
from navbat.booking.services import book_appointment, book_emergency
from navbat.booking.statuses import Channel, Status
from navbat.booking.waitlist import join_waitlist
from navbat.clinic.models import CapacityPolicy, ReserveBlock, Weekday
from navbat.errors import DomainError
from navbat.scheduling import Interval
from navbat.scheduling.reserve import day_tail
from tests import factories
from tests.small_clinic import MONDAY, NOW, SmallClinic, at

pytestmark = pytest.mark.django_db

SUNDAY_EVENING = at(MONDAY - timedelta(days=1), 18)


def monday_starts(c: SmallClinic, *, now: object = NOW, online: bool = True) -> set[str]:
    slots = find_free_slots(
        clinic=c.clinic,
        service=c.therapy,
        first_day=MONDAY,
        last_day=MONDAY,
        now=now,  # type: ignore[arg-type]
        limit=None,
        online=online,
    )
    return {slot.start.astimezone(c.clinic.tz).strftime("%H:%M") for slot in slots}


def test_the_reserve_is_the_last_tenth_of_the_day_in_whole_steps() -> None:
    day = (Interval(at(MONDAY, 9), at(MONDAY, 13)), Interval(at(MONDAY, 14), at(MONDAY, 18)))

    # 10% of 8 hours is 48 minutes: 60 in quarter hours, the day's last hour.
    assert day_tail(day, percent=10, step=timedelta(minutes=15)) == (
        Interval(at(MONDAY, 17), at(MONDAY, 18)),
    )
    # 60% is 288 minutes, 300 in quarter hours: the whole afternoon and the morning's last hour.
    assert day_tail(day, percent=60, step=timedelta(minutes=15)) == (
        Interval(at(MONDAY, 12), at(MONDAY, 13)),
        Interval(at(MONDAY, 14), at(MONDAY, 18)),
    )
    assert day_tail(day, percent=0, step=timedelta(minutes=15)) == ()


def test_the_reserve_is_hidden_from_online_booking_until_it_is_released(small_clinic: SmallClinic) -> None:
    c = small_clinic
    assert "17:30" in monday_starts(c)  # no policy: no reserve
    CapacityPolicy.objects.create(clinic=c.clinic)

    online = monday_starts(c)

    assert "16:30" in online and not {"17:00", "17:30"} & online
    with pytest.raises(DomainError) as refused:
        book_appointment(
            patient=c.patient,
            service=c.therapy,
            starts_at=at(MONDAY, 17),
            dentist=c.first,
            channel=Channel.WEB,
            now=NOW,
        )
    assert refused.value.code == BookingErrorCode.SLOT_TAKEN
    # The desk sees it and may book into it.
    assert {"17:00", "17:30"} <= monday_starts(c, online=False)
    # The evening before (Sunday 18:00) it is only offered to the waitlist: still hidden from everyone else.
    assert "17:30" not in monday_starts(c, now=SUNDAY_EVENING)
    # Two hours before it starts it opens to everyone.
    assert "17:00" not in monday_starts(c, now=at(MONDAY, 14, 59))
    assert {"17:00", "17:30"} <= monday_starts(c, now=at(MONDAY, 15))


def test_the_call_centre_books_ordinary_visits_outside_the_reserve(small_clinic: SmallClinic) -> None:
    c = small_clinic
    CapacityPolicy.objects.create(clinic=c.clinic)
    by_phone = find_free_slots(
        clinic=c.clinic,
        service=c.therapy,
        first_day=MONDAY,
        last_day=MONDAY,
        now=NOW,
        limit=None,
        online=False,
        hide_reserve=True,
    )
    assert not {s.start for s in by_phone} & {at(MONDAY, 17), at(MONDAY, 17, 30)}
    with pytest.raises(DomainError) as refused:
        book_appointment(
            patient=c.patient,
            service=c.therapy,
            starts_at=at(MONDAY, 17),
            dentist=c.first,
            channel=Channel.PHONE,
            now=NOW,
        )
    assert refused.value.code == BookingErrorCode.SLOT_TAKEN
    # The desk may put a patient there.
    visit = book_appointment(
        patient=c.patient,
        service=c.therapy,
        starts_at=at(MONDAY, 17),
        dentist=c.first,
        channel=Channel.RECEPTION,
        now=NOW,
    )
    assert visit.status == Status.BOOKED


def test_the_pain_flow_urgent_service_sees_the_reserve_online(small_clinic: SmallClinic) -> None:
    c = small_clinic
    CapacityPolicy.objects.create(clinic=c.clinic)
    urgent = factories.ServiceFactory(
        clinic=c.clinic, specialty=c.therapy.specialty, duration_minutes=30, code="pain-relief"
    )

    visit = book_appointment(
        patient=c.patient,
        service=urgent,
        starts_at=at(MONDAY, 17),
        dentist=c.first,
        channel=Channel.WEB,
        now=NOW,
    )

    assert visit.status == Status.BOOKED


def test_an_emergency_is_booked_into_the_reserve_that_online_patients_cannot_take(
    small_clinic: SmallClinic,
) -> None:
    c = small_clinic
    c.clinic.min_notice_minutes = 0
    c.clinic.save()
    # Released only at its start (no evening release): a named block, the first hour of the day.
    CapacityPolicy.objects.create(
        clinic=c.clinic, reserve_percent=0, reserve_release_evening_at=None, reserve_release_hours=0
    )
    ReserveBlock.objects.create(
        name="Morning emergencies", dentist=c.first, weekday=Weekday.MONDAY, start=time(9), end=time(10)
    )
    early = at(MONDAY, 8)
    first_online = find_free_slots(
        clinic=c.clinic,
        service=c.therapy,
        first_day=MONDAY,
        last_day=MONDAY,
        now=early,
        dentist=c.first,
        limit=1,
    )
    assert first_online[0].start == at(MONDAY, 10)
    reserve_slots = DepartmentReserve().slots(service=c.therapy, patient=c.patient, now=early)
    assert {(s.dentist_id, s.start) for s in reserve_slots} == {
        (c.first.pk, at(MONDAY, 9)),
        (c.first.pk, at(MONDAY, 9, 15)),
        (c.first.pk, at(MONDAY, 9, 30)),
    }

    visit = book_emergency(patient=c.patient, service=c.therapy, created_by=None, dentist=c.first, now=early)

    assert (visit.starts_at, visit.dentist, visit.channel) == (at(MONDAY, 9), c.first, Channel.EMERGENCY)


def test_unused_reserve_is_offered_to_the_waitlist_at_the_lead_time(small_clinic: SmallClinic) -> None:
    c = small_clinic
    CapacityPolicy.objects.create(clinic=c.clinic, reserve_released_until=SUNDAY_EVENING - timedelta(hours=1))
    entry = join_waitlist(
        patient=c.other_patient,
        service=c.therapy,
        date_from=MONDAY,
        date_to=MONDAY,
        time_from=time(17),
        now=NOW,
    )

    assert release_due_reserve(now=SUNDAY_EVENING - timedelta(minutes=5)) == 0
    assert not WaitlistOffer.objects.exists()

    assert release_due_reserve(now=SUNDAY_EVENING) == 2  # both dentists' last hour

    offer = WaitlistOffer.objects.get()
    assert offer.entry == entry
    assert offer.starts_at == at(MONDAY, 17)
    # Released once: the next round offers nothing again.
    assert release_due_reserve(now=SUNDAY_EVENING + timedelta(minutes=5)) == 0
    # Nobody else sees it, and the other dentist's hour, which nobody waiting wanted, stays kept for
    # emergencies until two hours before.
    assert not {"17:00", "17:30"} & monday_starts(c, now=SUNDAY_EVENING + timedelta(minutes=5))
    assert release_due_reserve(now=at(MONDAY, 15)) == 2  # the rest of the first one's hour, the second's
    assert "17:00" in monday_starts(c, now=at(MONDAY, 15))
    assert WaitlistOffer.objects.get() == offer  # the waiting patient holds his offer still


def test_without_an_evening_release_the_reserve_opens_two_hours_before(small_clinic: SmallClinic) -> None:
    c = small_clinic
    CapacityPolicy.objects.create(clinic=c.clinic, reserve_release_evening_at=None)

    assert "17:00" not in monday_starts(c, now=at(MONDAY, 14, 59))
    assert "17:00" in monday_starts(c, now=at(MONDAY, 15))
