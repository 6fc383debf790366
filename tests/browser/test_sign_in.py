"""Signing in, in a real browser: a patient on his phone with a one-time code, an administrator with his
authenticator app; and the anonymous home page on a phone in every language, with the language switcher."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date

import pytest
from django.contrib import admin
from django.utils import translation
from playwright.sync_api import Page, expect
from pytest_django.fixtures import Settings

from navbat.accounts.audit import SYSTEM
from navbat.clinic.models import Clinic, StaffMember, StaffRole
from navbat.notify.backends import MemoryBackend, Message
from navbat.patients.models import Patient
from navbat.patients.services import PatientData, register_patient
from tests import factories
from tests.accounts.helpers import authenticator, current_code
from tests.browser.conftest import PASSWORD, translated

pytestmark = pytest.mark.browser

PHONE_WIDTH = 360
LANGUAGES = ["ru", "uz"]


@pytest.fixture
def clinic() -> Clinic:
    return factories.ClinicFactory(
        name="Yunusobod tumani 3-son oilaviy stomatologik poliklinikasi",
        address="Toshkent sh., Yunusobod tumani, Amir Temur shoh ko‘chasi, 107-uy",
        country="UZ",
        patient_prefix="NB",
    )


@pytest.fixture
def outbox(settings: Settings) -> Iterator[list[Message]]:
    """Messages stay in memory, where the test reads the code the patient would get by SMS."""
    settings.NAVBAT_NOTIFY_BACKEND = "navbat.notify.backends.MemoryBackend"
    MemoryBackend.clear()
    yield MemoryBackend.outbox
    MemoryBackend.clear()


def registered(
    clinic: Clinic,
    surname: str,
    name: str,
    born: date,
    phone: str = "",
    guardian: Patient | None = None,
    language: str = "uz",
) -> Patient:
    data = PatientData(surname=surname, name=name, birth_date=born, phone=phone, preferred_language=language)
    return register_patient(clinic=clinic, data=data, actor=SYSTEM, guardian=guardian, relation="mother")


def code_sent_to(outbox: list[Message], phone: str) -> str:
    [message] = [message for message in outbox if message.to == phone]
    found = re.search(r"\b(\d{6})\b", message.text)
    assert found, "no code in the message"
    return found.group(1)


@pytest.mark.parametrize("screen", ["phone"])
@pytest.mark.parametrize("language", LANGUAGES)
def test_a_parent_signs_in_on_his_phone_with_a_code_by_sms_and_sees_his_child(
    page: Page, clinic: Clinic, outbox: list[Message], language: str
) -> None:
    # Her record says she prefers the language her browser speaks: her pages speak it once she is in.
    mother = registered(
        clinic, "Karimova", "Dilnoza", date(1988, 3, 9), phone="+998935550000", language=language
    )
    registered(clinic, "Karimov", "Timur", date(2019, 4, 2), guardian=mother)

    page.goto("/")
    page.get_by_role("main").get_by_role("link", name=translated(language, "Sign in with your phone")).tap()
    expect(page.get_by_role("heading", level=1)).to_have_text(translated(language, "Sign in with your phone"))
    page.get_by_role("textbox").fill("93 555 00 00")  # the one field: the clinic is the only one
    page.get_by_role("button", name=translated(language, "Send the code")).tap()

    expect(page.get_by_role("heading", level=1)).to_have_text(translated(language, "Type the code"))
    expect(page.get_by_text("+998 … 00")).to_be_visible()  # enough of his number to recognise it
    code = page.get_by_label(translated(language, "Code from the SMS"))
    expect(code).to_be_focused()
    code.fill(code_sent_to(outbox, "+998935550000"))
    page.get_by_role("button", name=translated(language, "Confirm")).tap()

    expect(page).to_have_url(re.compile(r"/me/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(translated(language, "My page"))
    expect(page.get_by_text("Karimova Dilnoza")).to_be_visible()
    children = page.locator("h2", has_text=translated(language, "My children")).locator("+ ul")
    expect(children).to_contain_text("Karimov Timur")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_WIDTH


@pytest.mark.parametrize("language", LANGUAGES)
def test_an_administrator_types_the_code_of_his_authenticator_app_and_reaches_the_admin(
    page: Page, clinic: Clinic, language: str
) -> None:
    administrator: StaffMember = factories.StaffFactory(
        clinic=clinic, role=StaffRole.ADMINISTRATOR, user__username="admin1"
    )
    device = authenticator(administrator.user)

    page.goto("/admin/")
    page.locator("#id_username").fill("admin1")
    page.locator("#id_password").fill(PASSWORD)
    page.locator("#id_password").press("Enter")

    expect(page.get_by_role("heading", level=1)).to_have_text(translated(language, "Enter your code"))
    assert "/staff/two-factor/" in page.url
    token = page.get_by_label(translated(language, "Code"), exact=True)
    expect(token).to_be_focused()
    page.keyboard.type(current_code(device))  # as read off the app
    page.keyboard.press("Enter")

    expect(page).to_have_url(re.compile(r"/admin/$"))
    with translation.override(language):
        index_title = str(admin.site.index_title)
    expect(page.get_by_role("heading", level=1)).to_have_text(index_title)
    expect(page.locator("html")).to_have_attribute("lang", language)


@pytest.mark.parametrize("screen", ["phone"])
@pytest.mark.parametrize("language", ["uz", "ru", "en"])
def test_the_home_page_fits_a_phone_without_sideways_scrolling(
    page: Page, clinic: Clinic, language: str
) -> None:
    page.goto("/")

    expect(page.locator("html")).to_have_attribute("lang", language)
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_have_text(translated(language, "Appointments at the dental clinic"))
    expect(page.get_by_text(clinic.name)).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_WIDTH


@pytest.mark.parametrize("screen", ["phone"])
@pytest.mark.parametrize("language", ["en"])
def test_the_language_switcher_changes_the_language_and_it_stays_chosen(
    page: Page, clinic: Clinic, language: str
) -> None:
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "en")

    with page.expect_navigation():
        page.get_by_label("Language").select_option("ru")

    expect(page.locator("html")).to_have_attribute("lang", "ru")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        translated("ru", "Appointments at the dental clinic")
    )
    page.locator("header").get_by_role("link", name=translated("ru", "Patients: sign in")).tap()
    expect(page.get_by_role("heading", level=1)).to_have_text(translated("ru", "Sign in with your phone"))
    expect(page.locator("html")).to_have_attribute("lang", "ru")  # though the browser asks for English
    expect(page.get_by_label(translated("ru", "Language"))).to_have_value("ru")
