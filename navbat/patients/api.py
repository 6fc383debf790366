"""REST API of the registry: search and one patient's record, with the same rules and audit as the pages.

Staff who use the registry search it (one SEARCH entry in the audit log per search, never the text typed);
a patient sees himself and his children. A record shows medical alerts only to those access.py lets see
them (an operator learns that there are alerts, not what they are). Every read is audited.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from ninja import Field, P, PathEx, Query, Router, Schema

from navbat.accounts.access import (
    AnyUser,
    can_see_clinical,
    can_use_registry,
    clinic_of,
    own_patient,
    patient_or_404,
    visible_patients,
)
from navbat.accounts.audit import Actor
from navbat.api import MAX_ID, MESSAGES, ApiErrorCode, Text, errors
from navbat.patients.models import Patient
from navbat.patients.selectors import search_patients
from navbat.patients.services import record_patient_view, record_search

router = Router()

SEARCH_LIMIT = 20


class PatientOut(Schema):
    """A search result: who the patient is, enough to tell him from his namesakes."""

    id: int
    number: str | None
    surname: str
    name: str
    patronymic: str
    birth_date: date
    phone: str


class AlertOut(Schema):
    kind: str
    note: str


class PatientDetailOut(PatientOut):
    clinic_id: int
    sex: str
    email: str
    address: str
    preferred_language: str
    preferred_channel: str
    is_verified: bool
    has_alerts: bool
    alerts: list[AlertOut] | None = Field(
        description="The medical alerts; null for a caller whose work does not need them (has_alerts says "
        "whether there are any)."
    )


class PatientQuery(Schema):
    q: Annotated[Text, Field(max_length=100)] = Field(
        "", description="A patient number, a phone in any format, or names in any script."
    )


# The audit log names the fields each answer shows.
SEARCH_FIELDS = tuple(name for name in PatientOut.model_fields if name != "id")
DETAIL_FIELDS = tuple(name for name in PatientDetailOut.model_fields if name not in {"id", "alerts"})


def patient_out(patient: Patient) -> PatientOut:
    return PatientOut(
        id=patient.pk,
        number=patient.number,
        surname=patient.surname,
        name=patient.name,
        patronymic=patient.patronymic,
        birth_date=patient.birth_date,
        phone=str(patient.phone or ""),
    )


def _region(user: AnyUser) -> str:
    clinic = clinic_of(user)
    if clinic is None:
        me = own_patient(user)
        clinic = me.clinic if me is not None else None
    return clinic.phone_region if clinic is not None else "UZ"


@router.get(
    "/patients",
    response={200: list[PatientOut], **errors()},
    operation_id="patient_list",
    url_name="patient_list",
    summary="Search the registry (staff) or list oneself and one's children (a patient)",
)
def patient_list(request: HttpRequest, filters: Query[PatientQuery]) -> list[PatientOut]:
    user = request.user
    query = filters.q.strip()
    patients = visible_patients(user)
    if can_use_registry(user):
        found = search_patients(patients=patients, query=query, region=_region(user), limit=SEARCH_LIMIT)
        if query:
            record_search(actor=Actor.of(request), shown=len(found), fields=SEARCH_FIELDS)
    elif own_patient(user) is not None:
        found = (
            search_patients(patients=patients, query=query, region=_region(user), limit=SEARCH_LIMIT)
            if query
            else list(patients.order_by("birth_date", "pk"))
        )
    else:
        # Dentists and assistants open their own patients' records; they do not search the registry.
        raise PermissionDenied(MESSAGES[ApiErrorCode.FORBIDDEN])
    return [patient_out(patient) for patient in found]


@router.get(
    "/patients/{id}",
    response={200: PatientDetailOut, **errors(404)},
    operation_id="patient_detail",
    url_name="patient_detail",
    summary="One patient's record",
)
def patient_detail(request: HttpRequest, id: PathEx[int, P(ge=1, le=MAX_ID)]) -> PatientDetailOut:
    patient = patient_or_404(request.user, id)
    clinical = can_see_clinical(request.user, patient)
    alerts = list(patient.alerts.all())
    record_patient_view(
        patient=patient,
        actor=Actor.of(request),
        fields=(*DETAIL_FIELDS, "alerts") if clinical else DETAIL_FIELDS,
    )
    return PatientDetailOut(
        **patient_out(patient).model_dump(),
        clinic_id=patient.clinic_id,
        sex=patient.sex,
        email=patient.email,
        address=patient.address,
        preferred_language=patient.preferred_language,
        preferred_channel=patient.preferred_channel,
        is_verified=patient.is_verified,
        has_alerts=bool(alerts),
        alerts=[AlertOut(kind=a.kind, note=a.note) for a in alerts] if clinical else None,
    )
