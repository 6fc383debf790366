"""The suspicious-activity report (accounts.suspicious): each scalping pattern planted in the small clinic is
found with its evidence, a normal clinic yields nothing, and the page shows managers no personal data."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from navbat.accounts.audit import Actor
from navbat.accounts.models import OneTimeCode, OtpPurpose
from navbat.accounts.suspicious import Finding, FindingKind, suspicious_activity
from navbat.booking.models import Appointment, AppointmentEvent
from navbat.booking.statuses import Channel, Status
from navbat.clinic.models import StaffMember, StaffRole
from navbat.patients.arrival import IdentityCheck, check_identity_at_arrival
from navbat.patients.models import Patient
from tests import factories
from tests.small_clinic import MONDAY, SmallClinic, at

pytestmark = pytest.mark.django_db

REPORT_AT = at(MONDAY + timedelta(days=14), 12)  # two weeks after the planted Monday
DAYS = 40


def report(c: SmallClinic) -> list[Finding]:
    return suspicious_activity(clinic=c.clinic, now=REPORT_AT, days=DAYS)


class Slots:
    """Distinct free half hours on the weekdays from the planted Monday on, alternating the two therapists."""

    def __init__(self, c: SmallClinic) -> None:
        self.c = c
        self._times: Iterator[tuple[datetime, StaffMember]] = (
            (at(MONDAY + timedelta(days=week * 7 + weekday), hour, minute), dentist)
            for week in range(2)
            for weekday in range(5)
            for hour in (9, 10, 11, 12, 14, 15, 16, 17)
            for minute in (0, 30)
            for dentist in (c.first, c.second)
        )

    def visit(
        self, *, status: str, created_by: User | None = None, patient: Patient | None = None
    ) -> Appointment:
        starts_at, dentist = next(self._times)
        c = self.c
        return Appointment.objects.create(
            clinic=c.clinic,
            patient=patient or factories.PatientFactory(clinic=c.clinic),
            service=c.therapy,
            dentist=dentist,
            chair=c.chair_plain if dentist == c.first else c.chair_xray,
            starts_at=starts_at,
            ends_at=starts_at + timedelta(minutes=30),
            status=status,
            channel=Channel.PHONE,
            created_by=created_by,
        )


def staff_user(c: SmallClinic, role: StaffRole) -> User:
    member: StaffMember = factories.StaffFactory(clinic=c.clinic, role=role)
    return member.user


def normal_month(c: SmallClinic) -> Slots:
    """A family of three on one phone, a few sign-in codes from one address, twenty visits booked by the
    desk and the call centre of which two were missed, and one cancellation whose time someone else took."""
    slots = Slots(c)
    family_phone = "+998901112233"
    for _ in range(3):
        factories.PatientFactory(clinic=c.clinic, phone=family_phone)
    for number in range(3):
        otp(c, f"+99890555000{number}", "198.51.100.4")
    registrar, operator = staff_user(c, StaffRole.REGISTRAR), staff_user(c, StaffRole.OPERATOR)
    for index in range(20):
        slots.visit(
            status=Status.NOSHOW if index in (3, 13) else Status.FULFILLED,
            created_by=registrar if index % 2 else operator,
        )
    cancelled = slots.visit(status=Status.CANCELLED)
    handed_over(cancelled, hours_before=10)
    return slots


def otp(c: SmallClinic, phone: str, address: str) -> OneTimeCode:
    return OneTimeCode.objects.create(
        purpose=OtpPurpose.LOGIN,
        clinic=c.clinic,
        phone=phone,
        code_hash="x" * 64,
        tries_left=3,
        created_at=REPORT_AT - timedelta(days=2),
        expires_at=REPORT_AT - timedelta(days=2) + timedelta(minutes=5),
        requested_from=address,
    )


def handed_over(cancelled: Appointment, *, hours_before: int, to: Patient | None = None) -> Appointment:
    """`cancelled` was cancelled `hours_before` its start; another patient took that time 5 minutes later."""
    cancelled_at = cancelled.starts_at - timedelta(hours=hours_before)
    event = AppointmentEvent.objects.create(
        appointment=cancelled, from_status=Status.BOOKED, to_status=Status.CANCELLED
    )
    AppointmentEvent.objects.filter(pk=event.pk).update(at=cancelled_at)
    taker = Appointment.objects.create(
        clinic=cancelled.clinic,
        patient=to or factories.PatientFactory(clinic=cancelled.clinic),
        service=cancelled.service,
        dentist=cancelled.dentist,
        chair=cancelled.chair,
        starts_at=cancelled.starts_at,
        ends_at=cancelled.ends_at,
        status=Status.BOOKED,
        channel=Channel.WEB,
    )
    Appointment.objects.filter(pk=taker.pk).update(created_at=cancelled_at + timedelta(minutes=5))
    return taker


def test_a_normal_clinic_yields_no_findings(small_clinic: SmallClinic) -> None:
    normal_month(small_clinic)
    assert report(small_clinic) == []


def test_one_phone_behind_many_patients_is_found_with_their_numbers(small_clinic: SmallClinic) -> None:
    c = small_clinic
    normal_month(c)
    phone = "+998907776655"
    planted = [factories.PatientFactory(clinic=c.clinic, phone=phone) for _ in range(7)]
    (finding,) = report(c)
    assert finding.kind == FindingKind.SHARED_PHONE
    assert finding.count == 7
    assert set(finding.evidence) == {patient.number or f"#{patient.pk}" for patient in planted}
    assert "7776655" not in finding.subject and finding.subject.startswith("phone ")


def test_one_address_asking_codes_for_many_phones_is_found(small_clinic: SmallClinic) -> None:
    c = small_clinic
    normal_month(c)
    for number in range(12):
        otp(c, f"+9989077700{number:02d}", "203.0.113.9")
    (finding,) = report(c)
    assert finding.kind == FindingKind.SHARED_ADDRESS
    assert finding.count == 12
    assert "203.0.113.9" not in finding.subject
    assert finding.evidence == ("12 phones", "12 codes")


def test_patients_created_in_a_burst_who_never_came_are_found(small_clinic: SmallClinic) -> None:
    c = small_clinic
    slots = normal_month(c)
    burst = [factories.PatientFactory(clinic=c.clinic) for _ in range(5)]
    for minute, patient in zip(itertools.count(3, 11), burst, strict=False):
        Patient.objects.filter(pk=patient.pk).update(created_at=at(MONDAY - timedelta(days=3), 3, minute))
        slots.visit(status=Status.NOSHOW, patient=patient)
    (finding,) = report(c)
    assert finding.kind == FindingKind.BURST_NEVER_CAME
    assert finding.count == 5
    assert finding.subject == f"{MONDAY - timedelta(days=3)} 03:00–04:00"
    assert set(finding.evidence) == {patient.number or f"#{patient.pk}" for patient in burst}


def test_a_burst_whose_patients_came_is_not_suspicious(small_clinic: SmallClinic) -> None:
    c = small_clinic
    slots = normal_month(c)
    for _ in range(6):
        patient = factories.PatientFactory(clinic=c.clinic)
        Patient.objects.filter(pk=patient.pk).update(created_at=at(MONDAY - timedelta(days=3), 3))
        slots.visit(status=Status.FULFILLED, patient=patient)
    assert report(c) == []


def test_repeated_cancellations_rebooked_by_someone_else_are_found(small_clinic: SmallClinic) -> None:
    c = small_clinic
    slots = normal_month(c)
    scalper = factories.PatientFactory(clinic=c.clinic)
    first = slots.visit(status=Status.CANCELLED, patient=scalper)
    second = slots.visit(status=Status.CANCELLED, patient=scalper)
    buyers = [handed_over(first, hours_before=3), handed_over(second, hours_before=20)]
    (finding,) = report(c)
    assert finding.kind == FindingKind.CANCEL_REBOOK
    assert finding.subject == f"patient {scalper.number or f'#{scalper.pk}'}"
    assert finding.count == 2
    assert all(f"#{buyer.pk}" in " ".join(finding.evidence) for buyer in buyers)


def test_cancelling_days_ahead_is_not_a_handover(small_clinic: SmallClinic) -> None:
    c = small_clinic
    slots = normal_month(c)
    patient = factories.PatientFactory(clinic=c.clinic)
    for _ in range(2):
        handed_over(slots.visit(status=Status.CANCELLED, patient=patient), hours_before=72)
    assert report(c) == []


def test_a_staff_account_with_unusually_many_no_shows_is_found(small_clinic: SmallClinic) -> None:
    c = small_clinic
    slots = normal_month(c)
    suspect = staff_user(c, StaffRole.OPERATOR)
    for index in range(10):
        slots.visit(status=Status.NOSHOW if index < 6 else Status.FULFILLED, created_by=suspect)
    (finding,) = report(c)
    assert finding.kind == FindingKind.OPERATOR_NO_SHOWS
    assert finding.subject == suspect.get_username()
    assert finding.count == 6
    assert finding.evidence == ("6 / 10 = 60%", "clinic 27%")  # 8 of 30 for the whole clinic


def test_the_page_shows_managers_the_findings_and_no_personal_data(small_clinic: SmallClinic) -> None:
    c = small_clinic
    phone = "+998907776655"
    planted = [factories.PatientFactory(clinic=c.clinic, phone=phone, surname="Scalperov") for _ in range(7)]
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(staff_user(c, StaffRole.MANAGER))
    html = client.get(reverse("suspicious_report")).content.decode()
    assert "One phone behind many patients" in html
    assert (planted[0].number or f"#{planted[0].pk}") in html
    assert "Scalperov" not in html and "7776655" not in html
    registrar = Client()
    registrar.force_login(staff_user(c, StaffRole.REGISTRAR))
    assert registrar.get(reverse("suspicious_report")).status_code == 403


def test_the_page_says_so_when_nothing_is_found(small_clinic: SmallClinic) -> None:
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(staff_user(small_clinic, StaffRole.MANAGER))
    answer = client.get(reverse("suspicious_report"))
    assert answer.status_code == 200
    assert "Nothing suspicious was found." in answer.content.decode()


def test_identity_mismatches_at_arrival_are_listed(small_clinic: SmallClinic) -> None:
    c = small_clinic
    registrar = Actor(user=staff_user(c, StaffRole.REGISTRAR), path="test")
    check_identity_at_arrival(
        patient=c.patient, check=IdentityCheck.MISMATCH, actor=registrar, appointment_id=41
    )
    check_identity_at_arrival(
        patient=c.other_patient, check=IdentityCheck.BIRTH_DATE, actor=registrar, appointment_id=42
    )
    (finding,) = suspicious_activity(clinic=c.clinic)
    assert finding.kind == FindingKind.IDENTITY_MISMATCH
    assert finding.evidence == (f"{c.patient.number or f'#{c.patient.pk}'} (#41)",)
