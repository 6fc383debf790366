"""Quotas against hoarding (booking.quotas through booking.services): one active future free booking per
patient and specialty, two moves per booking, per clinic; on the small clinic with a clock held still."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import translation

from navbat.booking.holds import place_hold
from navbat.booking.models import Appointment, BookingPolicy, SlotHold
from navbat.booking.quotas import QuotaErrorCode, moves_so_far
from navbat.booking.services import (
    book_appointment,
    cancel_appointment,
    change_status,
    reschedule_appointment,
)
from navbat.booking.statuses import Channel, Status
from navbat.clinic.models import Funding, Service
from navbat.errors import DomainError
from navbat.patients.models import Patient
from tests import factories
from tests.small_clinic import MONDAY, NOW, SmallClinic, at

pytestmark = pytest.mark.django_db

TUESDAY = MONDAY + timedelta(days=1)


@pytest.fixture
def free(small_clinic: SmallClinic) -> Service:
    """State-funded therapy (no national identifier required by the factory's clinic)."""
    c = small_clinic
    c.clinic.requires_national_id = False
    c.clinic.save()
    return factories.ServiceFactory(
        clinic=c.clinic, code="free-check", specialty=c.therapy.specialty, funding=Funding.STATE
    )


def book(
    c: SmallClinic, service: Service, hour: int, *, day: date = MONDAY, channel: Channel = Channel.WEB
) -> Appointment:
    return book_appointment(
        patient=c.patient, service=service, starts_at=at(day, hour), channel=channel, now=NOW
    )


def test_a_second_free_booking_of_the_same_specialty_is_refused_on_every_channel(
    small_clinic: SmallClinic, free: Service
) -> None:
    c = small_clinic
    book(c, free, 9)
    for channel in (Channel.WEB, Channel.PHONE, Channel.RECEPTION, Channel.WALK_IN):
        with translation.override("en"):
            with pytest.raises(DomainError) as refused:
                book(c, free, 11, day=TUESDAY, channel=channel)
            assert refused.value.code == QuotaErrorCode.FREE_BOOKING_LIMIT
            assert "already has a free visit" in str(refused.value.message)
    assert Appointment.objects.filter(patient=c.patient).count() == 1


def test_paid_care_and_emergencies_are_not_limited(small_clinic: SmallClinic, free: Service) -> None:
    c = small_clinic
    book(c, free, 9)
    book(c, c.therapy, 10)  # paid
    emergency = book(c, free, 11, day=TUESDAY, channel=Channel.EMERGENCY)
    assert emergency.status == Status.BOOKED


def test_a_past_cancelled_or_attended_visit_frees_the_quota(small_clinic: SmallClinic, free: Service) -> None:
    c = small_clinic
    first = book(c, free, 9)
    cancel_appointment(appointment=first)
    second = book(c, free, 10)
    assert second.status == Status.BOOKED
    change_status(appointment=second, to=Status.ARRIVED)
    change_status(appointment=second, to=Status.FULFILLED)
    third = book(c, free, 11, day=TUESDAY)
    assert third.status == Status.BOOKED


def test_another_specialty_has_its_own_quota(small_clinic: SmallClinic, free: Service) -> None:
    c = small_clinic
    book(c, free, 9)
    surgeon = factories.SpecialtyFactory(code="surgeon", name_en="Surgeon")
    c.second.specialties.add(surgeon)
    extraction = factories.ServiceFactory(
        clinic=c.clinic, code="free-extraction", specialty=surgeon, funding=Funding.STATE
    )
    assert book(c, extraction, 11, day=TUESDAY).status == Status.BOOKED


def test_a_clinic_may_allow_more(small_clinic: SmallClinic, free: Service) -> None:
    c = small_clinic
    BookingPolicy.objects.create(clinic=c.clinic, free_bookings_per_specialty=2)
    book(c, free, 9)
    book(c, free, 11, day=TUESDAY)
    with pytest.raises(DomainError) as refused:
        book(c, free, 12, day=TUESDAY)
    assert refused.value.code == QuotaErrorCode.FREE_BOOKING_LIMIT
    assert refused.value.details == {"limit": 2}


def test_moving_a_free_booking_does_not_count_against_itself(
    small_clinic: SmallClinic, free: Service
) -> None:
    c = small_clinic
    appointment = book(c, free, 9)
    moved = reschedule_appointment(
        appointment=appointment, starts_at=at(TUESDAY, 10), channel=Channel.WEB, now=NOW
    )
    assert moved.status == Status.BOOKED


def test_a_booking_moves_twice_and_then_no_more(small_clinic: SmallClinic) -> None:
    c = small_clinic
    appointment = book(c, c.therapy, 9)
    for hour in (10, 11):
        appointment = reschedule_appointment(
            appointment=appointment, starts_at=at(MONDAY, hour), channel=Channel.WEB, now=NOW
        )
    assert moves_so_far(appointment) == 2
    with pytest.raises(DomainError) as refused, translation.override("en"):
        reschedule_appointment(
            appointment=appointment, starts_at=at(MONDAY, 12), channel=Channel.PHONE, now=NOW
        )
    assert refused.value.code == QuotaErrorCode.RESCHEDULE_LIMIT
    assert "moved 2 times already" in str(refused.value.message)
    appointment.refresh_from_db()
    assert appointment.status == Status.BOOKED
    assert appointment.starts_at == at(MONDAY, 11)


def test_the_move_limit_is_per_clinic_and_per_booking(small_clinic: SmallClinic) -> None:
    c = small_clinic
    BookingPolicy.objects.create(clinic=c.clinic, max_reschedules=0)
    appointment = book(c, c.therapy, 9)
    with pytest.raises(DomainError) as refused:
        reschedule_appointment(
            appointment=appointment, starts_at=at(MONDAY, 10), channel=Channel.WEB, now=NOW
        )
    assert refused.value.code == QuotaErrorCode.RESCHEDULE_LIMIT
    other = book_appointment(
        patient=c.other_patient, service=c.therapy, starts_at=at(MONDAY, 10), channel=Channel.WEB, now=NOW
    )
    assert moves_so_far(other) == 0


def test_the_quotas_refuse_a_hold_before_the_patient_confirms(
    small_clinic: SmallClinic, free: Service
) -> None:
    c = small_clinic
    held = book(c, free, 9)
    with pytest.raises(DomainError) as refused:
        place_hold(patient=c.patient, service=free, starts_at=at(TUESDAY, 11), now=NOW)
    assert refused.value.code == QuotaErrorCode.FREE_BOOKING_LIMIT
    assert not SlotHold.objects.exists()
    # Moving that booking holds a new time: the booking being moved does not count against itself
    hold = place_hold(
        patient=c.patient, service=free, starts_at=at(TUESDAY, 11), ignore_appointment_id=held.pk, now=NOW
    )
    assert hold.starts_at == at(TUESDAY, 11)


def test_a_booking_moved_twice_cannot_even_hold_a_third_time(small_clinic: SmallClinic) -> None:
    c = small_clinic
    appointment = book(c, c.therapy, 9)
    for hour in (10, 11):
        appointment = reschedule_appointment(
            appointment=appointment, starts_at=at(MONDAY, hour), channel=Channel.WEB, now=NOW
        )
    with pytest.raises(DomainError) as refused:
        place_hold(
            patient=c.patient,
            service=c.therapy,
            starts_at=at(MONDAY, 12),
            ignore_appointment_id=appointment.pk,
            now=NOW,
        )
    assert refused.value.code == QuotaErrorCode.RESCHEDULE_LIMIT


# Patients new to the clinic share their phone's quota ----------------------------------------------------


def on_one_phone(c: SmallClinic, count: int) -> list[Patient]:
    """`count` invented adults on one SIM card, as a scalper registers them (six a phone are allowed)."""
    return [factories.PatientFactory(clinic=c.clinic, phone="+998901112233") for _ in range(count)]


def book_for(
    patient: Patient, service: Service, hour: int, *, channel: Channel = Channel.WEB, day: date = MONDAY
) -> Appointment:
    return book_appointment(
        patient=patient, service=service, starts_at=at(day, hour), channel=channel, now=NOW
    )


def test_new_patients_on_one_phone_share_one_free_visit_online_and_by_the_call_centre(
    small_clinic: SmallClinic, free: Service
) -> None:
    c = small_clinic
    first, second, third = on_one_phone(c, 3)
    book_for(first, free, 9)
    for patient, channel in ((second, Channel.WEB), (third, Channel.PHONE)):
        with translation.override("en"):
            with pytest.raises(DomainError) as refused:
                book_for(patient, free, 11, channel=channel, day=TUESDAY)
            assert refused.value.code == QuotaErrorCode.PHONE_FREE_BOOKING_LIMIT
            assert "reception desk" in str(refused.value.message)
    with translation.override("ru"):
        with pytest.raises(DomainError) as refused:
            book_for(second, free, 12, day=TUESDAY)
        assert "номер" in str(refused.value.message)
    assert Appointment.objects.filter(patient__in=[first, second, third]).count() == 1
    # Paid care and another specialty are not limited.
    assert book_for(second, c.therapy, 10).status == Status.BOOKED


def test_the_desk_a_checked_document_or_a_past_visit_lifts_the_phone_limit(
    small_clinic: SmallClinic, free: Service
) -> None:
    c = small_clinic
    first, second, third, fourth = on_one_phone(c, 4)
    visited = book_for(first, free, 11, day=NOW.date())
    # At the desk the registrar sees the person: the limit is per patient there.
    assert book_for(second, free, 10, channel=Channel.RECEPTION).status == Status.BOOKED
    # A document checked: no longer new to the clinic.
    third.is_verified = True
    third.save()
    assert book_for(third, free, 11).status == Status.BOOKED
    with pytest.raises(DomainError) as refused:
        book_for(fourth, free, 12)
    assert refused.value.code == QuotaErrorCode.PHONE_FREE_BOOKING_LIMIT
    # The first one came to his visit: the clinic has seen him, and his visit no longer counts for the phone
    # (the desk's booking for the second still does).
    change_status(appointment=visited, to=Status.ARRIVED)
    change_status(appointment=visited, to=Status.FULFILLED)
    with pytest.raises(DomainError):
        book_for(fourth, free, 12)
    cancel_appointment(appointment=Appointment.objects.get(patient=second))
    assert book_for(fourth, free, 12).status == Status.BOOKED


def test_a_child_on_the_parents_phone_and_other_phones_are_not_counted(
    small_clinic: SmallClinic, free: Service
) -> None:
    c = small_clinic
    (parent,) = on_one_phone(c, 1)
    child = factories.PatientFactory(clinic=c.clinic, phone="", birth_date=date(2018, 4, 2))
    book_for(parent, free, 9)
    assert book_for(child, free, 10).status == Status.BOOKED
    assert book_for(c.other_patient, free, 11).status == Status.BOOKED
