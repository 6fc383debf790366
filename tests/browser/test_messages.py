"""The calls to make, in a real browser: an operator works through the list with the keyboard alone — the
first patient does not answer (the call comes back later), the second confirms her visit."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from django.utils import translation
from playwright.sync_api import Page, expect

from navbat.booking.statuses import Status
from navbat.clinic.models import StaffRole
from navbat.notify.models import CallOutcome, Kind, MessageTemplate
from tests import factories
from tests.browser.conftest import PASSWORD, translated
from tests.notify.staff_world import build_staffed, call_task

pytestmark = pytest.mark.browser


def shown(language: str, text: str) -> str:
    """`text` as the page shows it in `language` (the translation once the catalogue has it)."""
    with translation.override(language):
        return translation.gettext(text)


@pytest.mark.parametrize("language", ["ru"])
def test_an_operator_works_through_the_calls_with_the_keyboard(
    page: Page, language: str, screenshot: Callable[[str], Path]
) -> None:
    staffed = build_staffed()
    aziz = factories.PatientFactory(
        clinic=staffed.clinic, surname="Rahimov", name="Aziz", phone="+998935550011"
    )
    first = call_task(
        clinic=staffed.clinic,
        appointment=staffed.appointment(aziz, hour=9),
        kind=Kind.CONFIRMATION,
        text="Tabassum: Aziz, qabul 09:00. Tasdiqlang: 1 — kelaman, 2 — bekor qilish.",
    )
    visit = staffed.appointment(hour=11)
    second = call_task(
        clinic=staffed.clinic,
        appointment=visit,
        text="Табассум: Дилноза, приём в 11:00. Ответьте: 1 — приду, 2 — отменить.",
    )
    operator = staffed.users[StaffRole.OPERATOR]

    page.goto("/accounts/login/?next=/console/calls/")
    page.get_by_label(translated(language, "Username")).fill(operator.username)
    page.get_by_label(translated(language, "Password")).fill(PASSWORD)
    page.get_by_label(translated(language, "Password")).press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text(shown(language, "Calls to make"))
    page.wait_for_load_state("load")  # calls.js, which binds the keys, has run
    calls = page.locator("#calls [data-call]")
    expect(calls).to_have_count(2)

    # The longest-waiting call first, its first answer under the cursor; the text to read out is there.
    expect(calls.first).to_contain_text("Rahimov Aziz")
    expect(calls.first).to_contain_text("Tasdiqlang: 1 — kelaman")
    expect(calls.first.locator("button[data-key='1']")).to_be_focused()
    page.keyboard.press("ArrowDown")  # the next call, and back
    expect(calls.nth(1).locator("button[data-key='1']")).to_be_focused()
    page.keyboard.press("ArrowUp")
    expect(calls.first.locator("button[data-key='1']")).to_be_focused()
    screenshot("list")

    page.keyboard.press("3")  # nobody answers: the call comes back in an hour
    expect(calls).to_have_count(1)
    expect(calls.first).to_contain_text("Yuldasheva Dilnoza")
    expect(page.locator("#calls")).to_contain_text(
        shown(language, "No answer: the call comes back on the list at %(time)s.").split(":")[0]
    )
    expect(calls.first.locator("button[data-key='1']")).to_be_focused()

    page.keyboard.press("N")  # a note on the call, then back to the answers
    expect(calls.first.locator("[data-note]")).to_be_focused()
    page.keyboard.type("o'zi javob berdi")
    page.keyboard.press("Enter")
    expect(calls.first.locator("button[data-key='1']")).to_be_focused()
    page.keyboard.press("1")  # she will come

    with translation.override(language):
        recorded = translation.gettext("Recorded: %(outcome)s.") % {"outcome": CallOutcome.CONFIRMED.label}
    expect(page.get_by_role("status").first).to_have_text(recorded)
    expect(page.locator("#calls")).to_contain_text(shown(language, "Nobody to call now."))
    first.refresh_from_db()
    second.refresh_from_db()
    visit.refresh_from_db()
    assert (first.outcome, first.attempts) == (CallOutcome.OPEN, 1)
    assert (second.outcome, second.note) == (CallOutcome.CONFIRMED, "o'zi javob berdi")
    assert visit.confirmed_at is not None and visit.status == Status.BOOKED


@pytest.mark.parametrize("language", ["uz"])
def test_a_manager_sees_the_wording_filled_in_and_counted_as_he_types(
    page: Page, language: str, screenshot: Callable[[str], Path]
) -> None:
    staffed = build_staffed()
    manager = staffed.users[StaffRole.MANAGER]
    page.goto("/accounts/login/?next=/messages/templates/reminder/sms/ru/")
    page.get_by_label(translated(language, "Username")).fill(manager.username)
    page.get_by_label(translated(language, "Password")).fill(PASSWORD)
    page.get_by_label(translated(language, "Password")).press("Enter")
    body = page.locator("#id_body")
    preview = page.locator("#preview")
    expect(preview.locator("[data-segments]")).to_contain_text("UCS-2")  # the built-in Russian wording

    body.fill("")
    body.press_sequentially("{{ clinic }}: qabul {{ time }}", delay=10)
    expect(preview.locator("[data-preview]")).to_have_text("Стоматология «Табассум»: qabul 09:30")
    expect(preview.locator("[data-segments]")).to_contain_text("UCS-2")  # the clinic's name is Cyrillic
    body.fill("Qabul {{ time }}, {{ dentist }}.")
    body.dispatch_event("input")
    expect(preview.locator("[data-preview]")).to_have_text("Qabul 09:30, Каримова Д..")
    body.fill("Qabul {{ time }}.")
    body.dispatch_event("input")
    expect(preview.locator("[data-segments]")).to_contain_text("GSM-7")
    screenshot("preview")

    body.press_sequentially(" {% if time %}", delay=10)  # an unfinished tag: the preview says what is wrong
    expect(preview.get_by_role("alert")).to_be_visible()
    page.get_by_role("button", name=shown(language, "Save")).click()
    expect(page.locator(".reg-field .error").first).to_be_visible()  # refused on save, with the error
    assert not MessageTemplate.objects.exists()
