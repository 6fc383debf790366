"""Holds: a time chosen online is kept for its patient for five minutes, invisible and unbookable for others
(online, by staff, through the API), free again when it expires; of patients racing for one time, one
holds it."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import datetime, timedelta

import pytest
from django.db import connections

from navbat.booking.errors import BookingErrorCode
from navbat.booking.holds import (
    HOLD_MINUTES,
    HoldErrorCode,
    book_held,
    move_held,
    place_hold,
    purge_expired_holds,
    release_hold,
)
from navbat.booking.models import Appointment, SlotHold
from navbat.booking.selectors import find_free_slots
from navbat.booking.services import book_appointment
from navbat.booking.statuses import Channel, Status
from navbat.errors import DomainError
from navbat.patients.models import Patient
from tests import factories
from tests.small_clinic import MONDAY, NOW, SmallClinic, at

pytestmark = pytest.mark.django_db

TEN = at(MONDAY, 10)
AFTER_EXPIRY = NOW + timedelta(minutes=HOLD_MINUTES, seconds=1)


def free_starts(c: SmallClinic, patient: Patient, *, now: datetime = NOW) -> set[datetime]:
    slots = find_free_slots(
        clinic=c.clinic,
        service=c.therapy,
        first_day=MONDAY,
        last_day=MONDAY,
        now=now,
        dentist=c.first,
        patient_id=patient.pk,
        limit=None,
    )
    return {slot.start for slot in slots}


def hold_ten(c: SmallClinic, patient: Patient | None = None) -> SlotHold:
    return place_hold(
        patient=patient or c.patient, service=c.therapy, starts_at=TEN, dentist=c.first, now=NOW
    )


def test_a_held_time_is_hidden_from_others_but_not_from_its_holder(small_clinic: SmallClinic) -> None:
    c = small_clinic

    hold = hold_ten(c)

    assert (hold.dentist_id, hold.starts_at, hold.ends_at) == (c.first.pk, TEN, at(MONDAY, 10, 30))
    assert hold.expires_at == NOW + timedelta(minutes=HOLD_MINUTES)
    assert TEN not in free_starts(c, c.other_patient)
    assert at(MONDAY, 9, 45) not in free_starts(c, c.other_patient)  # would run into the held half hour
    assert TEN in free_starts(c, c.patient)


@pytest.mark.parametrize("channel", [Channel.WEB, Channel.PHONE, Channel.RECEPTION])
def test_booking_a_time_someone_else_holds_is_refused_as_taken(
    small_clinic: SmallClinic, channel: Channel
) -> None:
    c = small_clinic
    hold_ten(c)

    with pytest.raises(DomainError) as refused:
        book_appointment(
            patient=c.other_patient,
            service=c.therapy,
            starts_at=TEN,
            dentist=c.first,
            channel=channel,
            now=NOW,
        )

    assert refused.value.code == BookingErrorCode.SLOT_TAKEN
    assert not Appointment.objects.exists()


def test_another_dentist_is_still_free_at_the_held_time(small_clinic: SmallClinic) -> None:
    c = small_clinic
    hold_ten(c)

    booked = book_appointment(
        patient=c.other_patient, service=c.therapy, starts_at=TEN, channel=Channel.PHONE, now=NOW
    )

    assert booked.dentist_id == c.second.pk


def test_an_expired_hold_frees_the_time_for_everybody(small_clinic: SmallClinic) -> None:
    c = small_clinic
    hold_ten(c)

    assert TEN in free_starts(c, c.other_patient, now=AFTER_EXPIRY)
    booked = book_appointment(
        patient=c.other_patient,
        service=c.therapy,
        starts_at=TEN,
        dentist=c.first,
        channel=Channel.PHONE,
        now=AFTER_EXPIRY,
    )
    assert booked.starts_at == TEN


def test_a_new_hold_can_be_placed_over_an_expired_one(small_clinic: SmallClinic) -> None:
    c = small_clinic
    hold_ten(c)

    second = place_hold(
        patient=c.other_patient, service=c.therapy, starts_at=TEN, dentist=c.first, now=AFTER_EXPIRY
    )

    assert list(SlotHold.objects.values_list("patient_id", flat=True)) == [c.other_patient.pk]
    assert second.starts_at == TEN


def test_the_holder_books_his_held_time_with_its_notes(small_clinic: SmallClinic) -> None:
    c = small_clinic
    hold = place_hold(
        patient=c.patient,
        service=c.therapy,
        starts_at=TEN,
        dentist=c.first,
        urgent=True,
        notes="Urgent: in pain.",
        now=NOW,
    )

    appointment = book_held(hold=hold, note="Afraid of needles", now=NOW + timedelta(minutes=2))

    assert (appointment.patient, appointment.starts_at, appointment.dentist) == (c.patient, TEN, c.first)
    assert appointment.channel == Channel.WEB
    assert appointment.notes == "Urgent: in pain.\nAfraid of needles"
    assert not SlotHold.objects.exists()


def test_an_expired_hold_still_books_if_nobody_took_the_time(small_clinic: SmallClinic) -> None:
    c = small_clinic
    hold = hold_ten(c)

    appointment = book_held(hold=hold, now=AFTER_EXPIRY)

    assert appointment.starts_at == TEN


def test_an_expired_hold_whose_time_was_taken_is_refused_as_taken(small_clinic: SmallClinic) -> None:
    c = small_clinic
    hold = hold_ten(c)
    book_appointment(
        patient=c.other_patient,
        service=c.therapy,
        starts_at=TEN,
        dentist=c.first,
        channel=Channel.PHONE,
        now=AFTER_EXPIRY,
    )

    with pytest.raises(DomainError) as refused:
        book_held(hold=hold, now=AFTER_EXPIRY)

    assert refused.value.code == BookingErrorCode.SLOT_TAKEN
    assert Appointment.objects.filter(patient=c.patient).count() == 0


def test_a_new_hold_replaces_the_patients_previous_one(small_clinic: SmallClinic) -> None:
    c = small_clinic
    first = hold_ten(c)

    place_hold(patient=c.patient, service=c.therapy, starts_at=at(MONDAY, 11), dentist=c.first, now=NOW)

    assert list(SlotHold.objects.values_list("starts_at", flat=True)) == [at(MONDAY, 11)]
    assert TEN in free_starts(c, c.other_patient)
    with pytest.raises(DomainError) as gone:
        book_held(hold=first, now=NOW)
    assert gone.value.code == HoldErrorCode.HOLD_GONE


def test_releasing_a_hold_frees_the_time_at_once(small_clinic: SmallClinic) -> None:
    c = small_clinic
    hold = hold_ten(c)

    release_hold(hold=hold)

    assert TEN in free_starts(c, c.other_patient)


def test_a_hold_follows_the_online_rules_notice_included(small_clinic: SmallClinic) -> None:
    c = small_clinic

    with pytest.raises(DomainError) as refused:
        place_hold(patient=c.patient, service=c.therapy, starts_at=TEN, now=TEN - timedelta(minutes=30))

    assert refused.value.code == BookingErrorCode.SLOT_UNAVAILABLE
    assert not SlotHold.objects.exists()


def test_a_held_time_can_be_moved_to_and_the_old_one_is_freed(small_clinic: SmallClinic) -> None:
    c = small_clinic
    booked = book_appointment(
        patient=c.patient, service=c.therapy, starts_at=TEN, dentist=c.first, channel=Channel.WEB, now=NOW
    )
    # A quarter of an hour later: the new time overlaps the old, which the move frees.
    hold = place_hold(
        patient=c.patient,
        service=c.therapy,
        starts_at=at(MONDAY, 10, 15),
        dentist=c.first,
        ignore_appointment_id=booked.pk,
        now=NOW,
    )

    moved = move_held(hold=hold, appointment=booked, now=NOW)

    booked.refresh_from_db()
    assert booked.status == Status.CANCELLED
    assert (moved.starts_at, moved.status) == (at(MONDAY, 10, 15), Status.BOOKED)
    assert not SlotHold.objects.exists()


def test_old_expired_holds_are_purged(small_clinic: SmallClinic) -> None:
    c = small_clinic
    hold_ten(c)

    assert purge_expired_holds(now=NOW + timedelta(minutes=30)) == 0
    assert purge_expired_holds(now=NOW + timedelta(hours=2)) == 1


WRITERS = 8


@pytest.mark.django_db(transaction=True)
def test_patients_racing_for_one_time_get_exactly_one_hold(small_clinic: SmallClinic) -> None:
    c = small_clinic
    patients = [factories.PatientFactory(clinic=c.clinic) for _ in range(WRITERS)]
    start_together = threading.Barrier(WRITERS)
    outcomes: list[str] = []
    lock = threading.Lock()

    def writer(patient: Patient) -> None:
        try:
            start_together.wait()
            place_hold(patient=patient, service=c.therapy, starts_at=TEN, dentist=c.first, now=NOW)
            outcome = "held"
        except DomainError as error:
            outcome = str(error.code)
        except Exception as error:  # anything else is a bug the test must show, not hide
            outcome = f"crash: {type(error).__name__}: {error}"
        finally:
            connections.close_all()
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=writer, args=(patient,)) for patient in patients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert Counter(outcomes) == {"held": 1, BookingErrorCode.SLOT_TAKEN: WRITERS - 1}
    assert SlotHold.objects.count() == 1
