"""A dentist puts his appointments into his phone's calendar, in a real browser: from the header's
"My calendar" he makes a private link, sees it once with the instructions, and the link serves his visits."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from navbat.booking.models import Appointment
from navbat.booking.statuses import Channel, Status
from navbat.clinic.models import StaffMember, StaffRole
from tests import factories
from tests.browser.conftest import translated
from tests.browser.test_registry import sign_in
from tests.small_clinic import TASHKENT

pytestmark = pytest.mark.browser


@pytest.fixture
def dentist() -> StaffMember:
    clinic = factories.ClinicFactory(name="Yunusobod tish poliklinikasi", patient_prefix="NB")
    chair = factories.ChairFactory(department=factories.DepartmentFactory(clinic=clinic), name="Kreslo 2")
    member = factories.StaffFactory(
        clinic=clinic,
        role=StaffRole.DENTIST,
        user__username="dentist",
        user__first_name="Jasur",
        user__last_name="Rahimov",
    )
    patient = factories.PatientFactory(
        clinic=clinic, surname="Yuldasheva", name="Malika", number="NB-000007-5"
    )
    day = timezone.localdate(timezone.now(), TASHKENT) + timedelta(days=2)
    starts = datetime.combine(day, time(10), tzinfo=TASHKENT)
    Appointment.objects.create(
        clinic=clinic,
        patient=patient,
        service=factories.ServiceFactory(clinic=clinic),
        dentist=member,
        chair=chair,
        starts_at=starts,
        ends_at=starts + timedelta(minutes=30),
        status=Status.BOOKED,
        channel=Channel.PHONE,
    )
    return member


@pytest.mark.parametrize(("language", "screen"), [("ru", "phone"), ("uz", "phone"), ("uz", "desktop")])
def test_a_dentist_makes_a_calendar_link_and_it_serves_his_visits(
    page: Page, dentist: StaffMember, language: str, screen: str
) -> None:
    sign_in(page, language, "dentist")

    page.locator("header").get_by_role("link", name=translated(language, "My calendar")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        translated(language, "Your appointments in your phone's calendar")
    )
    expect(page.get_by_text(translated(language, "You have no calendar link."))).to_be_visible()
    page.get_by_role("button", name=translated(language, "Make a link")).click()

    link = page.get_by_role("textbox", name=translated(language, "Calendar link"))
    expect(link).to_be_visible()
    url = link.input_value()
    expect(page.get_by_role("link", name=translated(language, "Subscribe on this device"))).to_have_attribute(
        "href", "webcal://" + url.split("://", 1)[1]
    )
    expect(page.get_by_role("button", name=translated(language, "Revoke the link"))).to_be_visible()
    # Nothing sticks out sideways on a phone.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    feed = page.context.request.get(url)
    assert feed.status == 200
    assert feed.headers["content-type"].startswith("text/calendar")
    body = feed.text()
    assert "NB-000007-5 Y. M." in body
    assert "Yuldasheva" not in body
    link.focus()  # the final screen: the link selected, ready to copy
