"""Invariant 1 under contention: 32 writers, each on its own connection, race for one slot."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.db import IntegrityError, OperationalError, connection, connections

from navbat.booking.errors import BookingErrorCode
from navbat.booking.models import Appointment
from navbat.booking.services import book_appointment
from navbat.booking.statuses import Channel, Status
from navbat.errors import DomainError
from navbat.patients.models import Patient
from tests import factories
from tests.small_clinic import MONDAY, NOW, SmallClinic, at

WRITERS = 32


@pytest.mark.django_db(transaction=True)
def test_32_writers_racing_for_one_slot_get_exactly_one_booking(small_clinic: SmallClinic) -> None:
    c = small_clinic
    patients = [factories.PatientFactory(clinic=c.clinic) for _ in range(WRITERS)]
    start_together = threading.Barrier(WRITERS)
    outcomes: list[str] = []
    lock = threading.Lock()

    def writer(patient: Patient) -> None:
        try:
            start_together.wait()
            book_appointment(
                patient=patient,
                service=c.therapy,
                starts_at=at(MONDAY, 10),
                dentist=c.first,
                channel=Channel.WEB,
                now=NOW,
            )
            outcome = "booked"
        except DomainError as error:
            outcome = str(error.code)
        except Exception as error:  # anything else is a bug the test must show, not hide
            outcome = f"crash: {type(error).__name__}"
        finally:
            connections.close_all()
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=writer, args=(patient,)) for patient in patients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert Counter(outcomes) == {"booked": 1, BookingErrorCode.SLOT_TAKEN: WRITERS - 1}
    assert Appointment.objects.filter(status=Status.BOOKED).count() == 1


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="exclusion constraints exist on PostgreSQL only"
)
def test_postgresql_refuses_an_overlapping_row_even_past_the_service(small_clinic: SmallClinic) -> None:
    c = small_clinic
    fields = {"clinic": c.clinic, "service": c.therapy, "chair": c.chair_plain, "channel": Channel.PHONE}
    Appointment.objects.create(
        patient=c.patient, dentist=c.first, starts_at=at(MONDAY, 10), ends_at=at(MONDAY, 10, 30), **fields
    )
    # A cancelled row may overlap: only active statuses occupy time.
    Appointment.objects.create(
        patient=c.other_patient,
        dentist=c.first,
        starts_at=at(MONDAY, 10),
        ends_at=at(MONDAY, 10, 30),
        status=Status.CANCELLED,
        **fields,
    )

    with pytest.raises(IntegrityError, match="appointment_no_dentist_overlap"):
        Appointment.objects.create(
            patient=c.other_patient,
            dentist=c.first,
            starts_at=at(MONDAY, 10, 15),
            ends_at=at(MONDAY, 10, 45),
            **fields,
        )


class _Deadlock(Exception):
    sqlstate = "40P01"  # what psycopg's DeadlockDetected carries


def test_a_writer_postgresql_aborts_in_a_deadlock_is_told_the_time_is_taken(
    small_clinic: SmallClinic, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Writers racing through three exclusion constraints can wait on each other in a circle; PostgreSQL
    then aborts one of them. That writer lost the race: a 409 slot_taken, not a 500."""
    c = small_clinic

    def deadlocked(self: Appointment, *args: object, **kwargs: object) -> None:
        raise OperationalError("deadlock detected") from _Deadlock()

    monkeypatch.setattr(Appointment, "save", deadlocked)

    with pytest.raises(DomainError) as refused:
        book_appointment(
            patient=c.patient,
            service=c.therapy,
            starts_at=at(MONDAY, 10),
            dentist=c.first,
            channel=Channel.WEB,
            now=NOW,
        )

    assert refused.value.code == BookingErrorCode.SLOT_TAKEN
    monkeypatch.undo()
    assert not Appointment.objects.exists()


def test_any_other_operational_error_is_not_disguised_as_a_taken_time(
    small_clinic: SmallClinic, monkeypatch: pytest.MonkeyPatch
) -> None:
    c = small_clinic

    def broken(self: Appointment, *args: object, **kwargs: object) -> None:
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(Appointment, "save", broken)

    with pytest.raises(OperationalError):
        book_appointment(
            patient=c.patient,
            service=c.therapy,
            starts_at=at(MONDAY, 10),
            dentist=c.first,
            channel=Channel.WEB,
            now=NOW,
        )
