"""iCalendar (RFC 5545) for appointments: one .ics per appointment for the patient, feeds for dentists.

Times are written in UTC (the `Z` form), which every calendar program converts to the phone's own zone;
the clinic's local time is in the description as the clinic states it. Events carry no personal data
beyond what the reader already owns: a patient's own .ics names the service, dentist and clinic.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from icalendar import Alarm, Calendar, Event

from navbat.booking.models import Appointment
from navbat.booking.statuses import ACTIVE_STATUSES

PRODUCT_ID = "-//navbat//appointments//EN"
UID_DOMAIN = "navbat"
CONTENT_TYPE = "text/calendar; charset=utf-8"


def new_calendar(name: str = "") -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", PRODUCT_ID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    if name:
        calendar.add("x-wr-calname", name)
    return calendar


def appointment_uid(appointment: Appointment) -> str:
    return f"appointment-{appointment.pk}@{UID_DOMAIN}"


def patient_event(appointment: Appointment, *, now: datetime | None = None) -> Event:
    """The patient's view of his visit: what, with whom, where; a reminder two hours before."""
    clinic = appointment.clinic
    local_start = timezone.localtime(appointment.starts_at, clinic.tz)
    event = _event(appointment, now=now)
    event.add("summary", f"{appointment.service.name} — {clinic.name}")
    if clinic.address:
        event.add("location", clinic.address)
    event.add(
        "description",
        "\n".join(
            [
                _("Dentist: %(name)s") % {"name": appointment.dentist.display_name},
                _("Chair: %(name)s") % {"name": appointment.chair.name},
                _("Local time: %(time)s (%(zone)s)")
                % {"time": date_format(local_start, "DATETIME_FORMAT"), "zone": clinic.time_zone},
            ]
        ),
    )
    if appointment.status in ACTIVE_STATUSES:
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", _("Dental appointment in two hours"))
        alarm.add("trigger", timedelta(hours=-2))
        event.add_component(alarm)
    return event


def appointment_ics(appointment: Appointment, *, now: datetime | None = None) -> bytes:
    """One appointment as a calendar file the patient can open on his phone."""
    calendar = new_calendar()
    calendar.add_component(patient_event(appointment, now=now))
    return bytes(calendar.to_ical())


def calendar_bytes(events: Iterable[Event], *, name: str = "") -> bytes:
    calendar = new_calendar(name)
    for event in events:
        calendar.add_component(event)
    return bytes(calendar.to_ical())


def _event(appointment: Appointment, *, now: datetime | None) -> Event:
    event = Event()
    event.add("uid", appointment_uid(appointment))
    event.add("dtstamp", (now or timezone.now()).astimezone(UTC))
    event.add("last-modified", appointment.updated_at.astimezone(UTC))
    event.add("dtstart", appointment.starts_at.astimezone(UTC))
    event.add("dtend", appointment.ends_at.astimezone(UTC))
    event.add("status", "CONFIRMED" if appointment.status in ACTIVE_STATUSES else "CANCELLED")
    return event


# Dentists' feeds (clinic/services.calendar_feed_ics) ------------------------------------------------------


def dentist_event(appointment: Appointment, *, now: datetime | None = None) -> Event:
    """A visit in a dentist's feed. His phone syncs it to a third-party cloud (Google, Apple, Microsoft), so
    it names the service, the chair and the patient's number and initials only: no full name, no phone, no
    notes, no clinical alerts."""
    clinic = appointment.clinic
    local_start = timezone.localtime(appointment.starts_at, clinic.tz)
    patient = patient_label(appointment)
    event = _event(appointment, now=now)
    event.add("summary", f"{appointment.service.name} · {patient}")
    event.add("location", f"{appointment.chair.name}, {clinic.name}")
    event.add(
        "description",
        "\n".join(
            [
                _("Patient: %(patient)s") % {"patient": patient},
                _("Chair: %(name)s") % {"name": appointment.chair.name},
                _("Dentist: %(name)s") % {"name": appointment.dentist.display_name},
                _("Local time: %(time)s (%(zone)s)")
                % {"time": date_format(local_start, "DATETIME_FORMAT"), "zone": clinic.time_zone},
            ]
        ),
    )
    return event


def patient_label(appointment: Appointment) -> str:
    """The patient as a dentist's phone calendar names him: his number and initials ("NB-000007-5 Y. M.")."""
    patient = appointment.patient
    initials = " ".join(f"{part[:1]}." for part in (patient.surname, patient.name) if part)
    return " ".join(part for part in (patient.number or "", initials) if part)
