"""The demo clinic: realistic, deterministic, and consistent with the invariants."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.utils.html import escape

from navbat.booking.models import Appointment, WaitlistEntry, WaitlistStatus
from navbat.booking.selectors import load_availability
from navbat.booking.statuses import ACTIVE_STATUSES
from navbat.clinic.demo import DEMO_PASSWORD, DemoSpec, build_demo_clinic
from navbat.clinic.models import (
    Chair,
    Clinic,
    DepartmentKind,
    PlanIntervalKind,
    Service,
    StaffMember,
    StaffRole,
)
from navbat.clinic.selectors import urgent_codes

NOW = datetime(2027, 3, 1, 7, 30, tzinfo=ZoneInfo("Asia/Tashkent"))  # a Monday morning


@pytest.fixture
def demo(db: None) -> Clinic:
    clinic, _logins = build_demo_clinic(DemoSpec(), now=NOW)
    return clinic


def test_the_demo_clinic_has_the_staff_chairs_and_services_of_a_real_one(demo: Clinic) -> None:
    dentists = StaffMember.objects.filter(clinic=demo, role=StaffRole.DENTIST)
    specialties = set(dentists.values_list("specialties__code", flat=True))
    chairs = Chair.objects.filter(department__clinic=demo)
    services = Service.objects.filter(clinic=demo)

    assert dentists.count() >= 10
    assert {"therapist", "surgeon", "orthodontist", "paediatric", "hygienist"} <= specialties
    assert dentists.filter(department__kind=DepartmentKind.CHILDREN).exists()
    assert chairs.count() >= 6
    assert 0 < chairs.filter(equipment__code="xray").count() < chairs.count()
    assert 20 <= services.count() <= 30
    assert all(s.name_uz and s.name_ru and s.name_en and s.duration_minutes >= 10 for s in services)
    assert services.filter(max_age__lte=17).exists()  # children's services


def test_the_demo_plans_cover_four_weeks_with_breaks(demo: Clinic) -> None:
    today = NOW.date()
    availability = load_availability(
        clinic=demo, first_day=today + timedelta(days=21), last_day=today + timedelta(days=27)
    )
    dentist = StaffMember.objects.filter(clinic=demo, role=StaffRole.DENTIST).first()
    assert dentist is not None

    assert sum(len(spans) for spans in availability.working.values()) > 0
    assert dentist.working_plans.filter(intervals__kind=PlanIntervalKind.BREAK).exists()


def test_about_sixty_percent_of_the_next_two_weeks_is_booked_without_overlaps(demo: Clinic) -> None:
    today = NOW.date()
    availability = load_availability(clinic=demo, first_day=today, last_day=today + timedelta(days=13))
    working = sum((span.duration for spans in availability.working.values() for span in spans), timedelta())
    booked = sum(
        (span.duration for spans in availability.dentist_busy.values() for span in spans), timedelta()
    )

    assert 0.5 <= booked / working <= 0.7
    active = Appointment.objects.filter(clinic=demo, status__in=ACTIVE_STATUSES).order_by("starts_at")
    for key in ("dentist_id", "chair_id", "patient_id"):
        last_end: dict[int, datetime] = defaultdict(lambda: NOW - timedelta(days=365))
        for row in active.values(key, "starts_at", "ends_at"):
            assert row["starts_at"] >= last_end[row[key]], f"two active appointments overlap on {key}"
            last_end[row[key]] = row["ends_at"]


def test_the_same_seed_builds_the_same_clinic(demo: Clinic) -> None:
    twin, _logins = build_demo_clinic(DemoSpec(username_prefix="twin-"), now=NOW)

    def fingerprint(clinic: Clinic) -> list[tuple[object, ...]]:
        rows = Appointment.objects.filter(clinic=clinic).order_by("starts_at", "dentist__user__username")
        return [
            (
                a.starts_at,
                a.dentist.user.username.removeprefix("twin-"),
                a.service.code,
                a.patient.surname,
                a.status,
            )
            for a in rows.select_related("dentist__user", "service", "patient")
        ]

    assert fingerprint(demo) == fingerprint(twin)


def test_staff_see_the_day_board_of_the_demo_clinic(demo: Clinic, client: Client) -> None:
    signed_in = client.post("/accounts/login/", {"username": "registrar", "password": DEMO_PASSWORD})
    assert signed_in.status_code == 302

    page = client.get("/", {"date": NOW.date().isoformat()}, HTTP_ACCEPT_LANGUAGE="en")

    html = page.content.decode()
    assert page.status_code == 200
    first = (
        Appointment.objects.filter(clinic=demo, starts_at__date=NOW.date())
        .select_related("dentist__user")
        .first()
    )
    assert first is not None
    assert escape(first.dentist.display_name) in html
    assert escape(first.patient.short_name) in html
    assert first.starts_at.astimezone(demo.tz).strftime("%H:%M") in html


def test_the_demo_clinic_has_patients_waiting_for_a_time_and_for_an_earlier_one(demo: Clinic) -> None:
    waiting = WaitlistEntry.objects.filter(clinic=demo, status=WaitlistStatus.WAITING)

    assert waiting.filter(earlier_than__isnull=True).count() == DemoSpec().waiting
    assert not waiting.filter(earlier_than__isnull=True, service__code__in=urgent_codes()).exists()
    earlier = waiting.filter(earlier_than__isnull=False).select_related("earlier_than")
    assert earlier.count() == DemoSpec().waiting // 2
    assert all(
        entry.earlier_than is not None and entry.earlier_than.patient_id == entry.patient_id
        for entry in earlier
    )
