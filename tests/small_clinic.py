"""A small clinic on a known week: two therapists, two chairs (one with X-ray), Mon–Fri 09:00–18:00."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from navbat.clinic.models import Chair, Clinic, Equipment, Service, StaffMember
from navbat.patients.models import Patient
from tests import factories

TASHKENT = ZoneInfo("Asia/Tashkent")
MONDAY = date(2027, 3, 1)  # an ordinary working Monday in Uzbekistan
NOW = datetime(2027, 2, 26, 9, 0, tzinfo=TASHKENT)  # the Friday before


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=TASHKENT)


@dataclass
class SmallClinic:
    clinic: Clinic
    xray: Equipment
    chair_xray: Chair
    chair_plain: Chair
    first: StaffMember
    second: StaffMember
    therapy: Service
    patient: Patient
    other_patient: Patient


def build_small_clinic() -> SmallClinic:
    clinic = factories.ClinicFactory()
    department = factories.DepartmentFactory(clinic=clinic)
    xray = factories.EquipmentFactory(clinic=clinic, code="xray")
    chair_xray = factories.ChairFactory(department=department, name="Chair 1")
    chair_xray.equipment.set([xray])
    chair_plain = factories.ChairFactory(department=department, name="Chair 2")
    therapist = factories.SpecialtyFactory()
    first = factories.StaffFactory(clinic=clinic, specialties=[therapist])
    second = factories.StaffFactory(clinic=clinic, specialties=[therapist])
    factories.weekly_plan(first, valid_from=date(2027, 1, 1), chair=chair_plain)
    factories.weekly_plan(second, valid_from=date(2027, 1, 1), chair=chair_xray)
    therapy = factories.ServiceFactory(clinic=clinic, specialty=therapist, duration_minutes=30)
    return SmallClinic(
        clinic=clinic,
        xray=xray,
        chair_xray=chair_xray,
        chair_plain=chair_plain,
        first=first,
        second=second,
        therapy=therapy,
        patient=factories.PatientFactory(clinic=clinic),
        other_patient=factories.PatientFactory(clinic=clinic),
    )
