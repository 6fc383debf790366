"""The registry in a real browser: a registrar finds a patient as he types, and registers a new one."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import translation
from playwright.sync_api import Page, Request, expect

from navbat.accounts.audit import SYSTEM
from navbat.clinic.models import Clinic, StaffMember, StaffRole
from navbat.patients.errors import IDENTIFIER_MESSAGES
from navbat.patients.models import IdentifierKind, Patient
from navbat.patients.services import PatientData, register_patient
from tests import factories
from tests.browser.conftest import PASSWORD, translated

pytestmark = pytest.mark.browser

PINFL_MAN_1990 = "31501902680016"  # a man born on 15 January 1990
PINFL_BAD_CHECK = "31501902680017"  # the same with a wrong check digit
NUMBER = re.compile(r"NB-\d{6}-\d")
LANGUAGES = ["ru", "uz"]


@pytest.fixture
def clinic() -> Clinic:
    return factories.ClinicFactory(name="Yunusobod tish poliklinikasi", country="UZ", patient_prefix="NB")


@pytest.fixture
def registrar(clinic: Clinic) -> StaffMember:
    return factories.StaffFactory(
        clinic=clinic,
        role=StaffRole.REGISTRAR,
        user__username="registrar",
        user__first_name="Nodira",
        user__last_name="Qosimova",
    )


def registered(clinic: Clinic, surname: str, name: str, phone: str) -> Patient:
    data = PatientData(surname=surname, name=name, birth_date=date(1990, 1, 15), phone=phone)
    return register_patient(clinic=clinic, data=data, actor=SYSTEM, allow_duplicates=True)


def sign_in(page: Page, language: str, username: str) -> None:
    """From the home page through "Staff sign in", as a person does; he lands on his schedule."""
    page.goto("/")
    page.locator("header").get_by_role("link", name=translated(language, "Staff sign in")).click()
    page.get_by_label(translated(language, "Username")).fill(username)
    page.get_by_label(translated(language, "Password")).fill(PASSWORD)
    page.get_by_label(translated(language, "Password")).press("Enter")
    expect(page.locator("header .who")).to_be_visible()


def tab_to(page: Page, selector: str, *, most: int = 40) -> None:
    """Press Tab until the element `selector` has the focus, as a person moving through a form does."""
    for _ in range(most):
        if page.evaluate("s => document.activeElement?.matches(s) ?? false", selector):
            return
        page.keyboard.press("Tab")
    pytest.fail(f"{most} presses of Tab never reached {selector}")


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_registrar_finds_a_latin_registered_patient_by_typing_cyrillic_and_opens_his_card(
    page: Page, clinic: Clinic, registrar: StaffMember, language: str
) -> None:
    yuldashev = registered(clinic, "Yuldashev", "Aziz", "+998901234567")
    registered(clinic, "Yusupova", "Dilnoza", "+998935550000")
    live_searches: list[str] = []

    def watch(request: Request) -> None:
        if request.headers.get("hx-request") == "true" and urlsplit(request.url).path == "/patients/":
            live_searches.append(parse_qs(urlsplit(request.url).query).get("q", [""])[0])

    page.on("request", watch)
    sign_in(page, language, "registrar")
    page.locator("header").get_by_role("link", name=translated(language, "Patients")).click()

    box = page.get_by_label(translated(language, "Number, phone or name"))
    expect(box).to_be_focused()  # the page is for searching: the box has the focus
    results = page.locator("#results")
    box.press_sequentially("Юлд", delay=40)
    expect(results.get_by_role("link", name="Yuldashev Aziz")).to_be_visible()
    expect(results).not_to_contain_text("Yusupova")
    with page.expect_response(lambda r: parse_qs(urlsplit(r.url).query).get("q") == ["Юлдашев"]):
        box.press_sequentially("ашев", delay=40)
    expect(results.get_by_role("link", name="Yuldashev Aziz")).to_be_visible()

    assert live_searches and live_searches[-1] == "Юлдашев", "the results came by htmx, as he typed"
    assert urlsplit(page.url).path == "/patients/" and not urlsplit(page.url).query  # no page was loaded
    results.get_by_role("link", name="Yuldashev Aziz").click()
    expect(page).to_have_url(re.compile(rf"/patients/{yuldashev.pk}/$"))
    expect(page.locator("html")).to_have_attribute("lang", language)
    expect(page.get_by_role("heading", level=1)).to_have_text("Yuldashev Aziz")
    expect(page.get_by_label(translated(language, "Patient number"))).to_have_text(str(yuldashev.number))


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_registrar_registers_a_patient_with_the_keyboard_and_a_bad_pinfl_is_explained(
    page: Page, clinic: Clinic, registrar: StaffMember, language: str, screenshot: Callable[[str], Path]
) -> None:
    sign_in(page, language, "registrar")
    page.locator("header").get_by_role("link", name=translated(language, "Patients")).click()
    page.get_by_role("link", name=translated(language, "Register a patient")).first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(translated(language, "Register a patient"))

    keyboard = page.keyboard
    tab_to(page, "#id_surname")
    keyboard.type("Rahimov")
    keyboard.press("Tab")
    keyboard.type("Jasur")
    keyboard.press("Tab")
    keyboard.type("Olimovich")
    # The one field not typed: the order of a date field's parts follows the browser's own language (here
    # always month first), not the page's, so keys that make 15.01.1990 in Tashkent make another date here.
    page.locator("#id_birth_date").fill("1990-01-15")
    tab_to(page, "#id_sex")
    keyboard.press("ArrowDown")
    expect(page.locator("#id_sex")).to_have_value("male")
    keyboard.press("Tab")
    keyboard.type("90 765 43 21")
    tab_to(page, "#id_id_pinfl")
    keyboard.type(PINFL_BAD_CHECK)
    tab_to(page, "#id_consent")
    keyboard.press("Space")
    tab_to(page, "#register-form > button[type=submit]")
    keyboard.press("Enter")

    with translation.override(language):
        pinfl = str(IdentifierKind.PINFL.label)
        refusal = str(IDENTIFIER_MESSAGES["bad_check_digit"]) % {"name": pinfl}
    field = page.locator(".reg-field", has=page.locator("#id_id_pinfl"))
    expect(field.get_by_role("alert")).to_have_text(refusal)
    expect(page.get_by_label(pinfl)).to_have_value(PINFL_BAD_CHECK)  # kept, to be corrected
    assert not Patient.objects.exists()
    screenshot("refused")

    tab_to(page, "#id_id_pinfl")
    keyboard.press("ControlOrMeta+A")
    keyboard.type("3 150190 268 001 6")  # as it is printed on the card
    keyboard.press("Enter")

    expect(page).to_have_url(re.compile(r"/patients/\d+/$"))
    patient = Patient.objects.get()
    expect(page.get_by_role("heading", level=1)).to_have_text("Rahimov Jasur Olimovich")
    expect(page.get_by_label(translated(language, "Patient number"))).to_have_text(NUMBER)
    expect(page.get_by_label(translated(language, "Patient number"))).to_have_text(str(patient.number))
    assert patient.identifiers.get().value == PINFL_MAN_1990
    assert str(patient.phone) == "+998907654321" and patient.sex == "male"
    assert patient.consents.filter(granted=True).exists()
