"""Giving a booking to another patient (booking.transfer, DESIGN.md invariant 2): staff at the desk only,
with a reason, audited; the new patient passes every rule a fresh booking would; a refusal changes nothing.

The clock is held at Monday 09:05 in the small clinic; the visits are on Tuesday, booked the week before."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from navbat.accounts.access import Role
from navbat.accounts.api_auth import create_token
from navbat.accounts.audit import Actor
from navbat.accounts.models import AuditAction, AuditEntry
from navbat.accounts.services import assign_role
from navbat.booking.models import Appointment, AppointmentEvent
from navbat.booking.services import book_appointment, change_status
from navbat.booking.statuses import Channel, Status
from navbat.booking.transfer import transfer_appointment
from navbat.clinic.models import Funding, Service, StaffMember, StaffRole
from navbat.errors import DomainError
from navbat.notify.models import Kind, Notification, NotificationStatus
from navbat.patients.models import NationalIdentifier, Patient
from tests import factories
from tests.small_clinic import MONDAY, SmallClinic, at

pytestmark = pytest.mark.django_db

NOW = at(MONDAY, 9, 5)
TUESDAY = MONDAY + timedelta(days=1)
EN = {"Accept-Language": "en"}
HTMX = {"HX-Request": "true", **EN}
NEW_NUMBER = "NB-000123-7"


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(timezone, "now", lambda: NOW)


def staff(c: SmallClinic, role: StaffRole) -> StaffMember:
    member: StaffMember = factories.StaffFactory(clinic=c.clinic, role=role)
    return member


def visit(c: SmallClinic, patient: Patient, hour: int = 11, *, service: Service | None = None) -> Appointment:
    """A 30-minute visit on Tuesday with the first therapist, booked by phone the week before."""
    return book_appointment(
        patient=patient,
        service=service or c.therapy,
        starts_at=at(TUESDAY, hour),
        dentist=c.first,
        channel=Channel.PHONE,
        now=NOW - timedelta(days=7),
    )


def newcomer(c: SmallClinic, **fields: Any) -> Patient:
    """The patient the visit is given to, with a patient number as the registry issues them."""
    patient: Patient = factories.PatientFactory(clinic=c.clinic, number=NEW_NUMBER, **fields)
    return patient


def state(c: SmallClinic) -> tuple[object, ...]:
    """Everything a transfer would change."""
    return (
        list(Appointment.objects.order_by("pk").values_list("pk", "patient_id", "status", "starts_at")),
        AppointmentEvent.objects.count(),
        list(Notification.objects.order_by("pk").values_list("pk", "status")),
        AuditEntry.objects.filter(action=AuditAction.TRANSFER).count(),
    )


class Api:
    """The REST API as one user, by token, in English."""

    def __init__(self, user: User) -> None:
        self.client = Client()
        _record, token = create_token(user=user, name="tests")
        self.headers = {"Authorization": f"Bearer {token}", **EN}

    def transfer(self, appointment: Appointment, body: dict[str, Any]) -> Any:
        return self.client.post(
            f"/api/v1/appointments/{appointment.pk}/transfer",
            data=json.dumps(body),
            content_type="application/json",
            headers=self.headers,
        )


def patient_user(patient: Patient) -> User:
    user: User = factories.UserFactory(password=None)
    patient.user = user
    patient.save()
    assign_role(user=user, role=Role.PATIENT)
    return user


# The desk -------------------------------------------------------------------------------------------------


def test_a_registrar_transfers_a_booking_at_the_desk_with_a_reason(
    client: Client, small_clinic: SmallClinic
) -> None:
    c = small_clinic
    old = visit(c, c.patient)
    new_patient = newcomer(c)
    registrar = staff(c, StaffRole.REGISTRAR)
    client.force_login(registrar.user)
    board = client.get(reverse("desk:board"), {"date": TUESDAY.isoformat()}, headers=EN).content.decode()

    answer = client.post(
        reverse("desk:transfer", args=[old.pk]),
        {"number": "nb 000123 7", "reason": "His mother comes instead", "by": "dentist"},
        headers=HTMX,
    )

    assert "Transfer to another patient" in board
    html = answer.content.decode()
    assert answer.status_code == 200, html[:500]
    assert html.lstrip().startswith(f'<section class="column desk-column" id="col-dentist-{c.first.pk}"')
    old.refresh_from_db()
    given = Appointment.objects.get(patient=new_patient)
    assert f"Transferred: {new_patient.short_name} now has" in html
    assert old.status == Status.CANCELLED
    assert (given.status, given.starts_at, given.ends_at) == (Status.BOOKED, old.starts_at, old.ends_at)
    assert (given.dentist, given.chair, given.service) == (old.dentist, old.chair, old.service)
    assert (given.channel, given.created_by) == (Channel.RECEPTION, registrar.user)
    # The history of both, with who and why.
    cancelled = old.events.last()
    booked = given.events.get()
    assert cancelled is not None and cancelled.actor == registrar.user
    assert (
        cancelled.reason
        == f"Transferred to another patient (appointment #{given.pk}): His mother comes instead"
    )
    assert (booked.from_status, booked.to_status, booked.actor) == ("", Status.BOOKED, registrar.user)
    assert booked.reason == f"Transferred from appointment #{old.pk}: His mother comes instead"
    # The audit log: one entry per patient, both ids, no names, phones or the reason's words.
    entries = AuditEntry.objects.filter(action=AuditAction.TRANSFER)
    assert {entry.patient_id for entry in entries} == {c.patient.pk, new_patient.pk}
    for entry in entries:
        assert entry.actor == registrar.user
        assert str(c.patient.pk) in entry.note and str(new_patient.pk) in entry.note
        for secret in (c.patient.surname, new_patient.surname, str(new_patient.phone), "mother"):
            assert secret not in entry.note


def test_the_old_patient_is_told_of_the_cancellation_and_the_new_one_that_he_is_booked(
    small_clinic: SmallClinic,
) -> None:
    c = small_clinic
    old = visit(c, c.patient)
    reminders = Notification.objects.filter(appointment=old, kind=Kind.REMINDER)
    assert reminders.filter(status=NotificationStatus.PENDING).exists()
    registrar = staff(c, StaffRole.REGISTRAR)

    given = transfer_appointment(
        appointment=old, to_patient=newcomer(c), actor=Actor(user=registrar.user), reason="Swap", now=NOW
    )

    assert not Notification.objects.filter(appointment=old, status=NotificationStatus.PENDING).exclude(
        kind=Kind.CANCELLED
    )
    told = Notification.objects.get(appointment=old, kind=Kind.CANCELLED)
    assert told.patient == c.patient
    booked = Notification.objects.get(appointment=given, kind=Kind.BOOKED)
    assert booked.patient == given.patient and booked.status == NotificationStatus.PENDING
    # His own reminder for the visit (a day before: still ahead on Monday morning).
    assert Notification.objects.filter(appointment=given, kind=Kind.REMINDER, patient=given.patient).exists()


def test_the_desk_refuses_a_number_nobody_has_or_no_reason_and_changes_nothing(
    client: Client, small_clinic: SmallClinic
) -> None:
    c = small_clinic
    old = visit(c, c.patient)
    newcomer(c)
    client.force_login(staff(c, StaffRole.REGISTRAR).user)
    before = state(c)

    nobody = client.post(
        reverse("desk:transfer", args=[old.pk]), {"number": "NB-999999-9", "reason": "Swap"}, headers=HTMX
    )
    unexplained = client.post(
        reverse("desk:transfer", args=[old.pk]), {"number": NEW_NUMBER, "reason": "  "}, headers=HTMX
    )

    assert nobody.status_code == 400
    assert "No patient has the number" in nobody.content.decode()
    assert unexplained.status_code == 400
    assert "Say why the visit is transferred" in unexplained.content.decode()
    assert "open" in unexplained.content.decode()  # the form stays open with its error
    assert state(c) == before


def test_only_registrars_managers_and_administrators_may_transfer_at_the_desk(
    client: Client, small_clinic: SmallClinic
) -> None:
    c = small_clinic
    old = visit(c, c.patient)
    newcomer(c)
    before = state(c)
    refused: dict[str, int] = {}
    for role in (StaffRole.OPERATOR, StaffRole.DENTIST, StaffRole.ASSISTANT):
        client.force_login(staff(c, role).user)
        board = client.get(reverse("desk:board"), {"date": TUESDAY.isoformat()}, headers=EN)
        assert "Transfer to another patient" not in board.content.decode()
        answer = client.post(
            reverse("desk:transfer", args=[old.pk]), {"number": NEW_NUMBER, "reason": "Swap"}
        )
        refused[role.value] = answer.status_code
    client.force_login(patient_user(c.patient))
    refused["patient"] = client.post(
        reverse("desk:transfer", args=[old.pk]), {"number": NEW_NUMBER, "reason": "Swap"}
    ).status_code

    assert set(refused.values()) == {403}, refused
    assert state(c) == before


def test_another_clinics_registrar_does_not_find_the_appointment(
    client: Client, small_clinic: SmallClinic
) -> None:
    c = small_clinic
    old = visit(c, c.patient)
    newcomer(c)
    elsewhere = factories.StaffFactory(role=StaffRole.REGISTRAR)  # of a clinic of its own
    client.force_login(elsewhere.user)
    before = state(c)

    answer = client.post(reverse("desk:transfer", args=[old.pk]), {"number": NEW_NUMBER, "reason": "Swap"})

    assert answer.status_code == 404
    assert state(c) == before


# The REST API ---------------------------------------------------------------------------------------------


def test_a_registrar_transfers_through_the_api(small_clinic: SmallClinic) -> None:
    c = small_clinic
    old = visit(c, c.patient)
    new_patient = newcomer(c)

    response = Api(staff(c, StaffRole.MANAGER).user).transfer(
        old, {"patient": new_patient.pk, "reason": "The family asked"}
    )

    assert response.status_code == 201, response.content.decode()
    body = response.json()
    assert body["patient_id"] == new_patient.pk and body["id"] != old.pk
    assert body["status"] == "booked"
    old.refresh_from_db()
    assert old.status == Status.CANCELLED
    assert AuditEntry.objects.filter(action=AuditAction.TRANSFER).count() == 2


def test_a_patient_or_an_operator_cannot_transfer_through_the_api(small_clinic: SmallClinic) -> None:
    c = small_clinic
    old = visit(c, c.patient)
    new_patient = newcomer(c)
    before = state(c)
    body = {"patient": new_patient.pk, "reason": "Give it to my friend"}

    own = Api(patient_user(c.patient)).transfer(old, body)
    operator = Api(staff(c, StaffRole.OPERATOR).user).transfer(old, body)

    assert own.status_code == 403 and own.json()["code"] == "forbidden"
    assert operator.status_code == 403
    assert state(c) == before


def test_the_service_itself_refuses_who_is_not_allowed(small_clinic: SmallClinic) -> None:
    c = small_clinic
    old = visit(c, c.patient)
    users = [
        None,
        patient_user(c.patient),
        staff(c, StaffRole.OPERATOR).user,
        staff(c, StaffRole.DENTIST).user,
    ]
    before = state(c)

    for user in users:
        with pytest.raises(PermissionDenied):
            transfer_appointment(
                appointment=old, to_patient=c.other_patient, actor=Actor(user=user), reason="Swap", now=NOW
            )

    assert state(c) == before


# Refusals: each a 4xx with a code and a message, and nothing changed ----------------------------------------

Setup = Callable[[SmallClinic], tuple[Appointment, Patient]]


def _free(c: SmallClinic) -> Service:
    c.clinic.requires_national_id = False
    c.clinic.save()
    free: Service = factories.ServiceFactory(
        clinic=c.clinic, code="free-check", specialty=c.therapy.specialty, funding=Funding.STATE
    )
    return free


def past_visit(c: SmallClinic) -> tuple[Appointment, Patient]:
    old = book_appointment(
        patient=c.patient,
        service=c.therapy,
        starts_at=at(MONDAY, 9),
        dentist=c.first,
        channel=Channel.PHONE,
        now=NOW - timedelta(days=7),
    )
    return old, newcomer(c)


def cancelled_visit(c: SmallClinic) -> tuple[Appointment, Patient]:
    old = visit(c, c.patient)
    change_status(appointment=old, to=Status.CANCELLED, reason="Ill")
    return old, newcomer(c)


def arrived_visit(c: SmallClinic) -> tuple[Appointment, Patient]:
    old = visit(c, c.patient)
    change_status(appointment=old, to=Status.ARRIVED)
    return old, newcomer(c)


def over_the_free_quota(c: SmallClinic) -> tuple[Appointment, Patient]:
    free = _free(c)
    old = visit(c, c.patient, service=free)
    new_patient = newcomer(c)
    visit(c, new_patient, 15, service=free)  # his own free visit of the same kind, later that day
    return old, new_patient


def already_busy(c: SmallClinic) -> tuple[Appointment, Patient]:
    old = visit(c, c.patient)
    new_patient = newcomer(c)
    book_appointment(  # with the other dentist, at the same time
        patient=new_patient,
        service=c.therapy,
        starts_at=at(TUESDAY, 11, 15),
        dentist=c.second,
        channel=Channel.PHONE,
        now=NOW - timedelta(days=7),
    )
    return old, new_patient


def too_old_for_the_service(c: SmallClinic) -> tuple[Appointment, Patient]:
    childrens = factories.ServiceFactory(clinic=c.clinic, specialty=c.therapy.specialty, max_age=17)
    child = factories.PatientFactory(clinic=c.clinic, birth_date=date(2018, 4, 2))
    return visit(c, child, service=childrens), newcomer(c)


def without_a_national_identifier(c: SmallClinic) -> tuple[Appointment, Patient]:
    free = _free(c)
    old = visit(c, c.patient, service=free)
    c.clinic.requires_national_id = True
    c.clinic.save()
    NationalIdentifier.objects.create(patient=c.patient, kind="pinfl", country="UZ", value="31705900263001")
    return old, newcomer(c)


def of_another_clinic(c: SmallClinic) -> tuple[Appointment, Patient]:
    return visit(c, c.patient), factories.PatientFactory(number=NEW_NUMBER)


def to_the_same_patient(c: SmallClinic) -> tuple[Appointment, Patient]:
    return visit(c, c.patient), c.patient


REFUSALS: list[tuple[Setup, str, str]] = [
    (past_visit, "in_the_past", "already begun or passed"),
    (cancelled_visit, "invalid_transition", "cannot be transferred"),
    (arrived_visit, "invalid_transition", "cannot be transferred"),
    (over_the_free_quota, "free_booking_limit", "already has a free visit"),
    (already_busy, "patient_busy", "already has a visit at this time"),
    (too_old_for_the_service, "service_not_for_age", "not offered at the patient's age"),
    (without_a_national_identifier, "national_id_required", "national identifier"),
    (of_another_clinic, "wrong_clinic", "must belong to one clinic"),
    (to_the_same_patient, "same_patient", "already belongs to this patient"),
]


@pytest.mark.parametrize(("setup", "code", "says"), REFUSALS, ids=[setup.__name__ for setup, *_ in REFUSALS])
def test_each_refusal_of_the_service_changes_nothing(
    small_clinic: SmallClinic, setup: Setup, code: str, says: str
) -> None:
    c = small_clinic
    old, to_patient = setup(c)
    registrar = staff(c, StaffRole.REGISTRAR)
    before = state(c)

    with pytest.raises(DomainError) as refused, translation.override("en"):
        transfer_appointment(
            appointment=old, to_patient=to_patient, actor=Actor(user=registrar.user), reason="Swap", now=NOW
        )

    assert refused.value.code == code
    assert says in str(refused.value.message)
    assert state(c) == before


STATUS_OF = {"invalid_transition": 409, "patient_busy": 409}


@pytest.mark.parametrize(
    ("setup", "code", "says"),
    [refusal for refusal in REFUSALS if refusal[0] is not of_another_clinic],
    ids=[setup.__name__ for setup, *_ in REFUSALS if setup is not of_another_clinic],
)
def test_each_refusal_is_a_4xx_of_the_api_that_changes_nothing(
    small_clinic: SmallClinic, setup: Setup, code: str, says: str
) -> None:
    c = small_clinic
    old, to_patient = setup(c)
    api = Api(staff(c, StaffRole.REGISTRAR).user)
    before = state(c)

    response = api.transfer(old, {"patient": to_patient.pk, "reason": "Swap"})

    assert response.status_code == STATUS_OF.get(code, 400), response.content.decode()
    assert response.json()["code"] == code
    assert says in response.json()["message"]
    assert state(c) == before


def test_no_reason_or_another_clinics_patient_is_refused_by_the_api(small_clinic: SmallClinic) -> None:
    c = small_clinic
    old = visit(c, c.patient)
    api = Api(staff(c, StaffRole.REGISTRAR).user)
    before = state(c)

    blank = api.transfer(old, {"patient": newcomer(c).pk, "reason": "   "})
    missing = api.transfer(old, {"patient": c.other_patient.pk})
    stranger = api.transfer(old, {"patient": factories.PatientFactory().pk, "reason": "Swap"})

    assert blank.status_code == 400 and blank.json()["code"] == "reason_required"
    assert missing.status_code == 422
    assert stranger.status_code == 404  # a patient of another clinic: not even his existence is told
    assert state(c) == before


def test_a_visit_overbooked_in_overtime_is_not_transferred_to_a_child(small_clinic: SmallClinic) -> None:
    c = small_clinic
    old = visit(c, c.patient)
    Appointment.objects.filter(pk=old.pk).update(overbooked=True)
    old.refresh_from_db()
    child = factories.PatientFactory(clinic=c.clinic, birth_date=date(2018, 4, 2))
    registrar = staff(c, StaffRole.REGISTRAR)

    with pytest.raises(DomainError) as refused:
        transfer_appointment(
            appointment=old, to_patient=child, actor=Actor(user=registrar.user), reason="Swap", now=NOW
        )

    assert refused.value.code == "overbooking_child"
    assert Appointment.objects.get(pk=old.pk).status == Status.BOOKED
