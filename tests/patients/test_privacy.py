"""Privacy requests: the full record exported, and anonymisation only where the law allows it."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from navbat.accounts.audit import SYSTEM
from navbat.accounts.models import AuditAction, AuditEntry
from navbat.booking.models import Appointment, AppointmentEvent
from navbat.booking.services import book_appointment, change_status
from navbat.booking.statuses import Channel, Status
from navbat.clinic.models import StaffRole
from navbat.errors import DomainError
from navbat.patients.models import (
    Complaint,
    ConsentKind,
    Guardianship,
    MedicalAlert,
    NationalIdentifier,
    Patient,
)
from navbat.patients.privacy import (
    ANONYMISED_SURNAME,
    PrivacyErrorCode,
    anonymisation_refusal,
    anonymise_patient,
    export_patient,
)
from navbat.patients.services import (
    PatientData,
    add_alert,
    add_complaint,
    merge_patients,
    record_consent,
    register_patient,
)
from tests import factories
from tests.accounts.helpers import sign_in_verified
from tests.small_clinic import MONDAY, NOW, TASHKENT, SmallClinic, at

pytestmark = pytest.mark.django_db

PINFL_MAN_1990 = "31501902680016"
PHONE = "+998901234567"


@pytest.fixture
def aziz(small_clinic: SmallClinic) -> Patient:
    """A registered patient with an identifier, an alert, a complaint, a consent and a child."""
    clinic = small_clinic.clinic
    aziz = register_patient(
        clinic=clinic,
        data=PatientData(
            surname="Yuldashev",
            name="Aziz",
            patronymic="Karimovich",
            birth_date=date(1990, 1, 15),
            sex="male",
            phone=PHONE,
            email="aziz@example.uz",
            address="Chilonzor 5",
            identifiers={"pinfl": PINFL_MAN_1990},
        ),
        actor=SYSTEM,
        consent_version="2025-1",
    )
    register_patient(
        clinic=clinic,
        data=PatientData(surname="Yuldasheva", name="Madina", birth_date=date(2018, 6, 1)),
        actor=SYSTEM,
        guardian=aziz,
        relation=Guardianship.Relation.FATHER,
    )
    add_alert(patient=aziz, kind="allergy", note="Lidocaine", actor=SYSTEM)
    add_complaint(patient=aziz, text="Rude at the desk", actor=SYSTEM)
    return aziz


def visit(c: SmallClinic, patient: Patient, day: date = MONDAY, *, fulfilled: bool = True) -> Appointment:
    appointment = book_appointment(
        patient=patient, service=c.therapy, starts_at=at(day, 10), dentist=c.first, channel=Channel.PHONE,
        notes="Brings his own anaesthetic", now=NOW,
    )  # fmt: skip
    if fulfilled:
        change_status(appointment=appointment, to=Status.ARRIVED)
        change_status(appointment=appointment, to=Status.FULFILLED, reason="Filled 36")
    return appointment


def withdraw_consent(patient: Patient) -> None:
    record_consent(
        patient=patient, kind=ConsentKind.PERSONAL_DATA, granted=False, text_version="2025-1", actor=SYSTEM
    )


def years_after(day: date, years: int) -> datetime:
    return datetime(day.year + years, day.month, day.day, 12, tzinfo=TASHKENT)


def a_monday_ahead() -> date:
    """A working Monday after today (the page reads the real clock) and inside the clinic's plans."""
    day = max(MONDAY, timezone.now().astimezone(TASHKENT).date() + timedelta(days=7))
    return day + timedelta(days=(7 - day.weekday()) % 7)


def admin_client(client: Client, c: SmallClinic) -> Client:
    """An administrator, signed in with his second factor (administrators must have one)."""
    return sign_in_verified(
        client, factories.StaffFactory(clinic=c.clinic, role=StaffRole.ADMINISTRATOR).user
    )


# Export ---------------------------------------------------------------------------------------------------


def test_the_json_export_holds_the_whole_record_with_appointments_and_is_audited(
    client: Client, small_clinic: SmallClinic, aziz: Patient
) -> None:
    c = small_clinic
    c.therapy.price = Decimal("150000.00")
    c.therapy.save()
    visit(c, aziz)
    admin_client(client, c)

    response = client.get(reverse("patients:export_json", args=[aziz.pk]), HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="patient-{aziz.number}.json"'
    assert "no-store" in response["Cache-Control"]
    record = json.loads(response.content)
    assert record["patient"]["surname"] == "Yuldashev"
    assert record["patient"]["phone"] == PHONE
    assert record["patient"]["birth_date"] == "1990-01-15"
    assert record["identifiers"][0]["value"] == PINFL_MAN_1990
    assert record["children"][0]["name"] == "Yuldasheva Madina"
    assert record["alerts"][0]["note"] == "Lidocaine"
    assert record["consents"][0]["text_version"] == "2025-1"
    assert record["complaints"][0]["text"] == "Rude at the desk"
    [appointment] = record["appointments"]
    assert appointment["starts_at"].startswith("2027-03-01T10:00:00+05:00")
    assert appointment["service"]["price"] == "150000.00"
    assert appointment["status"] == "fulfilled"
    assert [step["to"] for step in appointment["history"]] == ["booked", "arrived", "fulfilled"]
    entry = AuditEntry.objects.get(action=AuditAction.EXPORT, patient_id=aziz.pk)
    assert entry.note == "json"
    assert "appointments" in entry.fields


def test_the_printable_export_shows_the_record_and_is_audited(
    client: Client, small_clinic: SmallClinic, aziz: Patient
) -> None:
    visit(small_clinic, aziz)
    admin_client(client, small_clinic)

    response = client.get(reverse("patients:export_html", args=[aziz.pk]), HTTP_ACCEPT_LANGUAGE="en")

    html = response.content.decode()
    assert response.status_code == 200
    assert "Yuldashev" in html and PINFL_MAN_1990 in html and "Lidocaine" in html
    assert "Fulfilled" in html and "Filled 36" in html
    assert AuditEntry.objects.get(action=AuditAction.EXPORT, patient_id=aziz.pk).note == "html"


@pytest.mark.parametrize("role", [StaffRole.REGISTRAR, StaffRole.MANAGER, StaffRole.OPERATOR])
def test_only_administrators_handle_privacy_requests(
    client: Client, small_clinic: SmallClinic, aziz: Patient, role: StaffRole
) -> None:
    client.force_login(factories.StaffFactory(clinic=small_clinic.clinic, role=role).user)

    for name in ("export_json", "export_html", "anonymise"):
        assert client.get(reverse(f"patients:{name}", args=[aziz.pk])).status_code == 403, name
    assert not AuditEntry.objects.filter(action=AuditAction.EXPORT).exists()


def test_the_export_names_the_records_merged_into_this_one(small_clinic: SmallClinic, aziz: Patient) -> None:
    old = register_patient(
        clinic=small_clinic.clinic,
        data=PatientData(surname="Юлдашев", name="Азиз", birth_date=date(1990, 1, 15), phone="+998901234599"),
        actor=SYSTEM,
        allow_duplicates=True,
    )
    merge_patients(keep=aziz, duplicate=old, actor=SYSTEM, reason="Same passport")

    record = export_patient(patient=aziz, actor=SYSTEM)

    assert record["merged_records"] == [
        {
            "number": old.number,
            "surname": "Юлдашев",
            "name": "Азиз",
            "patronymic": "",
            "birth_date": old.birth_date,
        }
    ]


# Anonymisation: what goes and what stays ------------------------------------------------------------------


def test_anonymising_removes_the_person_and_keeps_the_accounts(
    small_clinic: SmallClinic, aziz: Patient
) -> None:
    c = small_clinic
    appointment = visit(c, aziz)
    number = aziz.number
    after_retention = years_after(MONDAY, c.clinic.retention_years) + timedelta(days=1)

    anonymise_patient(patient=aziz, actor=SYSTEM, reason="Letter 12/2052", now=after_retention)

    row = Patient.objects.get(pk=aziz.pk)
    assert row.surname == ANONYMISED_SURNAME
    assert (
        "Yuldashev" not in f"{row.surname} {row.name} {row.patronymic} {row.search_surname} {row.search_name}"
    )
    assert str(row.phone or "") == "" and row.email == "" and row.address == "" and row.sex == ""
    assert row.birth_date == date(1990, 1, 1)  # the year stays, for statistics
    assert row.number == number
    assert row.anonymised_at == after_retention
    assert not NationalIdentifier.objects.filter(value=PINFL_MAN_1990).exists()
    assert not Guardianship.objects.filter(guardian_id=aziz.pk).exists()
    assert MedicalAlert.objects.get(patient=aziz).note == ""
    assert "Rude" not in Complaint.objects.get(patient=aziz).text
    appointment.refresh_from_db()
    assert appointment.patient_id == aziz.pk
    assert appointment.status == Status.FULFILLED
    assert appointment.starts_at == at(MONDAY, 10) and appointment.service == c.therapy
    assert "anaesthetic" not in appointment.notes
    assert not AppointmentEvent.objects.filter(reason__contains="36").exists()
    assert AppointmentEvent.objects.filter(appointment=appointment).count() == 3
    entry = AuditEntry.objects.get(action=AuditAction.ANONYMISE, patient_id=aziz.pk)
    assert entry.note == "Letter 12/2052" and "phone" in entry.fields


def test_anonymising_closes_the_patients_sign_in_account_and_clears_merged_records(
    small_clinic: SmallClinic, aziz: Patient
) -> None:
    user = get_user_model().objects.create_user(username=PHONE, first_name="Aziz", password="x-long-pass-1")
    Patient.objects.filter(pk=aziz.pk).update(user=user)
    aziz.refresh_from_db()
    old = register_patient(
        clinic=small_clinic.clinic,
        data=PatientData(surname="Юлдашев", name="Азиз", birth_date=date(1990, 1, 15), phone="+998901234599"),
        actor=SYSTEM,
        allow_duplicates=True,
    )
    merge_patients(keep=aziz, duplicate=old, actor=SYSTEM, reason="Same passport")
    withdraw_consent(aziz)

    anonymise_patient(patient=aziz, actor=SYSTEM, reason="Letter 7", now=timezone.now())

    user.refresh_from_db()
    old.refresh_from_db()
    assert PHONE not in user.username and user.first_name == "" and not user.is_active
    assert not user.has_usable_password()
    assert old.surname == ANONYMISED_SURNAME and old.anonymised_at is not None


# Anonymisation: when the law allows it --------------------------------------------------------------------


def test_anonymising_is_refused_while_an_appointment_is_coming(
    small_clinic: SmallClinic, aziz: Patient
) -> None:
    visit(small_clinic, aziz, fulfilled=False)
    withdraw_consent(aziz)

    with pytest.raises(DomainError) as refused:
        anonymise_patient(patient=aziz, actor=SYSTEM, reason="Letter 12", now=NOW)

    assert refused.value.code == PrivacyErrorCode.OPEN_APPOINTMENTS
    aziz.refresh_from_db()
    assert aziz.surname == "Yuldashev" and aziz.anonymised_at is None
    assert not AuditEntry.objects.filter(action=AuditAction.ANONYMISE).exists()


def test_a_treated_patient_is_kept_for_the_retention_period_after_his_last_visit(
    small_clinic: SmallClinic, aziz: Patient
) -> None:
    c = small_clinic
    visit(c, aziz)
    withdraw_consent(aziz)  # a withdrawal does not shorten the keeping of medical records
    years = c.clinic.retention_years

    inside = anonymisation_refusal(patient=aziz, now=years_after(MONDAY, years) - timedelta(days=1))
    after = anonymisation_refusal(patient=aziz, now=years_after(MONDAY, years))

    assert inside is not None and inside.code == PrivacyErrorCode.RETENTION
    assert inside.details["keep_until"] == f"{MONDAY.year + years}-03-01"
    assert after is None


def test_a_patient_never_treated_is_anonymised_once_he_withdraws_his_consent(
    small_clinic: SmallClinic, aziz: Patient
) -> None:
    cancelled = visit(small_clinic, aziz, fulfilled=False)
    change_status(appointment=cancelled, to=Status.CANCELLED)

    before = anonymisation_refusal(patient=aziz, now=NOW)
    withdraw_consent(aziz)
    after = anonymisation_refusal(patient=aziz, now=NOW)

    assert before is not None and before.code == PrivacyErrorCode.CONSENT_NOT_WITHDRAWN
    assert after is None


def test_a_reason_is_required(small_clinic: SmallClinic, aziz: Patient) -> None:
    withdraw_consent(aziz)

    with pytest.raises(DomainError) as refused:
        anonymise_patient(patient=aziz, actor=SYSTEM, reason="  ", now=NOW)

    assert refused.value.code == PrivacyErrorCode.REASON_REQUIRED


# The page -------------------------------------------------------------------------------------------------


def test_the_anonymise_page_asks_for_the_request_then_for_confirmation(
    client: Client, small_clinic: SmallClinic, aziz: Patient
) -> None:
    withdraw_consent(aziz)
    admin_client(client, small_clinic)
    url = reverse("patients:anonymise", args=[aziz.pk])

    page = client.get(url, HTTP_ACCEPT_LANGUAGE="en")
    step_one = client.post(url, {"reason": "Letter 12"}, HTTP_ACCEPT_LANGUAGE="en")
    unticked = client.post(url, {"reason": "Letter 12", "step": "confirm"}, HTTP_ACCEPT_LANGUAGE="en")
    aziz.refresh_from_db()
    still_there = aziz.surname
    done = client.post(
        url, {"reason": "Letter 12", "step": "confirm", "confirm": "on"}, HTTP_ACCEPT_LANGUAGE="en"
    )

    assert page.status_code == 200 and "Kept, for the accounts" in page.content.decode()
    assert step_one.status_code == 200 and "cannot be undone" in step_one.content.decode()
    assert unticked.status_code == 400
    assert still_there == "Yuldashev"
    assert done.status_code == 200 and str(aziz.number) in done.content.decode()
    aziz.refresh_from_db()
    assert aziz.anonymised_at is not None
    assert client.get(reverse("patients:card", args=[aziz.pk])).status_code == 404


def test_the_anonymise_page_says_why_not_and_refuses_the_post(
    client: Client, small_clinic: SmallClinic, aziz: Patient
) -> None:
    visit(small_clinic, aziz, day=a_monday_ahead(), fulfilled=False)
    admin_client(client, small_clinic)
    url = reverse("patients:anonymise", args=[aziz.pk])

    page = client.get(url, HTTP_ACCEPT_LANGUAGE="en")
    post = client.post(
        url, {"reason": "Letter 12", "step": "confirm", "confirm": "on"}, HTTP_ACCEPT_LANGUAGE="en"
    )

    assert page.status_code == 200
    assert "not over" in page.content.decode()
    assert post.status_code == 409
    aziz.refresh_from_db()
    assert aziz.anonymised_at is None
