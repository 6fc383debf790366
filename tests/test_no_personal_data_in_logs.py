"""No personal data in application logs (DESIGN.md invariant 3).

A whole day at the front desk runs with logging as configured for NAVBAT_LOG_LEVEL=DEBUG — what
settings.LOGGING then keeps quieter is the configuration under test — and with DEBUG = True (so the
database layer logs its SQL, where it may): a failed sign-in, a bad form, a registration, searches by
name, phone and number, the card, a 403, 404s (one with a name in the address), booking and cancelling,
a patient asking for a sign-in code, a bad Host header, and a 500 that quotes an identifier. Then the
patient's phone (in every format a person writes it), surname, first name and identifier number are
looked for in every record: its message, its arguments, its exception text, and the line a handler writes.
"""

from __future__ import annotations

import logging
import logging.config
import os
import re
import runpy
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from unittest import mock

import pytest
from django.conf import settings as django_settings
from django.db import IntegrityError
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import path, reverse
from pytest_django.fixtures import Settings

import navbat.settings
from navbat.accounts.access import Role
from navbat.accounts.audit import Actor
from navbat.accounts.services import assign_role
from navbat.booking.services import book_appointment, cancel_appointment
from navbat.booking.statuses import Channel
from navbat.clinic.models import StaffRole
from navbat.errors import DomainError
from navbat.patients.services import PatientData, register_patient
from tests import factories
from tests.small_clinic import MONDAY, NOW, SmallClinic, at

pytestmark = pytest.mark.django_db

SURNAME, NAME = "Yuldashev", "Jasur"
PINFL = "31501902680016"  # a man born on 15 January 1990 (valid check digit)
BORN = date(1990, 1, 15)
PHONE_TYPED = "90 123-45-67"
PHONE_FORMS = (
    "+998901234567",
    "998901234567",
    "901234567",
    "90 123 45 67",
    "90 123-45-67",
    "+998 90 123 45 67",
)
PASSWORD = "test-pass-123"


def the_boom(request: HttpRequest) -> HttpResponse:
    """A bug: what PostgreSQL says when a unique identifier is inserted twice."""
    raise IntegrityError(
        f'duplicate key value violates unique constraint DETAIL: Key (value)=({PINFL}) exists. "{SURNAME}"'
    )


urlpatterns = [path("boom/", the_boom, name="boom")]


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture, settings: Settings) -> Iterator[pytest.LogCaptureFixture]:
    """Logging as settings.py configures it when an operator sets NAVBAT_LOG_LEVEL=DEBUG, and DEBUG = True
    as on a developer's machine."""
    with mock.patch.dict(os.environ, {"NAVBAT_LOG_LEVEL": "DEBUG"}):
        debug_logging = runpy.run_path(str(Path(navbat.settings.__file__)))["LOGGING"]
    logging.config.dictConfig(debug_logging)
    settings.DEBUG = True
    settings.NAVBAT_NOTIFY_BACKEND = "navbat.notify.backends.MemoryBackend"
    caplog.set_level(logging.DEBUG)
    yield caplog
    logging.config.dictConfig(django_settings.LOGGING)


def needles() -> list[str]:
    return [SURNAME.casefold(), NAME.casefold(), PINFL, *(p.casefold() for p in PHONE_FORMS)]


def leaks(text: str) -> list[str]:
    """The personal data found in `text`, also with its digits read together (a phone written 90-123...)."""
    folded = text.casefold()
    digits = re.sub(r"\D", "", text)
    found = [needle for needle in needles() if needle in folded]
    found += [f"digits {n}" for n in ("901234567", PINFL) if n in digits]
    return found


def everything_logged(records: list[logging.LogRecord]) -> Iterator[tuple[logging.LogRecord, str]]:
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    for record in records:
        yield record, record.getMessage()
        yield record, repr(record.args)
        yield record, record.exc_text or ""
        yield record, formatter.format(record)  # what a handler writes, traceback included


def test_a_day_at_the_front_desk_leaves_no_personal_data_in_the_logs(
    logs: pytest.LogCaptureFixture, small_clinic: SmallClinic
) -> None:
    c = small_clinic
    registrar = factories.StaffFactory(clinic=c.clinic, role=StaffRole.REGISTRAR)
    dentist = c.first
    for member in (registrar, dentist):
        assign_role(user=member.user, role=Role(member.role))
    desk, doctor, visitor = Client(), Client(), Client()

    # A mistyped password, then the right one.
    assert (
        desk.post(reverse("login"), {"username": registrar.user.username, "password": "nope"}).status_code
        == 200
    )
    assert (
        desk.post(reverse("login"), {"username": registrar.user.username, "password": PASSWORD}).status_code
        == 302
    )

    # A registration form with a bad date of birth: 400, the name and phone in the request.
    form = {
        "surname": SURNAME,
        "name": NAME,
        "birth_date": "31.02.1990",
        "phone": PHONE_TYPED,
        "id_pinfl": PINFL,
    }
    assert desk.post(reverse("patients:register"), form).status_code == 400
    assert desk.get("/", {"date": f"{SURNAME}-{PINFL}"}).status_code == 400

    # The registration itself, then a second one that is refused as the same identifier.
    data = PatientData(
        surname=SURNAME,
        name=NAME,
        birth_date=BORN,
        sex="male",
        phone=PHONE_TYPED,
        identifiers={"pinfl": PINFL},
    )
    actor = Actor(user=registrar.user, ip="127.0.0.1", path="/patients/new/")
    patient = register_patient(clinic=c.clinic, data=data, actor=actor)
    with pytest.raises(DomainError):
        register_patient(clinic=c.clinic, data=data, actor=actor, allow_duplicates=True)

    # Searches by name, phone and number; the card.
    for query in (SURNAME, "Юлдашев", PHONE_TYPED, "+998901234567", str(patient.number)):
        assert desk.get(reverse("patients:search"), {"q": query}).status_code == 200
    assert desk.get(reverse("patients:search"), {"q": SURNAME}, HTTP_HX_REQUEST="true").status_code == 200
    assert desk.get(reverse("patients:card", kwargs={"pk": patient.pk})).status_code == 200

    # A 403 (the dentist is not at the front desk) and 404s, one with personal data in the address.
    doctor.force_login(dentist.user)
    assert doctor.get(reverse("patients:search"), {"q": SURNAME}).status_code == 403
    assert doctor.get(reverse("patients:card", kwargs={"pk": patient.pk})).status_code == 404
    assert desk.get(f"/patients/{SURNAME}/").status_code == 404
    assert desk.get(f"/patients/search/{PINFL}/+998901234567/").status_code == 404

    # Booking and cancelling.
    appointment = book_appointment(
        patient=patient,
        service=c.therapy,
        starts_at=at(MONDAY, 10),
        dentist=dentist,
        channel=Channel.PHONE,
        created_by=registrar.user,
        now=NOW,
    )
    cancel_appointment(appointment=appointment, actor=registrar.user, reason="The patient called")

    # The patient asks for a sign-in code and types a wrong one.
    asked = visitor.post(reverse("me:login"), {"clinic": c.clinic.pk, "phone": PHONE_TYPED})
    assert asked.status_code in (200, 302)
    visitor.post(reverse("me:code"), {"code": "000000"})

    # A request for a host we do not serve.
    assert visitor.get("/", HTTP_HOST="attacker.example").status_code == 400

    messages = [record.getMessage() for record in logs.records]
    assert any("Not Found" in m for m in messages) and any("Forbidden" in m for m in messages)
    found = {(record.name, leak) for record, text in everything_logged(logs.records) for leak in leaks(text)}
    assert not found, f"personal data in the logs: {sorted(found)}"


@pytest.mark.urls("tests.test_no_personal_data_in_logs")
def test_a_500_does_not_put_the_exception_text_in_the_logs(logs: pytest.LogCaptureFixture) -> None:
    crashed = Client(raise_request_exception=False).get("/boom/")

    assert crashed.status_code == 500
    errors = [r for r in logs.records if r.name == "django.request" and r.levelno == logging.ERROR]
    assert errors, "the 500 was not logged at all"
    written = logging.Formatter().format(errors[0])
    assert "IntegrityError" in written and "the_boom" in written  # still useful: the kind and the place
    found = {(record.name, leak) for record, text in everything_logged(logs.records) for leak in leaks(text)}
    assert not found, f"personal data in the logs: {sorted(found)}"


def test_the_needles_would_be_found() -> None:
    """The search itself works: each form of the data is caught where it appears."""
    assert leaks("GET /patients/?q=YULDASHEV") == ["yuldashev"]
    assert leaks("phone 90-123-45-67") == ["digits 901234567"]
    assert leaks("(31501902680016)") == [PINFL, f"digits {PINFL}"]
    assert leaks("GET /patients/42/ 200") == []
