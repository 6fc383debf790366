"""The language switcher: a signed-in patient's choice is remembered as his preferred language and his pages
speak it again when he next signs in; staff and visitors keep Django's cookie, and nothing is stored."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client
from pytest_django.fixtures import Settings as SettingsWrapper

from navbat.accounts.models import AuditAction, AuditEntry
from navbat.clinic.models import Clinic, StaffRole
from navbat.notify.backends import MemoryBackend, Message
from navbat.patients.models import Patient
from tests import factories
from tests.accounts.helpers import authenticator

pytestmark = pytest.mark.django_db

PHONE = "+998901234567"
COOKIE = settings.LANGUAGE_COOKIE_NAME


@pytest.fixture(autouse=True)
def _fresh_limits() -> Iterator[None]:
    cache.clear()  # the sign-in codes' rate limits
    yield
    cache.clear()


@pytest.fixture
def outbox(settings: SettingsWrapper) -> list[Message]:
    settings.NAVBAT_NOTIFY_BACKEND = "navbat.notify.backends.MemoryBackend"
    MemoryBackend.clear()
    return MemoryBackend.outbox


@pytest.fixture
def clinic() -> Clinic:
    return factories.ClinicFactory(name="Yunusobod tish poliklinikasi")


@pytest.fixture
def patient(clinic: Clinic) -> Patient:
    """An adult who has signed in before (he has an account), preferring Uzbek."""
    user = factories.UserFactory(username="patient-malika", password="!")
    return factories.PatientFactory(
        clinic=clinic, phone=PHONE, birth_date=date(1990, 5, 17), preferred_language="uz", user=user
    )


def switch(client: Client, language: str, next_url: str = "/", **headers: Any) -> Any:
    """The header's language form, as a browser sends it."""
    return client.post("/language/", {"language": language, "next": next_url}, **headers)


def page_language(html: str) -> str:
    found = re.search(r'<html lang="([^"]+)"', html)
    assert found, "no <html lang>"
    return found.group(1)


def test_a_patient_who_switches_the_language_keeps_it_as_his_preference(patient: Patient) -> None:
    client = Client()
    client.force_login(patient.user)  # type: ignore[arg-type]

    answer = switch(client, "ru", "/me/")
    patient.refresh_from_db()

    assert (answer.status_code, answer["Location"]) == (302, "/me/")
    assert answer.cookies[COOKIE].value == "ru"
    assert patient.preferred_language == "ru"
    entry = AuditEntry.objects.get(patient_id=patient.pk)
    assert (entry.action, entry.actor_id, entry.fields) == (
        AuditAction.UPDATE,
        patient.user_id,
        ["preferred_language"],
    )


def test_switching_to_the_language_he_already_prefers_changes_nothing(patient: Patient) -> None:
    client = Client()
    client.force_login(patient.user)  # type: ignore[arg-type]

    answer = switch(client, "uz")

    assert answer.cookies[COOKIE].value == "uz"
    assert not AuditEntry.objects.filter(patient_id=patient.pk).exists()


def test_signing_in_speaks_the_patients_preferred_language_whatever_the_browser_spoke(
    client: Client, patient: Patient, outbox: list[Message], django_capture_on_commit_callbacks: Any
) -> None:
    Patient.objects.filter(pk=patient.pk).update(preferred_language="ru")
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/me/login/", {"clinic": patient.clinic_id, "phone": PHONE}, HTTP_ACCEPT_LANGUAGE="en")
    [sms] = outbox
    code = re.search(r"\b(\d{6})\b", sms.text)
    assert code

    signed_in = client.post("/me/code/", {"code": code.group(1)}, HTTP_ACCEPT_LANGUAGE="en")
    my_page = client.get("/me/", HTTP_ACCEPT_LANGUAGE="en")

    assert (signed_in.status_code, signed_in["Location"]) == (302, "/me/")
    assert signed_in.cookies[COOKIE].value == "ru"
    assert page_language(my_page.content.decode()) == "ru"


def test_a_staff_members_switch_sets_the_cookie_and_stores_nothing(clinic: Clinic, patient: Patient) -> None:
    registrar = factories.StaffFactory(clinic=clinic, role=StaffRole.REGISTRAR)
    client = Client()
    client.force_login(registrar.user)

    answer = switch(client, "en", "/patients/")
    patient.refresh_from_db()

    assert (answer.status_code, answer["Location"]) == (302, "/patients/")
    assert answer.cookies[COOKIE].value == "en"
    assert patient.preferred_language == "uz"
    assert not AuditEntry.objects.exists()


def test_an_anonymous_visitor_gets_the_cookie_and_the_page_in_his_language(db: None) -> None:
    client = Client()

    answer = switch(client, "ru")
    home = client.get("/", HTTP_ACCEPT_LANGUAGE="en")

    assert answer.cookies[COOKIE].value == "ru"
    assert page_language(home.content.decode()) == "ru"


def test_a_language_the_site_does_not_speak_is_refused_and_changes_nothing(patient: Patient) -> None:
    client = Client()
    client.force_login(patient.user)  # type: ignore[arg-type]

    answer = switch(client, "de", HTTP_ACCEPT_LANGUAGE="ru")
    patient.refresh_from_db()

    assert answer.status_code == 400
    assert "«de» — ни один из них" in answer.content.decode()  # in the user's language
    assert COOKIE not in answer.cookies
    assert patient.preferred_language == "uz"
    assert not AuditEntry.objects.exists()


def test_a_get_changes_nothing_as_with_django(patient: Patient) -> None:
    client = Client()
    client.force_login(patient.user)  # type: ignore[arg-type]

    answer = client.get("/language/", {"language": "ru", "next": "/me/"})
    patient.refresh_from_db()

    assert (answer.status_code, answer["Location"]) == (302, "/me/")
    assert COOKIE not in answer.cookies
    assert patient.preferred_language == "uz"


def test_the_header_switcher_posts_to_the_language_view(db: None) -> None:
    html = Client().get("/").content.decode()

    assert 'action="/language/"' in html


def test_an_administrator_owing_his_second_factor_may_still_switch_the_language(clinic: Clinic) -> None:
    administrator = factories.StaffFactory(clinic=clinic, role=StaffRole.ADMINISTRATOR)
    authenticator(administrator.user)
    client = Client()
    client.force_login(administrator.user)  # password given, the code not yet

    answer = switch(client, "ru", "/staff/two-factor/")

    assert answer.status_code == 302
    assert answer.cookies[COOKIE].value == "ru"
