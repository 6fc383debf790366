"""The waitlist in a real browser: a visit is cancelled, the waiting patient's offer arrives with its link, he
opens it on his phone without signing in and takes the time; the operator sees the offer while it is open.
In Russian and in Uzbek."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from navbat.booking import waitlist
from navbat.booking.models import OfferStatus, WaitlistOffer
from navbat.booking.services import book_appointment, cancel_appointment
from navbat.booking.statuses import Channel, Status
from navbat.clinic.models import Clinic, Service, StaffMember, StaffRole
from navbat.patients.models import Patient
from tests import factories
from tests.browser.conftest import PASSWORD, translated

pytestmark = pytest.mark.browser


def _clinic() -> tuple[Clinic, StaffMember, Service]:
    clinic = factories.ClinicFactory(observes_national_holidays=False)
    department = factories.DepartmentFactory(clinic=clinic)
    chair = factories.ChairFactory(department=department)
    therapist = factories.SpecialtyFactory()
    dentist = factories.StaffFactory(clinic=clinic, specialties=[therapist])
    factories.weekly_plan(dentist, valid_from=_today(clinic), chair=chair)
    service = factories.ServiceFactory(clinic=clinic, specialty=therapist, duration_minutes=30)
    return clinic, dentist, service


def _today(clinic: Clinic) -> date:
    return timezone.now().astimezone(clinic.tz).date()


def _next_monday_ten(clinic: Clinic) -> datetime:
    today = _today(clinic)
    monday = today + timedelta(days=7 - today.weekday())
    return datetime.combine(monday, time(10), tzinfo=clinic.tz)


@pytest.mark.parametrize("screen", ["phone"])
@pytest.mark.parametrize("language", ["ru", "uz"])
def test_a_cancelled_time_reaches_the_waiting_patient_who_takes_it_by_the_link(
    page: Page, language: str
) -> None:
    # Given a patient waiting for any time in the next two weeks, and next Monday 10:00 booked by another
    clinic, dentist, service = _clinic()
    waiting: Patient = factories.PatientFactory(clinic=clinic, preferred_language=language)
    ten = _next_monday_ten(clinic)
    waitlist.join_waitlist(
        patient=waiting, service=service, date_from=_today(clinic), date_to=ten.date() + timedelta(days=7)
    )
    other = factories.PatientFactory(clinic=clinic)
    booked = book_appointment(
        patient=other, service=service, starts_at=ten, dentist=dentist, channel=Channel.PHONE
    )
    # When that visit is cancelled
    cancel_appointment(appointment=booked, reason="test")
    # Then the waiting patient has a live offer of Monday 10:00; its link opens without signing in
    offer = WaitlistOffer.objects.get(entry__patient=waiting)
    assert offer.status == OfferStatus.OFFERED
    page.goto(waitlist.offer_path(offer))
    expect(page.get_by_role("heading", level=1)).to_have_text(
        translated(language, "A time has become free for you")
    )
    expect(page.locator(".card")).to_contain_text("10:00")
    # And one tap takes it
    page.get_by_role("button", name=translated(language, "Take this time")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(translated(language, "The time is yours"))
    visit = waiting.appointments.get(status=Status.BOOKED)
    assert visit.starts_at == ten
    offer.refresh_from_db()
    assert offer.status == OfferStatus.ACCEPTED
    # The page fits a 360-px phone: nothing scrolls sideways
    assert page.evaluate("document.documentElement.scrollWidth") <= 360


@pytest.mark.parametrize("language", ["uz"])
def test_the_operator_sees_the_offer_in_flight(page: Page, language: str) -> None:
    clinic, dentist, service = _clinic()
    operator = factories.StaffFactory(clinic=clinic, role=StaffRole.OPERATOR, user__username="operator")
    waiting: Patient = factories.PatientFactory(clinic=clinic, surname="Yoʻldosheva")
    ten = _next_monday_ten(clinic)
    waitlist.join_waitlist(
        patient=waiting, service=service, date_from=_today(clinic), date_to=ten.date() + timedelta(days=7)
    )
    other = factories.PatientFactory(clinic=clinic)
    booked = book_appointment(
        patient=other, service=service, starts_at=ten, dentist=dentist, channel=Channel.PHONE
    )
    cancel_appointment(appointment=booked, reason="test")
    assert WaitlistOffer.objects.filter(entry__patient=waiting, status=OfferStatus.OFFERED).exists()
    page.goto("/accounts/login/?next=/waitlist/offers/")
    page.get_by_label(translated(language, "Username")).fill(operator.user.username)
    page.get_by_label(translated(language, "Password")).fill(PASSWORD)
    page.get_by_label(translated(language, "Password")).press("Enter")
    expect(page.locator("main")).to_contain_text("Yoʻldosheva")
    expect(page.locator("main")).to_contain_text("10:00")
