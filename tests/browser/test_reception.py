"""The reception desk in a real browser: a registrar handles a walk-in and an emergency, marks a patient
arrived and moves an appointment by clicking a free time — in Russian and in Uzbek, on a desktop screen.

The desk works from the real clock ("the first free time from now", "the earliest time today"). So that
the day is always the same working morning whenever the test runs, the clinic's time zone is chosen to make
it about nine o'clock there now (Etc/GMT±N): working hours 08:00–18:00 every day, lunch 13:00–14:00.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.utils import translation
from playwright.sync_api import Locator, Page, expect

from navbat.booking.models import Appointment
from navbat.booking.services import book_appointment, change_status
from navbat.booking.statuses import Channel, Status
from navbat.clinic.models import Chair, Clinic, Service, Specialty, StaffMember, StaffRole
from navbat.patients.models import MedicalAlert, Patient
from tests import factories
from tests.browser.conftest import translated
from tests.browser.test_registry import registered, sign_in

pytestmark = pytest.mark.browser

LANGUAGES = ["ru", "uz"]
PHONE_WIDTH = 360


def zone_where_it_is(hour: int) -> str:
    """An IANA zone in which the local time now is `hour` o'clock and some minutes."""
    offset = ((hour - datetime.now(UTC).hour + 12) % 24) - 12
    return "Etc/UTC" if offset == 0 else f"Etc/GMT{-offset:+d}"  # Etc/GMT-5 is UTC+5


class Morning:
    """A clinic at about nine in the morning: two therapists and a surgeon; the first therapist is booked
    08:00–12:00 (Rahimov at 10:30, Toshmatov at 11:30), the second 08:00–11:00."""

    def __init__(self) -> None:
        self.clinic: Clinic = factories.ClinicFactory(
            name="Yunusobod tish poliklinikasi",
            time_zone=zone_where_it_is(9),
            observes_national_holidays=False,
            patient_prefix="NB",
        )
        tz = ZoneInfo(self.clinic.time_zone)
        self.today: date = datetime.now(tz).date()
        self.tz = tz
        department = factories.DepartmentFactory(clinic=self.clinic)
        chairs = [factories.ChairFactory(department=department, name=f"Kreslo {n}") for n in (1, 2, 3)]
        therapist = factories.SpecialtyFactory()
        surgeon = factories.SpecialtyFactory(
            code="surgeon", name_uz="Jarroh", name_ru="Хирург", name_en="Surgeon"
        )
        self.first = self.dentist("Alisher", "Nazarov", therapist, chairs[0])
        self.second = self.dentist("Malika", "Sobirova", therapist, chairs[1])
        self.dentist("Bobur", "Ergashev", surgeon, chairs[2])
        self.therapy: Service = factories.ServiceFactory(
            clinic=self.clinic, code="caries", specialty=therapist
        )
        self.pain: Service = factories.ServiceFactory(
            clinic=self.clinic,
            code="pain-relief",
            specialty=therapist,
            name_uz="Shoshilinch ogʻriqni qoldirish",
            name_ru="Неотложное снятие боли",
            name_en="Urgent pain relief",
        )
        factories.ServiceFactory(
            clinic=self.clinic,
            code="abscess",
            specialty=surgeon,
            name_uz="Abstsessni ochish",
            name_ru="Вскрытие абсцесса",
            name_en="Abscess drainage",
        )
        self.walk_in = registered(self.clinic, "Yuldashev", "Aziz", "+998901234567")
        self.urgent = registered(self.clinic, "Karimova", "Dilnoza", "+998935550000")
        self.waiting = registered(self.clinic, "Rahimov", "Jasur", "+998971112233")
        self.moving = registered(self.clinic, "Toshmatov", "Sardor", "+998974445566")
        named = {time(10, 30): self.waiting, time(11, 30): self.moving}
        self.book(self.first, time(8), time(12), named)
        self.book(self.second, time(8), time(11), {})
        self.registrar = factories.StaffFactory(
            clinic=self.clinic, role=StaffRole.REGISTRAR, user__username="registrar"
        )

    def dentist(self, first_name: str, last_name: str, specialty: Specialty, chair: Chair) -> StaffMember:
        member: StaffMember = factories.StaffFactory(
            clinic=self.clinic,
            specialties=[specialty],
            user__first_name=first_name,
            user__last_name=last_name,
        )
        factories.weekly_plan(
            member, valid_from=self.today - timedelta(days=7), chair=chair, days=range(7), start=time(8)
        )
        return member

    def at(self, moment: time) -> datetime:
        return datetime.combine(self.today, moment, tzinfo=self.tz)

    def book(self, dentist: StaffMember, first: time, last: time, named: dict[time, Patient]) -> None:
        """Half-hour visits from `first` to `last`, booked by phone at midnight."""
        moment = self.at(first)
        while moment < self.at(last):
            patient = named.get(moment.time()) or factories.PatientFactory(clinic=self.clinic)
            book_appointment(
                patient=patient,
                service=self.therapy,
                starts_at=moment,
                dentist=dentist,
                channel=Channel.PHONE,
                now=self.at(time(0)),
            )
            moment += timedelta(minutes=30)

    def appointment(self, patient: Patient) -> Appointment:
        return Appointment.objects.get(patient=patient, status__in=[Status.BOOKED, Status.ARRIVED])

    def appointment_of(self, patient: Patient) -> Appointment:
        return Appointment.objects.exclude(status=Status.CANCELLED).get(patient=patient)


def column(page: Page, dentist: StaffMember) -> Locator:
    return page.locator(f"#col-dentist-{dentist.pk}")


def visit_in(page: Page, dentist: StaffMember, patient: Patient) -> Locator:
    """His visit in the dentist's column (not the cancelled ones folded away under it)."""
    return column(page, dentist).locator("ol.desk-entries > li.desk-appt", has_text=patient.short_name)


def choose_patient(page: Page, language: str, typed: str, full_name: str) -> None:
    """Type part of his name in the desk's search box, as he spells it aloud, and pick him."""
    box = page.get_by_label(translated(language, "Find the patient"))
    box.press_sequentially(typed, delay=40)
    page.locator("#desk-found").get_by_role("link", name=full_name).click()
    expect(page.locator(".desk-patient")).to_contain_text(full_name)


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_registrar_books_a_walk_in_and_an_emergency_marks_an_arrival_and_moves_a_visit(
    page: Page, language: str
) -> None:
    day = Morning()
    sign_in(page, language, "registrar")  # lands on the day board

    expect(page.get_by_role("heading", level=1)).to_contain_text(str(day.today.day))
    expect(column(page, day.first)).to_contain_text("Rahimov J.")

    # A walk-in: Yuldashev, found by typing in Cyrillic; the first free time is the second therapist's 11:00.
    choose_patient(page, language, "Юлдаш", "Yuldashev Aziz")
    walk_in = page.locator(
        "form", has=page.get_by_role("button", name=translated(language, "Book the first free time"))
    )
    with translation.override(language):
        walk_in.get_by_label(translated(language, "Service")).select_option(label=str(day.therapy.name))
    walk_in.get_by_role("button", name=translated(language, "Book the first free time")).click()
    booked = visit_in(page, day.second, day.walk_in)
    expect(booked).to_contain_text("11:00–11:30")
    expect(booked.locator(".status")).to_contain_text(translated(language, "Walk-in"))
    expect(page.locator(".desk-messages")).to_contain_text("Yuldashev A.")

    # An emergency: Karimova in pain goes to the earliest time today across the therapists: 11:30.
    choose_patient(page, language, "Karim", "Karimova Dilnoza")
    emergency = page.locator("form.desk-emergency")
    emergency.get_by_label(translated(language, "Severe pain")).check()
    with translation.override(language):
        emergency.get_by_label(translated(language, "Service")).select_option(label=str(day.pain.name))
    emergency.get_by_role("button", name=translated(language, "Book the earliest time today")).click()
    urgent = visit_in(page, day.second, day.urgent)
    expect(urgent).to_contain_text("11:30–12:00")
    expect(urgent.locator(".status")).to_contain_text(translated(language, "Emergency"))

    # Rahimov has come: marked arrived; only his column is redrawn.
    waiting = visit_in(page, day.first, day.waiting)
    waiting.get_by_text(translated(language, "Has come…")).click()  # the identity check unfolds
    waiting.locator('select[name="identity"]').select_option("birth_date")  # name and birth date asked
    waiting.get_by_role("button", name=translated(language, "Mark arrived")).click()
    expect(visit_in(page, day.first, day.waiting).locator(".status")).to_have_text(
        translated(language, "Arrived")
    )
    expect(column(page, day.first).locator(".desk-message")).to_be_visible()

    # Toshmatov's 11:30 is moved by clicking "Move", then the free 12:30 in the same column.
    visit_in(page, day.first, day.moving).get_by_role("link", name=translated(language, "Move")).click()
    expect(page.locator("#desk-moving")).to_be_focused()
    with translation.override(language):
        target = translated(language, "Move to %(time)s, %(where)s") % {
            "time": "12:30",
            "where": day.first.display_name,
        }
    column(page, day.first).get_by_role("button", name=target).click()
    expect(page.locator("#desk-moving")).to_have_count(0)
    expect(visit_in(page, day.first, day.moving)).to_contain_text("12:30–13:00")

    assert day.appointment(day.walk_in).channel == Channel.WALK_IN
    assert day.appointment(day.urgent).channel == Channel.EMERGENCY
    assert translated(language, "Severe pain") in day.appointment(day.urgent).notes
    assert day.appointment(day.waiting).status == Status.ARRIVED
    assert day.appointment(day.moving).starts_at == day.at(time(12, 30))


@pytest.mark.parametrize("screen", ["phone"])
@pytest.mark.parametrize("language", ["uz"])
def test_a_dentist_on_his_phone_sees_his_patients_alerts_and_marks_the_arrived_one_done(
    page: Page, language: str, screenshot: Callable[[str], Path]
) -> None:
    day = Morning()
    change_status(appointment=day.appointment(day.waiting), to=Status.ARRIVED)
    MedicalAlert.objects.create(patient=day.waiting, kind="allergy", note="Lidokain")
    day.first.user.username = "dentist"
    day.first.user.save()
    sign_in(page, language, "dentist")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_WIDTH  # the board fits
    screenshot("board")

    page.locator("header").get_by_role("link", name=translated(language, "My day")).click()

    rows = page.locator("ol.my-day > li")
    expect(rows).to_have_count(8)  # his half-hour visits from 08:00 to 12:00, in order
    expect(rows.first).to_contain_text("08:00–08:30")
    waiting = rows.filter(has_text="Rahimov Jasur")
    expect(waiting).to_contain_text("Lidokain")
    expect(waiting.locator(".my-day-status")).to_have_text(translated(language, "Arrived"))
    expect(rows.filter(has_text="Toshmatov Sardor").get_by_role("button")).to_have_count(0)  # not come yet
    waiting.get_by_role("button", name=translated(language, "Visit done")).tap()
    expect(waiting.locator(".my-day-status")).to_have_text(translated(language, "Fulfilled"))
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_WIDTH
    assert day.appointment_of(day.waiting).status == Status.FULFILLED


@pytest.mark.parametrize("language", ["ru"])
def test_a_registrar_drags_a_visit_onto_a_free_time_of_another_dentist(page: Page, language: str) -> None:
    day = Morning()
    sign_in(page, language, "registrar")

    # Toshmatov's 11:30 with the first therapist, dropped on the second one's free afternoon.
    afternoon = column(page, day.second).locator("li.desk-gap", has_text="14:00–18:00")
    visit_in(page, day.first, day.moving).drag_to(afternoon)

    expect(visit_in(page, day.second, day.moving)).to_contain_text("14:00–14:30")
    expect(page.locator(".desk-messages")).to_contain_text("Toshmatov S.")
    moved = day.appointment_of(day.moving)
    assert (moved.dentist, moved.starts_at) == (day.second, day.at(time(14)))
