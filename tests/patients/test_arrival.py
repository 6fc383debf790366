"""Identity at arrival (patients.arrival, through the desk's "Mark arrived"): the registrar says whether the
person at the desk matches the registry; a mismatch flags the patient, is audited, and the visit goes on."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from navbat.accounts.audit import Actor
from navbat.accounts.models import AuditAction, AuditEntry
from navbat.booking.models import Appointment
from navbat.booking.services import book_appointment
from navbat.booking.statuses import Channel, Status
from navbat.clinic.models import StaffMember, StaffRole
from navbat.patients.arrival import IdentityCheck, check_identity_at_arrival
from navbat.patients.models import Patient
from tests import factories
from tests.small_clinic import MONDAY, SmallClinic, at

pytestmark = pytest.mark.django_db

NOW = at(MONDAY, 9, 5)
HTMX = {"HX-Request": "true", "Accept-Language": "en"}


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(timezone, "now", lambda: NOW)


@pytest.fixture
def registrar(small_clinic: SmallClinic, client: Client) -> StaffMember:
    member = factories.StaffFactory(clinic=small_clinic.clinic, role=StaffRole.REGISTRAR)
    client.force_login(member.user)
    return member


@pytest.fixture
def visit(small_clinic: SmallClinic) -> Appointment:
    c = small_clinic
    return book_appointment(
        patient=c.patient,
        service=c.therapy,
        starts_at=at(MONDAY, 9),
        dentist=c.first,
        channel=Channel.PHONE,
        now=NOW - timedelta(days=7),
    )


def arrive(client: Client, appointment: Appointment, identity: str | None) -> object:
    data = {"by": "dentist"} | ({"identity": identity} if identity is not None else {})
    return client.post(reverse("desk:arrive", args=[appointment.pk]), data, headers=HTMX)


def test_the_board_asks_for_the_identity_check_before_arrived(
    client: Client, registrar: StaffMember, visit: Appointment
) -> None:
    html = client.get(reverse("desk:board"), headers={"Accept-Language": "en"}).content.decode()
    assert 'name="identity" required' in html
    assert "Name and date of birth match" in html and "Does not match" in html


def test_without_the_check_nothing_changes(
    client: Client, registrar: StaffMember, visit: Appointment
) -> None:
    answer = arrive(client, visit, None)
    assert answer.status_code == 400  # type: ignore[attr-defined]
    assert "choose what you found" in answer.content.decode()  # type: ignore[attr-defined]
    visit.refresh_from_db()
    assert visit.status == Status.BOOKED


def test_a_match_by_name_and_birth_date_marks_arrived_and_audits_the_check(
    client: Client, registrar: StaffMember, visit: Appointment
) -> None:
    assert arrive(client, visit, "birth_date").status_code == 200  # type: ignore[attr-defined]
    visit.refresh_from_db()
    patient = Patient.objects.get(pk=visit.patient_id)
    assert visit.status == Status.ARRIVED
    assert not patient.flagged
    entry = AuditEntry.objects.get(patient_id=patient.pk, note__startswith="identity checked at arrival")
    assert entry.actor == registrar.user
    assert entry.fields == ["birth_date", "name", "surname"]


def test_a_document_also_marks_the_patient_verified(
    client: Client, registrar: StaffMember, visit: Appointment
) -> None:
    arrive(client, visit, "document")
    patient = Patient.objects.get(pk=visit.patient_id)
    assert patient.is_verified
    assert AuditEntry.objects.filter(patient_id=patient.pk, action=AuditAction.VERIFY).exists()


def test_a_mismatch_flags_the_patient_is_audited_and_the_visit_goes_on(
    client: Client, registrar: StaffMember, visit: Appointment
) -> None:
    answer = arrive(client, visit, "mismatch")
    assert answer.status_code == 200  # type: ignore[attr-defined]
    assert "did not match" in answer.content.decode()  # type: ignore[attr-defined]
    visit.refresh_from_db()
    patient = Patient.objects.get(pk=visit.patient_id)
    assert visit.status == Status.ARRIVED
    assert patient.flagged
    assert f"#{visit.pk}" in patient.flag_reason
    entry = AuditEntry.objects.get(patient_id=patient.pk, action=AuditAction.UPDATE)
    assert entry.fields == ["flag_reason", "flagged"]
    assert entry.actor == registrar.user
    # The log holds no values: neither the name nor the date of birth
    assert patient.surname not in entry.note and str(patient.birth_date) not in entry.note


def test_an_arrival_refused_by_the_status_rolls_back_the_check(
    client: Client, registrar: StaffMember, visit: Appointment
) -> None:
    arrive(client, visit, "birth_date")
    again = arrive(client, visit, "mismatch")
    assert again.status_code == 409  # type: ignore[attr-defined]
    assert not Patient.objects.get(pk=visit.patient_id).flagged


def test_the_service_returns_whether_it_matched(small_clinic: SmallClinic) -> None:
    patient = small_clinic.patient
    actor = Actor(user=None, path="test")
    assert check_identity_at_arrival(
        patient=patient, check=IdentityCheck.BIRTH_DATE, actor=actor, appointment_id=1
    )
    assert not check_identity_at_arrival(
        patient=patient, check=IdentityCheck.MISMATCH, actor=actor, appointment_id=1
    )
    assert patient.flagged
