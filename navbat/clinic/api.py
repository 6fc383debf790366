"""REST API of the clinic app: clinics, their dentists and the services they book."""

from __future__ import annotations

from typing import Annotated

from django.http import Http404, HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja import Field, Query, Router, Schema

from navbat.accounts.access import AnyUser, clinic_of, own_patient
from navbat.api import Id, errors
from navbat.clinic.models import Clinic, Service, StaffMember, StaffRole

router = Router()

ServiceCode = Annotated[str, Field(pattern=r"^[-a-zA-Z0-9_]{1,40}$")]


class ClinicOut(Schema):
    id: int
    name: str
    address: str
    country: str
    time_zone: str
    currency: str


class SpecialtyOut(Schema):
    code: str
    name: str


class DentistOut(Schema):
    id: int
    name: str
    clinic_id: int
    specialties: list[SpecialtyOut]
    languages: list[str]
    bio: str


class ServiceOut(Schema):
    id: int
    code: str
    name: str
    clinic_id: int
    duration_minutes: int
    specialty: str
    price: str
    currency: str
    funding: str
    min_age: int | None
    max_age: int | None


class ClinicQuery(Schema):
    clinic: Id | None = Field(None, description="The clinic; by default the caller's own.")


class DentistQuery(ClinicQuery):
    service: ServiceCode | None = Field(None, description="Only dentists who can do this service.")


def clinic_for(user: AnyUser, clinic_id: int | None) -> Clinic:
    """The clinic a request is about: the one named, else the caller's own (a staff member's clinic, a
    patient's registering clinic)."""
    if clinic_id is not None:
        clinic = Clinic.objects.filter(pk=clinic_id).first()
    else:
        clinic = clinic_of(user)
        if clinic is None:
            patient = own_patient(user)
            clinic = patient.clinic if patient is not None else None
    if clinic is None:
        raise Http404(_("No such clinic."))
    return clinic


def service_of(clinic: Clinic, code: str) -> Service:
    service = (
        Service.objects.filter(clinic=clinic, code=code, is_active=True).select_related("clinic").first()
    )
    if service is None:
        raise Http404(_("No such service."))
    return service


def dentists_of(clinic: Clinic) -> list[StaffMember]:
    return list(
        StaffMember.objects.filter(clinic=clinic, role=StaffRole.DENTIST, is_active=True)
        .select_related("user")
        .prefetch_related("specialties")
    )


def dentist_out(dentist: StaffMember) -> DentistOut:
    return DentistOut(
        id=dentist.pk,
        name=dentist.display_name,
        clinic_id=dentist.clinic_id,
        specialties=[SpecialtyOut(code=s.code, name=s.name) for s in dentist.specialties.all()],
        languages=dentist.language_list,
        bio=dentist.bio,
    )


def service_out(service: Service) -> ServiceOut:
    return ServiceOut(
        id=service.pk,
        code=service.code,
        name=service.name,
        clinic_id=service.clinic_id,
        duration_minutes=service.duration_minutes,
        specialty=service.specialty.code,
        price=f"{service.price:.2f}",
        currency=service.clinic.currency,
        funding=service.funding,
        min_age=service.min_age,
        max_age=service.max_age,
    )


@router.get(
    "/clinics",
    response={200: list[ClinicOut], **errors()},
    operation_id="clinic_list",
    url_name="clinic_list",
    summary="Clinics",
)
def clinic_list(request: HttpRequest) -> list[ClinicOut]:
    return [
        ClinicOut(
            id=clinic.pk,
            name=clinic.name,
            address=clinic.address,
            country=clinic.country,
            time_zone=clinic.time_zone,
            currency=clinic.currency,
        )
        for clinic in Clinic.objects.order_by("name", "pk")
    ]


@router.get(
    "/dentists",
    response={200: list[DentistOut], **errors(404)},
    operation_id="dentist_list",
    url_name="dentist_list",
    summary="Dentists of a clinic",
)
def dentist_list(request: HttpRequest, filters: Query[DentistQuery]) -> list[DentistOut]:
    clinic = clinic_for(request.user, filters.clinic)
    dentists = dentists_of(clinic)
    if filters.service is not None:
        service = service_of(clinic, filters.service)
        dentists = [d for d in dentists if any(s.pk == service.specialty_id for s in d.specialties.all())]
    return [dentist_out(dentist) for dentist in dentists]


@router.get(
    "/services",
    response={200: list[ServiceOut], **errors(404)},
    operation_id="service_list",
    url_name="service_list",
    summary="Services a clinic books",
)
def service_list(request: HttpRequest, filters: Query[ClinicQuery]) -> list[ServiceOut]:
    clinic = clinic_for(request.user, filters.clinic)
    services = Service.objects.filter(clinic=clinic, is_active=True).select_related("clinic", "specialty")
    return [service_out(service) for service in services.order_by("code")]
