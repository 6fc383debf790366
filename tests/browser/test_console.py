"""The call-centre console in a real browser: an operator books a new caller with the keyboard alone, and
the key presses it takes are counted (beyond the text he types)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest
from django.utils import timezone, translation
from django.utils.formats import date_format
from playwright.sync_api import Page, expect

from navbat.accounts.audit import SYSTEM
from navbat.booking.models import Appointment
from navbat.booking.services import book_appointment
from navbat.booking.statuses import Channel, Status
from navbat.clinic.models import Clinic, StaffMember, StaffRole
from navbat.patients.models import Patient
from navbat.patients.services import PatientData, register_patient
from tests import factories
from tests.browser.conftest import PASSWORD, translated

pytestmark = pytest.mark.browser

# Tab, Enter, arrows, Space and option numbers an operator may need, beyond what he types, to register a
# caller and book him by his wishes. A mouse-free flow that needs more is too slow on a busy line.
MOST_KEY_PRESSES = 20


@dataclass
class Keys:
    """The keyboard, counting the presses that are not typing."""

    page: Page
    presses: list[str] = field(default_factory=list)

    def type(self, text: str) -> None:
        self.page.keyboard.type(text, delay=20)

    def press(self, key: str, times: int = 1) -> None:
        for _ in range(times):
            self.page.keyboard.press(key)
            self.presses.append(key)


@dataclass
class Clinic_:
    clinic: Clinic
    first: StaffMember
    second: StaffMember
    monday: date


@pytest.fixture
def setting() -> Clinic_:
    clinic = factories.ClinicFactory(
        name="Yunusobod tish poliklinikasi",
        country="UZ",
        patient_prefix="NB",
        observes_national_holidays=False,
    )
    department = factories.DepartmentFactory(clinic=clinic)
    therapist = factories.SpecialtyFactory()
    hygienist = factories.SpecialtyFactory(code="hygienist", name_uz="Gigiyenist", name_ru="Гигиенист")
    today = timezone.now().astimezone(clinic.tz).date()
    first = factories.StaffFactory(
        clinic=clinic, specialties=[therapist], user__first_name="Dilshod", user__last_name="Karimov"
    )
    second = factories.StaffFactory(
        clinic=clinic, specialties=[therapist], user__first_name="Malika", user__last_name="Saidova"
    )
    for dentist in (first, second):
        factories.weekly_plan(dentist, valid_from=today, chair=factories.ChairFactory(department=department))
    # Two services, the one the caller needs second: the operator has to choose it.
    factories.ServiceFactory(
        clinic=clinic,
        code="a-cleaning",
        specialty=hygienist,
        name_ru="Профессиональная чистка",
        name_uz="Professional tozalash",
    )
    factories.ServiceFactory(clinic=clinic, code="caries", specialty=therapist, duration_minutes=30)
    factories.StaffFactory(
        clinic=clinic,
        role=StaffRole.OPERATOR,
        user__username="operator",
        user__first_name="Nodira",
        user__last_name="Qosimova",
    )
    monday = today + timedelta(days=7 - today.weekday())  # next week's Monday
    return Clinic_(clinic, first, second, monday)


def sign_in(page: Page, language: str) -> None:
    page.goto("/accounts/login/?next=/console/")
    page.get_by_label(translated(language, "Username")).fill("operator")
    page.get_by_label(translated(language, "Password")).fill(PASSWORD)
    page.get_by_label(translated(language, "Password")).press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text(translated(language, "Call centre"))
    page.wait_for_load_state("load")  # console.js, which binds the shortcuts, has run


@pytest.mark.parametrize("language", ["ru", "uz"])
def test_an_operator_registers_and_books_a_new_caller_with_the_keyboard_alone(
    page: Page, setting: Clinic_, language: str, screenshot: Callable[[str], Path]
) -> None:
    sign_in(page, language)
    keys = Keys(page)
    search = page.get_by_label(translated(language, "Phone, name or patient number"))
    expect(search).to_be_focused()

    # A phone that finds nobody: the answer comes while he types; Enter opens the new caller's form.
    keys.type("93 777 66 55")
    expect(page.locator("#results")).to_contain_text(translated(language, "Nobody found."))
    keys.press("Enter")
    expect(page.get_by_role("heading", name=translated(language, "New caller"))).to_be_visible()
    expect(page.locator("#id_phone")).to_have_value("93 777 66 55")
    expect(page.locator("#id_surname")).to_be_focused()
    keys.type("Rahimov")
    keys.press("Tab")
    keys.type("Jasur")
    keys.press("Tab")
    keys.type("15.01.1990")
    keys.press("Enter")

    # Registered: his card, and the wishes form with the cursor on the service.
    expect(page.get_by_role("heading", name="Rahimov Jasur")).to_be_visible()
    patient = Patient.objects.get(surname="Rahimov")
    assert str(patient.phone) == "+998937776655" and patient.birth_date == date(1990, 1, 15)
    expect(page.locator("#id_service")).to_be_focused()
    keys.press("ArrowDown")  # caries treatment, the second service
    keys.press("Tab", 2)  # any dentist; the earliest date
    keys.type(setting.monday.strftime("%d.%m.%Y"))
    keys.press("Tab")  # the time of day: "any time" is ticked
    keys.press("ArrowDown", 2)  # the afternoon
    keys.press("Tab", 4)  # the days of the week: Monday … Thursday
    keys.press("Space")
    keys.press("Enter")

    # The best five: Thursday afternoons, the earliest first; 2 goes to the second, Enter books it.
    options = page.get_by_role("list", name=translated(language, "Best options"))
    expect(options.get_by_role("button")).to_have_count(5)
    expect(options.get_by_role("button").first).to_be_focused()
    screenshot("options")
    keys.press("2")
    keys.press("Enter")

    with translation.override(language):
        confirmed = translation.gettext("Booked: %(when)s, %(dentist)s, %(chair)s.").split(":")[0]
    expect(page.get_by_role("status")).to_contain_text(confirmed)
    appointment = Appointment.objects.get(patient=patient)
    thursday = setting.monday + timedelta(days=3)
    local = appointment.starts_at.astimezone(setting.clinic.tz)
    assert (local.date(), local.hour, local.minute) == (thursday, 12, 0)
    assert appointment.status == Status.BOOKED and appointment.channel == Channel.PHONE
    assert appointment.service.code == "caries" and appointment.dentist == setting.second
    with translation.override(language):
        when = date_format(local, "l, j E Y, H:i")
    expect(page.get_by_role("status")).to_contain_text(when)
    expect(page.get_by_role("status")).to_contain_text("Malika Saidova")
    expect(page.locator(".console-new-visit")).to_contain_text("12:00")
    expect(page).to_have_url(re.compile(rf"/console/callers/{patient.pk}/$"))

    print(
        f"\nconsole keyboard booking ({language}): {len(keys.presses)} presses beyond typing: {keys.presses}"
    )
    assert len(keys.presses) <= MOST_KEY_PRESSES


@pytest.mark.parametrize("screen", ["phone"])
@pytest.mark.parametrize("language", ["uz"])
def test_on_a_phone_an_operator_finds_a_caller_by_his_cyrillic_name_and_cancels_his_visit(
    page: Page, setting: Clinic_, language: str
) -> None:
    data = PatientData(surname="Yuldashev", name="Aziz", birth_date=date(1985, 6, 1), phone="+998901234567")
    caller = register_patient(clinic=setting.clinic, data=data, actor=SYSTEM)
    starts = datetime.combine(setting.monday, time(10), tzinfo=setting.clinic.tz)
    visit = book_appointment(
        patient=caller,
        service=setting.clinic.services.get(code="caries"),
        starts_at=starts,
        channel=Channel.PHONE,
        dentist=setting.first,
    )
    sign_in(page, language)
    keys = Keys(page)

    keys.type("Юлдашев")
    expect(page.locator("#results")).to_contain_text("Yuldashev Aziz")
    keys.press("ArrowDown")
    keys.press("Enter")
    expect(page.get_by_role("heading", name="Yuldashev Aziz")).to_be_visible()
    cancel = page.locator(".console-visits").get_by_role("link", name=translated(language, "Cancel"))
    expect(page.locator("#id_service")).to_be_focused()  # the wishes come after the card: back up to it
    for _ in range(10):
        if cancel.evaluate("link => link === document.activeElement"):
            break
        keys.press("Shift+Tab")
    keys.press("Enter")
    expect(page.locator("#id_reason")).to_be_focused()  # "Why is the visit cancelled?"
    keys.type("bemor kasal")
    keys.press("Enter")

    with translation.override(language):
        cancelled = translation.gettext("Cancelled the visit of %(when)s.") % {
            "when": date_format(starts, "l, j E Y, H:i")
        }
    expect(page.get_by_role("status")).to_have_text(cancelled)
    visit.refresh_from_db()
    assert visit.status == Status.CANCELLED and visit.events.last().reason == "bemor kasal"  # type: ignore[union-attr]
    assert page.evaluate("document.documentElement.scrollWidth") <= 360


@pytest.mark.parametrize("language", ["ru"])
def test_the_shortcuts_the_page_lists_work(page: Page, setting: Clinic_, language: str) -> None:
    data = PatientData(surname="Yuldashev", name="Aziz", birth_date=date(1985, 6, 1), phone="+998901234567")
    caller = register_patient(clinic=setting.clinic, data=data, actor=SYSTEM)
    sign_in(page, language)
    search = page.locator("#console-q")
    page.keyboard.press("Tab")
    expect(search).not_to_be_focused()

    page.keyboard.press("/")  # the search box
    expect(search).to_be_focused()
    page.keyboard.type("Юлд")
    first = page.locator("#results [data-result]").first
    expect(first).to_contain_text("Yuldashev Aziz")
    page.keyboard.press("ArrowDown")  # into the callers found
    expect(first).to_be_focused()
    page.keyboard.press("Escape")  # back to the box
    expect(search).to_be_focused()
    page.keyboard.press("Alt+N")  # a new caller, with what was typed as his surname
    expect(page.locator("#id_surname")).to_have_value("Юлд")
    expect(page.locator("#id_name")).to_be_focused()  # the first field still empty
    page.keyboard.press("Escape")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")  # his card
    expect(page.get_by_role("heading", name="Yuldashev Aziz")).to_be_visible()
    expect(page).to_have_url(re.compile(rf"/console/callers/{caller.pk}/$"))
    expect(page.locator("#id_service")).to_be_focused()
    page.keyboard.press("Escape")
    expect(search).to_be_focused()
    page.keyboard.press("Alt+O")  # the wishes
    expect(page.locator("#id_service")).to_be_focused()
    page.keyboard.press("ArrowDown")  # caries treatment
    page.keyboard.press("Enter")  # Enter on a list sends the wishes too
    options = page.get_by_role("list", name=translated(language, "Best options")).get_by_role("button")
    expect(options).to_have_count(5)
    expect(options.first).to_be_focused()
    page.keyboard.press("3")  # the third option
    expect(page.locator('[data-option="3"]')).to_be_focused()
