"""A clinic for the API tests that works every day, so that "tomorrow at 10:00" is always bookable whatever
the date the tests run on: two therapists, two chairs, 08:00–20:00 seven days a week, no holidays."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from navbat.accounts.access import Role
from navbat.accounts.api_auth import create_token
from navbat.accounts.services import assign_role
from navbat.booking.models import Appointment
from navbat.booking.statuses import Channel, Status
from navbat.clinic.models import Chair, Clinic, Service, StaffMember, StaffRole
from navbat.patients.models import Guardianship, MedicalAlert, Patient
from navbat.patients.services import refresh_search_keys
from tests import factories

API = "/api/v1"


@dataclass
class ApiWorld:
    clinic: Clinic
    chairs: list[Chair]
    dentists: list[StaffMember]
    service: Service
    users: dict[str, User]
    patient: Patient  # registered at the clinic, with a medical alert
    parent: Patient  # signs in as "patient"; guardian of `child`
    child: Patient
    stranger: Patient
    tokens: dict[str, str] = field(default_factory=dict)

    def token(self, who: str) -> str:
        if who not in self.tokens:
            _record, self.tokens[who] = create_token(user=self.users[who], name=f"tests {who}")
        return self.tokens[who]

    def at(self, days: int, hour: int, minute: int = 0) -> datetime:
        """A time `days` from today at hour:minute, in the clinic's zone."""
        today = timezone.now().astimezone(self.clinic.tz).date()
        return datetime.combine(today + timedelta(days=days), time(hour, minute), tzinfo=self.clinic.tz)

    def book(self, patient: Patient, starts_at: datetime, *, dentist: int = 0, status: str = Status.BOOKED):
        return Appointment.objects.create(
            clinic=self.clinic,
            patient=patient,
            service=self.service,
            dentist=self.dentists[dentist],
            chair=self.chairs[dentist],
            starts_at=starts_at,
            ends_at=starts_at + timedelta(minutes=30),
            status=status,
            channel=Channel.PHONE,
        )


def build_api_world() -> ApiWorld:
    # No passwords (password=None): they sign in with tokens or force_login, and argon2 takes 0.2 s a user.
    clinic = factories.ClinicFactory(name="API clinic", observes_national_holidays=False)
    department = factories.DepartmentFactory(clinic=clinic)
    chairs: list[Chair] = [factories.ChairFactory(department=department, name=f"Chair {n}") for n in (1, 2)]
    therapist = factories.SpecialtyFactory()
    dentists: list[StaffMember] = []
    for n, chair in enumerate(chairs):
        user = factories.UserFactory(
            username=f"api-dentist-{n}", first_name="Dilnoza", last_name=f"Doc{n}", password=None
        )
        dentist = factories.StaffFactory(
            user=user, clinic=clinic, role=StaffRole.DENTIST, department=department, specialties=[therapist]
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
        dentists.append(dentist)
    service = factories.ServiceFactory(
        clinic=clinic, code="checkup", specialty=therapist, duration_minutes=30
    )
    users = {Role.DENTIST.value: dentists[0].user}
    for role in (Role.ADMINISTRATOR, Role.MANAGER, Role.REGISTRAR, Role.OPERATOR, Role.ASSISTANT):
        user = factories.UserFactory(username=f"api-{role.value}", password=None)
        factories.StaffFactory(user=user, clinic=clinic, role=role, department=department)
        users[role.value] = user
    parent_user = factories.UserFactory(username="api-parent", password=None)
    parent = factories.PatientFactory(clinic=clinic, user=parent_user, surname="Karimova", name="Malika")
    assign_role(user=parent_user, role=Role.PATIENT)
    users[Role.PATIENT.value] = parent_user
    child = factories.PatientFactory(
        clinic=clinic, surname="Karimov", name="Timur", birth_date=date(2018, 4, 2), phone=""
    )
    Guardianship.objects.create(guardian=parent, child=child)
    patient = factories.PatientFactory(clinic=clinic, surname="Yuldashev", name="Aziz")
    MedicalAlert.objects.create(patient=patient, kind="allergy", note="Lidocaine")
    stranger = factories.PatientFactory(clinic=clinic, surname="Begaliyev", name="Sardor")
    for someone in (parent, child, patient, stranger):
        refresh_search_keys(someone)  # what the registering service does; the factory does not
        someone.save()
    return ApiWorld(
        clinic=clinic,
        chairs=chairs,
        dentists=dentists,
        service=service,
        users=users,
        patient=patient,
        parent=parent,
        child=child,
        stranger=stranger,
    )


@pytest.fixture
def world(db: None) -> ApiWorld:
    return build_api_world()


class ApiClient:
    """JSON in, JSON out, as one user (by token), in one language."""

    def __init__(self, token: str | None = None, language: str = "en") -> None:
        self.client = Client()
        self.headers: dict[str, str] = {"Accept-Language": language}
        if token is not None:
            self.headers["Authorization"] = f"Bearer {token}"

    def request(self, method: str, path: str, body: Any = None, **headers: str) -> Any:
        kwargs: dict[str, Any] = {"headers": {**self.headers, **headers}}
        if body is not None:
            kwargs.update(data=json.dumps(body, default=str), content_type="application/json")
        return getattr(self.client, method)(API + path, **kwargs)

    def get(self, path: str, query: dict[str, Any] | None = None, **headers: str) -> Any:
        return self.client.get(API + path, query or {}, headers={**self.headers, **headers})

    def post(self, path: str, body: Any = None, **headers: str) -> Any:
        return self.request("post", path, {} if body is None else body, **headers)

    def patch(self, path: str, body: Any, **headers: str) -> Any:
        return self.request("patch", path, body, **headers)


@pytest.fixture
def as_user(world: ApiWorld):
    """as_user("operator") → an ApiClient with that role's token."""

    def make(who: str, language: str = "en") -> ApiClient:
        return ApiClient(world.token(who), language)

    return make


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    """The one error shape: {"code", "message", "details"}, with the status and code expected."""
    assert response.status_code == status, response.content.decode()[:800]
    body: dict[str, Any] = response.json()
    assert set(body) == {"code", "message", "details"}, body
    assert body["code"] == code, body
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["details"], dict)
    return body
