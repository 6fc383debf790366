"""Walk-ins and emergencies at the reception desk (booking.services.book_walk_in / book_emergency), on the
small clinic: two therapists, Mon–Fri 09:00–18:00 with lunch 13:00–14:00, a 15-minute step, a clock held
still."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.utils import translation

from navbat.booking.models import Appointment
from navbat.booking.services import (
    DeskErrorCode,
    book_appointment,
    book_emergency,
    book_walk_in,
    cancel_appointment,
)
from navbat.booking.statuses import Channel, Status
from navbat.clinic.models import Service, StaffMember
from navbat.errors import DomainError
from navbat.patients.models import Patient
from navbat.scheduling import Slot
from tests import factories
from tests.small_clinic import MONDAY, SmallClinic, at

pytestmark = pytest.mark.django_db

TUESDAY = MONDAY + timedelta(days=1)
NOW = at(MONDAY, 9, 5)  # the desk's clock: Monday morning, five past nine


def booked(
    c: SmallClinic, dentist: StaffMember, hour: int, minute: int = 0, patient: Patient | None = None
) -> None:
    """A 30-minute visit of someone else (or `patient`) with `dentist`, booked the week before."""
    book_appointment(
        patient=patient or factories.PatientFactory(clinic=c.clinic),
        service=c.therapy,
        starts_at=at(MONDAY, hour, minute),
        dentist=dentist,
        channel=Channel.PHONE,
        now=at(MONDAY, 8) - timedelta(days=7),
    )


def urgent(c: SmallClinic, code: str = "pain-relief") -> Service:
    return factories.ServiceFactory(
        clinic=c.clinic, code=code, specialty=c.therapy.specialty, duration_minutes=30
    )


def test_a_walk_in_gets_the_first_gap_from_now_with_whoever_is_free(small_clinic: SmallClinic) -> None:
    c = small_clinic
    for hour, minute in [(9, 0), (9, 30)]:
        booked(c, c.first, hour, minute)
    for hour, minute in [(9, 0), (9, 30), (10, 0)]:
        booked(c, c.second, hour, minute)

    appointment = book_walk_in(patient=c.patient, service=c.therapy, created_by=None, now=NOW)

    assert appointment.starts_at == at(MONDAY, 10)
    assert appointment.dentist == c.first
    assert appointment.channel == Channel.WALK_IN
    assert appointment.status == Status.BOOKED
    assert appointment.events.get().to_status == Status.BOOKED


def test_a_walk_in_with_a_chosen_dentist_waits_for_him(small_clinic: SmallClinic) -> None:
    c = small_clinic
    for hour, minute in [(9, 0), (9, 30), (10, 0)]:
        booked(c, c.second, hour, minute)

    appointment = book_walk_in(
        patient=c.patient, service=c.therapy, dentist=c.second, created_by=None, now=NOW
    )

    assert (appointment.starts_at, appointment.dentist) == (at(MONDAY, 10, 30), c.second)


def test_a_walk_in_needs_no_online_notice_and_starts_on_the_next_step(small_clinic: SmallClinic) -> None:
    c = small_clinic  # the clinic asks online patients for an hour's notice
    assert c.clinic.min_notice_minutes == 60

    appointment = book_walk_in(patient=c.patient, service=c.therapy, created_by=None, now=NOW)

    assert appointment.starts_at == at(MONDAY, 9, 15)  # ten minutes from now, on the 15-minute step


def test_a_walk_in_is_not_put_over_the_patients_own_visit(small_clinic: SmallClinic) -> None:
    c = small_clinic
    booked(c, c.first, 9, 15, patient=c.patient)
    booked(c, c.second, 9, 15)  # the other dentist is busy then anyway

    appointment = book_walk_in(patient=c.patient, service=c.therapy, created_by=None, now=NOW)

    assert appointment.starts_at == at(MONDAY, 9, 45)


def test_a_cancelled_visit_leaves_a_gap_the_walk_in_takes(small_clinic: SmallClinic) -> None:
    c = small_clinic
    for dentist in (c.first, c.second):
        for hour, minute in [(9, 0), (9, 30), (10, 0)]:
            booked(c, dentist, hour, minute)
    freed = Appointment.objects.get(dentist=c.second, starts_at=at(MONDAY, 9, 30))
    cancel_appointment(appointment=freed, reason="ill")

    appointment = book_walk_in(patient=c.patient, service=c.therapy, created_by=None, now=NOW)

    assert (appointment.starts_at, appointment.dentist) == (at(MONDAY, 9, 30), c.second)


def test_when_today_is_full_the_desk_is_told_and_offered_tomorrows_first_times(
    small_clinic: SmallClinic,
) -> None:
    c = small_clinic
    late = at(MONDAY, 17, 40)  # a 30-minute visit no longer fits before 18:00
    before = Appointment.objects.count()

    with pytest.raises(DomainError) as refused, translation.override("en"):
        book_walk_in(patient=c.patient, service=c.therapy, created_by=None, now=late)

    assert refused.value.code == DeskErrorCode.NO_TIME_TODAY
    assert "today" in str(refused.value.message)
    options = refused.value.details["options"]
    assert [(datetime.fromisoformat(o["start"]), o["dentist"]) for o in options[:2]] == [
        (at(TUESDAY, 9), c.first.pk),
        (at(TUESDAY, 9), c.second.pk),
    ]
    assert Appointment.objects.count() == before  # nothing booked


def test_the_desk_books_an_offered_time_of_another_day(small_clinic: SmallClinic) -> None:
    c = small_clinic

    appointment = book_walk_in(
        patient=c.patient,
        service=c.therapy,
        created_by=None,
        starts_at=at(TUESDAY, 9),
        dentist=c.second,
        chair=c.chair_xray,
        now=at(MONDAY, 17, 40),
    )

    assert (appointment.starts_at, appointment.dentist, appointment.chair) == (
        at(TUESDAY, 9),
        c.second,
        c.chair_xray,
    )
    assert appointment.channel == Channel.WALK_IN


def test_a_service_nobody_does_is_refused_clearly(small_clinic: SmallClinic) -> None:
    c = small_clinic
    surgeon = factories.SpecialtyFactory(code="surgeon", name_en="Surgeon")
    abscess = factories.ServiceFactory(clinic=c.clinic, code="abscess", specialty=surgeon)

    with pytest.raises(DomainError) as refused:
        book_walk_in(patient=c.patient, service=abscess, created_by=None, now=NOW)

    assert refused.value.code == DeskErrorCode.NO_FREE_TIME
    assert not Appointment.objects.exists()


def test_a_chosen_dentist_who_does_not_do_the_service_is_refused(small_clinic: SmallClinic) -> None:
    c = small_clinic
    surgeon = factories.SpecialtyFactory(code="surgeon", name_en="Surgeon")
    abscess = factories.ServiceFactory(clinic=c.clinic, code="abscess", specialty=surgeon)

    with pytest.raises(DomainError) as refused:
        book_walk_in(patient=c.patient, service=abscess, dentist=c.first, created_by=None, now=NOW)

    assert refused.value.code == DeskErrorCode.NOT_FOR_DENTIST


def test_an_emergency_goes_to_the_earliest_time_today_across_dentists(small_clinic: SmallClinic) -> None:
    c = small_clinic
    pain = urgent(c)
    for hour in (9, 10):
        for minute in (0, 30):
            booked(c, c.first, hour, minute)  # the first therapist is busy until 11:00
    for minute in (0, 30):
        booked(c, c.second, 9, minute)
    booked(c, c.second, 10, 0)  # the second until 10:30

    appointment = book_emergency(
        patient=c.patient, service=pain, created_by=None, notes="Emergency: swelling.", now=NOW
    )

    assert (appointment.starts_at, appointment.dentist) == (at(MONDAY, 10, 30), c.second)
    assert appointment.channel == Channel.EMERGENCY
    assert appointment.notes == "Emergency: swelling."


def test_an_emergency_on_a_full_day_is_told_so_and_offered_the_first_morning_times(
    small_clinic: SmallClinic,
) -> None:
    c = small_clinic
    pain = urgent(c)

    with pytest.raises(DomainError) as refused, translation.override("en"):
        book_emergency(patient=c.patient, service=pain, created_by=None, now=at(MONDAY, 17, 50))

    assert refused.value.code == DeskErrorCode.NO_TIME_TODAY
    assert "No dentist" in str(refused.value.message)
    assert datetime.fromisoformat(refused.value.details["options"][0]["start"]) == at(TUESDAY, 9)
    assert not Appointment.objects.exists()


class Reserve:
    """An emergency reserve as issue 6 may bring: slots it offers, and the questions it was asked."""

    def __init__(self, *slots: Slot) -> None:
        self.offered = list(slots)
        self.asked: list[tuple[Service, Patient, datetime]] = []

    def slots(self, *, service: Service, patient: Patient, now: datetime) -> list[Slot]:
        self.asked.append((service, patient, now))
        return self.offered


def test_an_emergency_takes_the_reserves_slot_when_it_is_the_earliest(small_clinic: SmallClinic) -> None:
    c = small_clinic
    pain = urgent(c)
    # Ordinary gaps start on the 15-minute step (09:15); the reserve offers "right now".
    reserve = Reserve(Slot(NOW, NOW + timedelta(minutes=30), c.second.pk, c.chair_xray.pk))

    appointment = book_emergency(patient=c.patient, service=pain, created_by=None, now=NOW, reserve=reserve)

    assert reserve.asked == [(pain, c.patient, NOW)]
    assert (appointment.starts_at, appointment.dentist) == (NOW, c.second)


def test_a_reserve_slot_that_is_taken_gives_way_to_the_next_earliest(small_clinic: SmallClinic) -> None:
    c = small_clinic
    pain = urgent(c)
    for dentist in (c.first, c.second):
        for minute in (0, 30):
            booked(c, dentist, 9, minute)  # both busy until 10:00
    reserve = Reserve(Slot(at(MONDAY, 9, 45), at(MONDAY, 10, 15), c.second.pk, c.chair_xray.pk))

    appointment = book_emergency(patient=c.patient, service=pain, created_by=None, now=NOW, reserve=reserve)

    assert appointment.starts_at == at(MONDAY, 10)


def test_an_offered_emergency_time_is_booked_as_an_emergency(small_clinic: SmallClinic) -> None:
    c = small_clinic
    pain = urgent(c)

    appointment = book_emergency(
        patient=c.patient,
        service=pain,
        created_by=None,
        starts_at=at(TUESDAY, 9),
        dentist=c.first,
        chair=c.chair_plain,
        now=at(MONDAY, 17, 50),
    )

    assert appointment.channel == Channel.EMERGENCY
    assert appointment.starts_at == at(TUESDAY, 9)
