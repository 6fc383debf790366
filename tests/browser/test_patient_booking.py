"""A parent books for his child on a phone, in a real browser: sign in with a code by SMS, then who →
service → first available dentist → a day of the date strip → a time (held) → confirm → the confirmation
with its .ics."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect
from pytest_django.fixtures import Settings

from navbat.booking.links import Purpose, appointment_token
from navbat.booking.models import Appointment, SlotHold
from navbat.booking.services import book_appointment
from navbat.booking.statuses import Channel, Status
from navbat.clinic.models import Clinic, Service, StaffMember, StaffRole
from navbat.notify.backends import MemoryBackend, Message
from navbat.patients.models import Patient
from tests import factories
from tests.browser.conftest import translated
from tests.browser.test_sign_in import code_sent_to, registered

pytestmark = pytest.mark.browser

PHONE_WIDTH = 360
LANGUAGES = ["ru", "uz"]


@pytest.fixture
def outbox(settings: Settings) -> Iterator[list[Message]]:
    """Messages stay in memory, where the test reads the code the parent would get by SMS."""
    settings.NAVBAT_NOTIFY_BACKEND = "navbat.notify.backends.MemoryBackend"
    MemoryBackend.clear()
    yield MemoryBackend.outbox
    MemoryBackend.clear()


@pytest.fixture
def clinic() -> Clinic:
    """A children's dentist who works 08:00–20:00 every day: the test finds times whatever the date."""
    clinic = factories.ClinicFactory(
        name="Yunusobod bolalar stomatologiya poliklinikasi",
        address="Toshkent sh., Yunusobod tumani, Amir Temur shoh koʻchasi, 107-uy",
        observes_national_holidays=False,
    )
    department = factories.DepartmentFactory(clinic=clinic)
    chair = factories.ChairFactory(department=department, name="Bolalar kreslosi 1")
    paediatric = factories.SpecialtyFactory(
        code="paediatric", name_uz="Bolalar stomatologi", name_ru="Детский стоматолог", name_en="Paediatric"
    )
    dentist: StaffMember = factories.StaffFactory(
        clinic=clinic,
        role=StaffRole.DENTIST,
        specialties=[paediatric],
        languages="uz,ru",
        user__first_name="Malika",
        user__last_name="Rahimova",
        user__password=None,
    )
    factories.weekly_plan(
        dentist,
        valid_from=date.today() - timedelta(days=7),
        chair=chair,
        days=range(7),
        start=time(8),
        end=time(20),
        lunch=None,
    )
    factories.ServiceFactory(
        clinic=clinic,
        code="child-exam",
        name_uz="Bolalar profilaktik koʻrigi",
        name_ru="Профилактический осмотр ребёнка",
        name_en="Child check-up",
        specialty=paediatric,
        duration_minutes=20,
        max_age=17,
    )
    return clinic


def sign_in(page: Page, language: str, outbox: list[Message], phone: str) -> None:
    page.goto("/me/login/")
    page.get_by_role("textbox").fill(phone[4:])
    page.get_by_role("button", name=translated(language, "Send the code")).tap()
    expect(page.get_by_role("heading", level=1)).to_have_text(translated(language, "Type the code"))
    page.get_by_label(translated(language, "Code from the SMS")).fill(code_sent_to(outbox, phone))
    page.get_by_role("button", name=translated(language, "Confirm")).tap()
    expect(page.get_by_role("heading", level=1)).to_have_text(translated(language, "My page"))


@pytest.mark.parametrize("screen", ["phone"])
@pytest.mark.parametrize("language", LANGUAGES)
def test_a_parent_books_for_his_child_on_his_phone(
    page: Page,
    clinic: Clinic,
    outbox: list[Message],
    language: str,
    screenshot: Callable[[str], Path],
) -> None:
    mother = registered(clinic, "Karimova", "Dilnoza", date(1988, 3, 9), phone="+998935550000")
    Patient.objects.filter(pk=mother.pk).update(preferred_language=language)  # her pages speak it once in
    child = registered(clinic, "Karimov", "Timur", date(2019, 4, 2), guardian=mother)
    sign_in(page, language, outbox, "+998935550000")

    page.get_by_role("main").get_by_role("link", name=translated(language, "Book an appointment")).tap()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        translated(language, "Who is the appointment for?")
    )
    page.get_by_role("link", name=re.compile("Karimov Timur")).tap()

    expect(page.get_by_role("heading", level=1)).to_have_text(translated(language, "What do you need?"))
    service_name = {"ru": "Профилактический осмотр ребёнка", "uz": "Bolalar profilaktik koʻrigi"}[language]
    page.get_by_role("link", name=re.compile(service_name)).tap()

    expect(page.get_by_role("heading", level=1)).to_have_text(translated(language, "Who should treat?"))
    expect(page.get_by_text("Malika Rahimova")).to_be_visible()
    expect(page.get_by_text("MR", exact=True)).to_be_visible()  # no photo: her initials
    page.get_by_role("link", name=re.compile(translated(language, "First available dentist"))).tap()

    expect(page.get_by_role("heading", level=1)).to_have_text(translated(language, "Choose a day and a time"))
    days = page.locator(".bk-days label")
    expect(days.first).to_be_visible()
    with page.expect_response(
        lambda r: "/book/when/" in r.url and r.request.header_value("hx-request") == "true"
    ):
        days.nth(2).tap()  # the day after tomorrow
    day = timezone.now().astimezone(clinic.tz).date() + timedelta(days=2)
    expect(page).to_have_url(re.compile(f"day={day.isoformat()}"))  # a reload or the back button keeps it
    times = page.locator("#times button")
    expect(times.first).to_have_text("08:00")
    screenshot("times")
    times.nth(4).tap()  # 09:00: a quarter-hour step

    expect(page.get_by_role("heading", level=1)).to_have_text(translated(language, "Confirm the time"))
    expect(page.get_by_role("timer")).to_have_text(re.compile(r"^[45]:\d\d$"))
    assert SlotHold.objects.filter(patient=child).exists()
    screenshot("held")
    page.get_by_role("button", name=translated(language, "Confirm the appointment")).tap()

    expect(page.get_by_role("heading", level=1)).to_have_text(translated(language, "Your appointment"))
    expect(page.get_by_role("status")).to_contain_text(
        translated(language, "Booked. We look forward to seeing you.")
    )
    expect(page.get_by_text("Karimov Timur")).to_be_visible()
    expect(page.get_by_text(re.compile(r"09:00–09:20"))).to_be_visible()
    calendar = page.get_by_role("link", name=translated(language, "Add to my calendar (.ics)"))
    with page.expect_download() as download:
        calendar.tap()
    assert download.value.suggested_filename == f"navbat-{day.isoformat()}-0900.ics"
    appointment = Appointment.objects.get(patient=child)
    assert (appointment.status, appointment.channel) == (Status.BOOKED, Channel.WEB)
    assert appointment.starts_at.astimezone(clinic.tz).time() == time(9, 0)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_WIDTH


@pytest.mark.parametrize("language", ["ru"])
def test_the_links_in_the_sms_move_and_cancel_without_signing_in(
    page: Page, clinic: Clinic, language: str, screenshot: Callable[[str], Path]
) -> None:
    mother = registered(clinic, "Karimova", "Dilnoza", date(1988, 3, 9), phone="+998935550000")
    child = registered(clinic, "Karimov", "Timur", date(2019, 4, 2), guardian=mother)
    starts = datetime.combine(
        timezone.now().astimezone(clinic.tz).date() + timedelta(days=3), time(10), tzinfo=clinic.tz
    )
    booked = book_appointment(
        patient=child, service=Service.objects.get(code="child-exam"), starts_at=starts, channel=Channel.PHONE
    )

    page.goto(reverse("book:link_move", kwargs={"token": appointment_token(booked, Purpose.MOVE)}))
    expect(page.get_by_role("heading", level=1)).to_have_text(translated(language, "Move the appointment"))
    expect(page.locator("#times button").first).to_be_visible()
    screenshot("move")

    page.goto(reverse("book:link_cancel", kwargs={"token": appointment_token(booked, Purpose.CANCEL)}))
    expect(page.get_by_role("heading", level=1)).to_have_text(translated(language, "Cancel the appointment?"))
    page.get_by_role("button", name=translated(language, "Yes, cancel it")).click()

    expect(page.get_by_role("heading", level=1)).to_have_text(
        translated(language, "The appointment is cancelled")
    )
    booked.refresh_from_db()
    assert booked.status == Status.CANCELLED
