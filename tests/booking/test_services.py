"""book_appointment, change_status and cancel_appointment, through the service interface."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from navbat.booking.errors import BookingErrorCode
from navbat.booking.holds import place_hold
from navbat.booking.models import Appointment
from navbat.booking.services import (
    book_appointment,
    cancel_appointment,
    change_status,
    reschedule_appointment,
)
from navbat.booking.statuses import Channel, Status
from navbat.clinic.models import ClinicClosure, Network, ScheduleException, ScheduleExceptionKind
from navbat.errors import DomainError
from navbat.patients.models import NationalIdentifier
from tests import factories
from tests.small_clinic import MONDAY, NOW, SmallClinic, at


def book(c: SmallClinic, start: datetime, **kwargs: object) -> Appointment:
    options: dict[str, object] = {
        "patient": c.patient,
        "service": c.therapy,
        "starts_at": start,
        "channel": Channel.PHONE,
        "now": NOW,
    }
    options.update(kwargs)
    return book_appointment(**options)  # type: ignore[arg-type]


def refused(code: BookingErrorCode, c: SmallClinic, start: datetime, **kwargs: object) -> DomainError:
    with pytest.raises(DomainError) as caught:
        book(c, start, **kwargs)
    assert caught.value.code == code
    return caught.value


def test_booking_a_free_time_records_the_appointment_and_its_history(small_clinic: SmallClinic) -> None:
    c = small_clinic
    user = factories.UserFactory()

    appointment = book(c, at(MONDAY, 10), dentist=c.first, created_by=user)

    assert appointment.status == Status.BOOKED
    assert appointment.starts_at == at(MONDAY, 10)
    assert appointment.ends_at == at(MONDAY, 10, 30)
    assert appointment.dentist == c.first
    assert appointment.chair == c.chair_plain  # his default chair
    events = list(appointment.events.values_list("from_status", "to_status", "actor"))
    assert events == [("", Status.BOOKED, user.pk)]


def test_the_same_dentist_cannot_be_booked_twice_at_once(small_clinic: SmallClinic) -> None:
    c = small_clinic
    book(c, at(MONDAY, 10), dentist=c.first)

    error = refused(
        BookingErrorCode.SLOT_TAKEN, c, at(MONDAY, 10, 15), dentist=c.first, patient=c.other_patient
    )

    with translation.override("en"):
        assert "taken" in str(error.message)
    assert Appointment.objects.count() == 1


def test_any_dentist_goes_to_the_colleague_who_is_free(small_clinic: SmallClinic) -> None:
    c = small_clinic
    book(c, at(MONDAY, 10), dentist=c.first)

    second = book(c, at(MONDAY, 10), patient=c.other_patient)

    assert second.dentist == c.second


def test_the_same_patient_cannot_be_in_two_chairs_at_once(small_clinic: SmallClinic) -> None:
    c = small_clinic
    book(c, at(MONDAY, 10), dentist=c.first)

    refused(BookingErrorCode.SLOT_TAKEN, c, at(MONDAY, 10, 20), dentist=c.second)


def test_the_same_chair_cannot_hold_two_patients(small_clinic: SmallClinic) -> None:
    c = small_clinic
    book(c, at(MONDAY, 10), dentist=c.first, chair=c.chair_xray)

    refused(
        BookingErrorCode.SLOT_TAKEN,
        c,
        at(MONDAY, 10),
        dentist=c.second,
        chair=c.chair_xray,
        patient=c.other_patient,
    )


def test_back_to_back_appointments_are_fine(small_clinic: SmallClinic) -> None:
    c = small_clinic
    book(c, at(MONDAY, 10), dentist=c.first)

    following = book(c, at(MONDAY, 10, 30), dentist=c.first, patient=c.other_patient)

    assert following.starts_at == at(MONDAY, 10, 30)


@pytest.mark.parametrize(
    "start",
    [
        pytest.param(at(MONDAY, 13, 15), id="lunch break"),
        pytest.param(at(MONDAY, 17, 45), id="runs past closing"),
        pytest.param(at(MONDAY, 8, 0), id="before opening"),
        pytest.param(at(date(2027, 3, 6), 10), id="saturday"),
        pytest.param(at(date(2027, 9, 1), 10), id="independence day holiday"),
    ],
)
def test_nobody_working_is_slot_unavailable(small_clinic: SmallClinic, start: datetime) -> None:
    refused(BookingErrorCode.SLOT_UNAVAILABLE, small_clinic, start, dentist=small_clinic.first)


def test_leave_and_clinic_closures_take_time_away(small_clinic: SmallClinic) -> None:
    c = small_clinic
    ScheduleException.objects.create(staff=c.first, date=MONDAY, kind=ScheduleExceptionKind.LEAVE)
    ClinicClosure.objects.create(clinic=c.clinic, date=MONDAY + timedelta(days=1), reason="Sanitary day")

    refused(BookingErrorCode.SLOT_UNAVAILABLE, c, at(MONDAY, 10), dentist=c.first)
    refused(BookingErrorCode.SLOT_UNAVAILABLE, c, at(MONDAY + timedelta(days=1), 10))
    assert book(c, at(MONDAY, 10)).dentist == c.second


def test_extra_hours_open_a_saturday(small_clinic: SmallClinic) -> None:
    c = small_clinic
    saturday = date(2027, 3, 6)
    ScheduleException.objects.create(
        staff=c.first,
        date=saturday,
        kind=ScheduleExceptionKind.EXTRA,
        start=at(saturday, 9).time(),
        end=at(saturday, 12).time(),
    )

    assert book(c, at(saturday, 11)).dentist == c.first


def test_a_service_needing_an_x_ray_gets_the_chair_that_has_one(small_clinic: SmallClinic) -> None:
    c = small_clinic
    c.therapy.equipment.set([c.xray])

    appointment = book(c, at(MONDAY, 10), dentist=c.first)

    assert appointment.chair == c.chair_xray


def test_online_booking_needs_the_clinics_notice_but_the_call_centre_does_not(
    small_clinic: SmallClinic,
) -> None:
    c = small_clinic
    now = at(MONDAY, 9, 40)

    refused(BookingErrorCode.SLOT_UNAVAILABLE, c, at(MONDAY, 10), channel=Channel.WEB, now=now)
    assert book(c, at(MONDAY, 10), channel=Channel.PHONE, now=now).status == Status.BOOKED


def test_times_in_the_past_and_without_a_zone_are_refused(small_clinic: SmallClinic) -> None:
    c = small_clinic
    refused(BookingErrorCode.IN_THE_PAST, c, NOW - timedelta(hours=1))
    refused(BookingErrorCode.NAIVE_DATETIME, c, at(MONDAY, 10).replace(tzinfo=None))


def test_a_childrens_service_is_not_booked_for_an_adult(small_clinic: SmallClinic) -> None:
    c = small_clinic
    c.therapy.max_age = 17
    c.therapy.save()

    error = refused(BookingErrorCode.SERVICE_NOT_FOR_AGE, c, at(MONDAY, 10))

    assert error.details == {"min_age": None, "max_age": 17}


def test_a_dentist_of_another_clinic_is_refused(small_clinic: SmallClinic) -> None:
    stranger = factories.StaffFactory()

    refused(BookingErrorCode.WRONG_CLINIC, small_clinic, at(MONDAY, 10), dentist=stranger)


def test_cancelling_frees_the_time_at_once_and_is_recorded(small_clinic: SmallClinic) -> None:
    c = small_clinic
    operator = factories.UserFactory()
    first = book(c, at(MONDAY, 10), dentist=c.first)

    cancel_appointment(appointment=first, actor=operator, reason="patient called")
    again = book(c, at(MONDAY, 10), dentist=c.first, patient=c.other_patient)

    first.refresh_from_db()
    assert first.status == Status.CANCELLED
    assert again.status == Status.BOOKED
    last = first.events.last()
    assert last is not None
    assert (last.from_status, last.to_status, last.actor, last.reason) == (
        Status.BOOKED,
        Status.CANCELLED,
        operator,
        "patient called",
    )


def test_a_visit_runs_booked_arrived_checked_in_fulfilled(small_clinic: SmallClinic) -> None:
    appointment = book(small_clinic, at(MONDAY, 10))

    for status in (Status.ARRIVED, Status.CHECKED_IN, Status.FULFILLED):
        change_status(appointment=appointment, to=status)

    history = list(appointment.events.values_list("to_status", flat=True))
    assert history == [Status.BOOKED, Status.ARRIVED, Status.CHECKED_IN, Status.FULFILLED]


@pytest.mark.parametrize(
    ("path", "forbidden"),
    [
        ((Status.CANCELLED,), Status.BOOKED),
        ((Status.CANCELLED,), Status.ARRIVED),
        ((Status.NOSHOW,), Status.FULFILLED),
        ((Status.ARRIVED, Status.FULFILLED), Status.CANCELLED),
        ((Status.ENTERED_IN_ERROR,), Status.CANCELLED),
    ],
)
def test_transitions_outside_the_table_are_refused_and_change_nothing(
    small_clinic: SmallClinic, path: tuple[Status, ...], forbidden: Status
) -> None:
    appointment = book(small_clinic, at(MONDAY, 10))
    for status in path:
        change_status(appointment=appointment, to=status)
    events_before = appointment.events.count()

    with pytest.raises(DomainError) as caught:
        change_status(appointment=appointment, to=forbidden)

    assert caught.value.code == BookingErrorCode.INVALID_TRANSITION
    appointment.refresh_from_db()
    assert appointment.status == path[-1]
    assert appointment.events.count() == events_before


def proposal(c: SmallClinic, start: datetime) -> Appointment:
    """A proposed time (as the waitlist will make them): it does not hold the time yet."""
    return Appointment.objects.create(
        clinic=c.clinic,
        patient=c.other_patient,
        service=c.therapy,
        dentist=c.first,
        chair=c.chair_plain,
        starts_at=start,
        ends_at=start + timedelta(minutes=30),
        status=Status.PROPOSED,
        channel=Channel.PHONE,
    )


def test_an_accepted_proposal_takes_its_time_when_it_is_still_free(small_clinic: SmallClinic) -> None:
    offered = proposal(small_clinic, at(MONDAY, 11))

    change_status(appointment=offered, to=Status.BOOKED, reason="accepted")

    offered.refresh_from_db()
    assert offered.status == Status.BOOKED


def test_a_proposal_whose_time_was_taken_meanwhile_cannot_be_booked(small_clinic: SmallClinic) -> None:
    c = small_clinic
    offered = proposal(c, at(MONDAY, 11))
    book(c, at(MONDAY, 11), dentist=c.first)

    with pytest.raises(DomainError) as caught:
        change_status(appointment=offered, to=Status.BOOKED)

    assert caught.value.code == BookingErrorCode.SLOT_TAKEN
    offered.refresh_from_db()
    assert offered.status == Status.PROPOSED
    assert not offered.events.exists()


def test_state_funded_care_needs_a_national_identifier_where_the_clinic_requires_one(
    small_clinic: SmallClinic,
) -> None:
    c = small_clinic
    c.clinic.requires_national_id = True
    c.clinic.save()
    c.therapy.funding = "state"
    c.therapy.save()

    refused(BookingErrorCode.NATIONAL_ID_REQUIRED, c, at(MONDAY, 10))
    NationalIdentifier.objects.create(patient=c.patient, kind="pinfl", country="UZ", value="31705900263001")
    assert book(c, at(MONDAY, 10)).status == Status.BOOKED


def test_a_network_that_shares_its_registry_books_each_others_patients(small_clinic: SmallClinic) -> None:
    c = small_clinic
    network = Network.objects.create(name="Viloyat", shares_registry=False)
    neighbour = factories.ClinicFactory(network=network)
    c.clinic.network = network
    c.clinic.save()
    visitor = factories.PatientFactory(clinic=neighbour)

    refused(BookingErrorCode.WRONG_CLINIC, c, at(MONDAY, 10), patient=visitor)
    network.shares_registry = True
    network.save()
    c.clinic.refresh_from_db()
    assert book(c, at(MONDAY, 10), patient=visitor).patient == visitor


def test_a_time_just_taken_is_refused_before_the_days_schedule_is_read(small_clinic: SmallClinic) -> None:
    """Release day: most attempts meet a time somebody has just booked. They are refused by one look at the
    bookings and holds there, without loading the dentists' plans and the day's availability."""
    c = small_clinic
    book(c, at(MONDAY, 10), dentist=c.first)

    with CaptureQueriesContext(connection) as queries:
        refused(BookingErrorCode.SLOT_TAKEN, c, at(MONDAY, 10), dentist=c.first, patient=c.other_patient)

    read = " ".join(query["sql"] for query in queries.captured_queries)
    assert "clinic_workingplan" not in read
    assert Appointment.objects.count() == 1


def test_another_patients_hold_refuses_the_time_and_the_holders_own_does_not(
    small_clinic: SmallClinic,
) -> None:
    c = small_clinic
    hold = place_hold(
        patient=c.other_patient, service=c.therapy, starts_at=at(MONDAY, 10), dentist=c.first, now=NOW
    )

    refused(BookingErrorCode.SLOT_TAKEN, c, at(MONDAY, 10, 15), dentist=c.first, chair=hold.chair)
    own = book(c, at(MONDAY, 10), dentist=c.first, chair=hold.chair, patient=c.other_patient)

    assert own.starts_at == at(MONDAY, 10)


def test_a_visit_moves_into_time_it_overlaps_itself(small_clinic: SmallClinic) -> None:
    c = small_clinic
    visit = book(c, at(MONDAY, 10), dentist=c.first)

    moved = reschedule_appointment(
        appointment=visit, starts_at=at(MONDAY, 10, 15), channel=Channel.PHONE, dentist=c.first, now=NOW
    )

    assert (moved.starts_at, moved.dentist) == (at(MONDAY, 10, 15), c.first)
