"""The header in a real browser: a manager's links fit on one line of a 1,280-px screen in Russian, the
reports and his own links sit in menus that open with the keyboard, and signing out still works."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from navbat.clinic.models import Clinic, StaffMember, StaffRole
from tests import factories
from tests.browser.conftest import PASSWORD, translated

pytestmark = pytest.mark.browser


@pytest.fixture
def manager() -> StaffMember:
    clinic: Clinic = factories.ClinicFactory(name="Chilonzor tish poliklinikasi", country="UZ")
    return factories.StaffFactory(
        clinic=clinic,
        role=StaffRole.MANAGER,
        user__username="manager",
        user__first_name="Dilshod",
        user__last_name="Rahimov",
    )


def sign_in(page: Page, language: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label(translated(language, "Username")).fill("manager")
    page.get_by_label(translated(language, "Password")).fill(PASSWORD)
    page.get_by_label(translated(language, "Password")).press("Enter")
    expect(page.locator("header .who")).to_have_text("Dilshod Rahimov")


@pytest.mark.parametrize("language", ["ru", "uz"])
def test_a_managers_header_fits_one_line_and_its_menus_work_by_keyboard(
    page: Page, language: str, manager: StaffMember, screenshot: Callable[[str], Path]
) -> None:
    sign_in(page, language)
    header = page.locator("header.top")
    items = [header.locator(".brand"), *header.locator("nav > *").all()]
    middles = {round(box["y"] + box["height"] / 2) for box in (item.bounding_box() for item in items) if box}
    assert max(middles) - min(middles) <= 8, f"the header wraps onto more than one line: {sorted(middles)}"

    reports = header.get_by_text(translated(language, "Reports"), exact=True)
    suspicious = header.get_by_role("link", name=translated(language, "Suspicious activity"))
    expect(suspicious).to_be_hidden()
    reports.focus()
    page.keyboard.press("Enter")
    expect(suspicious).to_be_visible()
    expect(header.get_by_role("link", name=translated(language, "Overtime from overbooking"))).to_be_visible()
    screenshot("reports-open")
    page.keyboard.press("Escape")
    expect(suspicious).to_be_hidden()
    reports.click()
    suspicious.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(translated(language, "Suspicious activity"))

    sign_out = header.get_by_role("button", name=translated(language, "Sign out"))
    expect(sign_out).to_be_hidden()
    header.locator(".who").click()
    expect(header.get_by_role("link", name=translated(language, "Two-step sign-in"))).to_be_visible()
    page.locator("main").click()  # a click elsewhere closes the menu
    expect(sign_out).to_be_hidden()
    header.locator(".who").click()
    sign_out.click()
    expect(header.get_by_role("link", name=translated(language, "Staff sign in"))).to_be_visible()
