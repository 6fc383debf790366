"""factory-boy factories for a small clinic. Names are generated; nobody here is a real person."""

from __future__ import annotations

from datetime import date, time, timedelta
from typing import Any

import factory
from django.contrib.auth import get_user_model

from navbat.accounts.access import Role
from navbat.accounts.services import assign_role
from navbat.clinic.models import (
    Chair,
    Clinic,
    Department,
    Equipment,
    PlanInterval,
    PlanIntervalKind,
    Service,
    Specialty,
    StaffMember,
    StaffRole,
    WorkingPlan,
)
from navbat.patients.models import Patient


class ClinicFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Clinic

    name = factory.Sequence(lambda n: f"Test clinic {n}")
    time_zone = "Asia/Tashkent"
    country = "UZ"
    min_notice_minutes = 60


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Department

    clinic = factory.SubFactory(ClinicFactory)
    name = factory.Sequence(lambda n: f"Department {n}")


class SpecialtyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Specialty
        django_get_or_create = ("code",)

    code = "therapist"
    name_uz = "Terapevt"
    name_ru = "Терапевт"
    name_en = "Therapist"


class EquipmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Equipment

    clinic = factory.SubFactory(ClinicFactory)
    code = factory.Sequence(lambda n: f"kit{n}")
    name_uz = name_ru = name_en = factory.LazyAttribute(lambda o: o.code)


class ChairFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Chair

    department = factory.SubFactory(DepartmentFactory)
    name = factory.Sequence(lambda n: f"Chair {n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = "Test"
    last_name = factory.Sequence(lambda n: f"Staff{n}")
    password = factory.django.Password("test-pass-123")


class StaffFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StaffMember
        skip_postgeneration_save = True

    user = factory.SubFactory(UserFactory)
    clinic = factory.SubFactory(ClinicFactory)
    role = StaffRole.DENTIST

    @factory.post_generation
    def specialties(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        if create and extracted:
            self.specialties.set(extracted)

    @factory.post_generation
    def role_group(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        if create:
            assign_role(user=self.user, role=Role(self.role))


class ServiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Service

    clinic = factory.SubFactory(ClinicFactory)
    code = factory.Sequence(lambda n: f"svc{n}")
    name_uz = "Karies davolash"
    name_ru = "Лечение кариеса"
    name_en = "Caries treatment"
    duration_minutes = 30
    specialty = factory.SubFactory(SpecialtyFactory)


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient

    clinic = factory.SubFactory(ClinicFactory)
    surname = factory.Sequence(lambda n: f"Testov{n}")
    name = "Aziz"
    birth_date = date(1990, 5, 17)
    phone = factory.Sequence(lambda n: f"+99890{1000000 + n}")


def weekly_plan(
    staff: StaffMember,
    *,
    valid_from: date,
    chair: Chair | None = None,
    days: range = range(5),
    start: time = time(9),
    end: time = time(18),
    lunch: tuple[time, time] | None = (time(13), time(14)),
    weeks: int | None = None,
) -> WorkingPlan:
    """Monday–Friday 09:00–18:00 with lunch 13:00–14:00 unless told otherwise."""
    plan = WorkingPlan.objects.create(
        staff=staff,
        valid_from=valid_from,
        valid_until=valid_from + timedelta(weeks=weeks) if weeks else None,
        default_chair=chair,
    )
    for weekday in days:
        PlanInterval.objects.create(plan=plan, weekday=weekday, start=start, end=end)
        if lunch:
            PlanInterval.objects.create(
                plan=plan, weekday=weekday, kind=PlanIntervalKind.BREAK, start=lunch[0], end=lunch[1]
            )
    return plan
