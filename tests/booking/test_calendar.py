"""The patient's .ics: a calendar program reads the visit's time, place and status from it."""

from __future__ import annotations

from datetime import UTC, datetime

from django.utils import translation
from icalendar import Calendar

from navbat.booking.calendar import appointment_ics
from navbat.booking.services import book_appointment, cancel_appointment
from navbat.booking.statuses import Channel
from tests.small_clinic import MONDAY, NOW, SmallClinic, at


def test_an_appointment_file_holds_its_utc_times_place_and_a_reminder(small_clinic: SmallClinic) -> None:
    c = small_clinic
    c.clinic.address = "Navoiy 12"
    c.clinic.save()
    appointment = book_appointment(
        patient=c.patient, service=c.therapy, starts_at=at(MONDAY, 10), channel=Channel.WEB, now=NOW
    )
    with translation.override("ru"):
        calendar = Calendar.from_ical(appointment_ics(appointment))
    [event] = calendar.walk("VEVENT")
    assert event.decoded("dtstart") == datetime(2027, 3, 1, 5, 0, tzinfo=UTC)
    assert event.decoded("dtend") == datetime(2027, 3, 1, 5, 30, tzinfo=UTC)
    assert str(event["location"]) == "Navoiy 12"
    assert str(event["status"]) == "CONFIRMED"
    assert str(event["uid"]) == f"appointment-{appointment.pk}@navbat"
    assert "Врач" in str(event["description"])
    assert c.patient.surname not in calendar.to_ical().decode()
    assert len(event.walk("VALARM")) == 1


def test_a_cancelled_appointment_file_says_cancelled_and_has_no_reminder(small_clinic: SmallClinic) -> None:
    c = small_clinic
    appointment = book_appointment(
        patient=c.patient, service=c.therapy, starts_at=at(MONDAY, 10), channel=Channel.WEB, now=NOW
    )
    cancel_appointment(appointment=appointment)
    appointment.refresh_from_db()
    [event] = Calendar.from_ical(appointment_ics(appointment)).walk("VEVENT")
    assert str(event["status"]) == "CANCELLED"
    assert event.walk("VALARM") == []
