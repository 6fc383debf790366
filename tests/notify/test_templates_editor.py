"""The template editor: administrators and managers word the clinic's messages, see them filled in with
made-up details as they type (with the SMS count), and a template that does not work is refused on save."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from navbat.clinic.models import StaffRole
from navbat.notify.admin import MessageTemplateForm, NotifyPolicyForm
from navbat.notify.models import Kind, MessageTemplate
from navbat.notify.rendering import DEFAULT_WORDING
from tests.notify.staff_world import Staffed, build_staffed

pytestmark = pytest.mark.django_db

ENGLISH = {"Accept-Language": "en"}
HTMX = {**ENGLISH, "HX-Request": "true"}
ADDRESS = {"kind": "reminder", "channel": "sms", "language": "ru"}


@pytest.fixture
def staffed() -> Staffed:
    return build_staffed()


@pytest.fixture
def admin(staffed: Staffed, client: Client) -> Client:
    return staffed.client(client, StaffRole.ADMINISTRATOR)


def edit_url(**address: str) -> str:
    return reverse("messages:template_edit", kwargs=address or ADDRESS)


def test_the_list_shows_every_kind_channel_and_language_and_which_are_the_clinics_own(
    staffed: Staffed, admin: Client
) -> None:
    MessageTemplate.objects.create(clinic=staffed.clinic, body="Eslatma {{ time }}", **ADDRESS)

    response = admin.get(reverse("messages:templates"), headers=ENGLISH)

    html = response.content.decode()
    assert response.status_code == 200
    assert html.count(reverse("messages:template_edit", kwargs={**ADDRESS, "language": "uz"})) == 1
    assert html.count("<strong>the clinic’s own</strong>") == 1
    assert html.count(">built-in</a>") == len(Kind) * 5 * 3 - 1
    assert "Eslatma {{ time }}" in html  # the wording itself, the clinic's or the built-in one
    assert DEFAULT_WORDING[("reminder", "sms", "en")].body[:40] in html
    assert "Dilnoza" not in html and "Yuldasheva" not in html  # no patient, ever


def test_the_editor_starts_from_the_built_in_wording_and_previews_it(admin: Client) -> None:
    response = admin.get(edit_url(), headers=ENGLISH)

    html = response.content.decode()
    assert response.status_code == 200
    built_in = DEFAULT_WORDING[("reminder", "sms", "ru")].body
    assert "{{ clinic }}: {{ patient }}, приём" in html and built_in.startswith(
        "{{ clinic }}: {{ patient }}, приём"
    )
    assert "The built-in wording." in html
    assert "Стоматология «Табассум»" in html  # the made-up clinic of the sample, in Russian
    assert "UCS-2" in html and "SMS" in html


def test_the_preview_follows_what_is_typed_with_the_sms_count(admin: Client) -> None:
    cyrillic = {**ADDRESS, "body": "{{ clinic }}: приём {{ date }} в {{ time }}."}
    latin = {**ADDRESS, "language": "uz", "body": "Qabul {{ time }} da."}

    ru = admin.post(reverse("messages:template_preview"), cyrillic, headers=HTMX).content.decode()
    uz = admin.post(reverse("messages:template_preview"), latin, headers=HTMX).content.decode()

    assert "Стоматология «Табассум»: приём" in ru and "<html" not in ru  # the preview part only
    assert "1 SMS" in ru and "UCS-2" in ru and "Cyrillic letters" in ru
    assert "Qabul 09:30 da." in uz and "1 SMS" in uz and "GSM-7" in uz and "15 characters" in uz


def test_a_long_russian_text_takes_more_than_one_sms(admin: Client) -> None:
    body = "{{ clinic }}: " + "приём " * 20

    html = admin.post(
        reverse("messages:template_preview"), {**ADDRESS, "body": body}, headers=HTMX
    ).content.decode()

    assert "3 SMS" in html and "UCS-2" in html


def test_the_preview_shows_what_is_wrong_with_a_broken_template(admin: Client) -> None:
    broken = {**ADDRESS, "body": "Приём {% if time %} в {{ time }}"}
    unknown = {**ADDRESS, "body": "Приём {{ passport }}"}

    syntax = admin.post(reverse("messages:template_preview"), broken, headers=HTMX)
    placeholder = admin.post(reverse("messages:template_preview"), unknown, headers=HTMX)

    assert syntax.status_code == 200 and "This wording cannot be saved" in syntax.content.decode()
    assert "passport" in placeholder.content.decode() and "SMS" not in placeholder.content.decode()


def test_saving_a_working_template_makes_it_the_clinics_own(staffed: Staffed, admin: Client) -> None:
    body = "{{ clinic }}: {{ patient }}, ждём вас {{ date }} в {{ time }}. 1 — приду, 2 — отменить."

    response = admin.post(edit_url(), {**ADDRESS, "subject": "ignored", "body": body}, headers=ENGLISH)

    assert response.status_code == 302 and response["Location"] == edit_url()
    saved = MessageTemplate.objects.get(clinic=staffed.clinic, **ADDRESS)
    assert (
        saved.body == body
        and saved.subject == ""
        and saved.updated_by == staffed.users[StaffRole.ADMINISTRATOR]
    )
    page = admin.get(edit_url(), headers=ENGLISH).content.decode()
    assert "The wording is saved" in page and "The clinic’s own wording" in page


def test_a_broken_template_is_refused_on_save_and_nothing_is_saved(staffed: Staffed, admin: Client) -> None:
    MessageTemplate.objects.create(clinic=staffed.clinic, body="Eski matn {{ time }}", **ADDRESS)

    for body in (
        "Приём {% if time %} в {{ time }}",
        "Приём {{ time|no_such_filter }}",
        "Приём {{ passport }}",
        "",
    ):
        response = admin.post(edit_url(), {**ADDRESS, "body": body}, headers=ENGLISH)

        assert response.status_code == 400, body
        assert 'role="alert"' in response.content.decode()
    assert MessageTemplate.objects.get(clinic=staffed.clinic, **ADDRESS).body == "Eski matn {{ time }}"


def test_an_email_template_has_a_subject_checked_too(staffed: Staffed, admin: Client) -> None:
    address = {"kind": "booked", "channel": "email", "language": "en"}

    refused = admin.post(edit_url(**address), {**address, "subject": "Booked {% now %}", "body": "Hello"})
    saved = admin.post(
        edit_url(**address), {**address, "subject": "Booked {{ date }}", "body": "Hello {{ name }}"}
    )

    assert refused.status_code == 400 and saved.status_code == 302
    assert MessageTemplate.objects.get(clinic=staffed.clinic, **address).subject == "Booked {{ date }}"


def test_a_form_for_another_message_or_an_unknown_message_changes_nothing(admin: Client) -> None:
    mixed = admin.post(edit_url(), {**ADDRESS, "language": "uz", "body": "Qabul {{ time }}"})
    unknown = admin.get(edit_url(kind="spam", channel="sms", language="ru"))
    bad_preview = admin.post(
        reverse("messages:template_preview"), {"kind": "spam", "body": "x"}, headers=HTMX
    )

    assert (mixed.status_code, unknown.status_code, bad_preview.status_code) == (400, 404, 400)
    assert not MessageTemplate.objects.exists()


def test_reset_brings_the_built_in_wording_back(staffed: Staffed, admin: Client) -> None:
    MessageTemplate.objects.create(clinic=staffed.clinic, body="Eski matn {{ time }}", **ADDRESS)

    response = admin.post(reverse("messages:template_reset", kwargs=ADDRESS))

    assert response.status_code == 302 and response["Location"] == edit_url()
    assert not MessageTemplate.objects.exists()


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        (StaffRole.ADMINISTRATOR, True),
        (StaffRole.MANAGER, True),
        (StaffRole.OPERATOR, False),
        (StaffRole.REGISTRAR, False),
        (StaffRole.DENTIST, False),
    ],
)
def test_administrators_and_managers_word_the_messages(
    staffed: Staffed, client: Client, role: StaffRole, allowed: bool
) -> None:
    staffed.client(client, role)

    listed = client.get(reverse("messages:templates"))
    saved = client.post(edit_url(), {**ADDRESS, "body": "Qabul {{ time }}"})

    assert listed.status_code == (200 if allowed else 403)
    assert saved.status_code == (302 if allowed else 403)
    assert MessageTemplate.objects.exists() == allowed


# The Django admin -------------------------------------------------------------------------------------------


def test_the_admin_refuses_a_broken_template_too(staffed: Staffed) -> None:
    data = {"clinic": staffed.clinic.pk, **ADDRESS, "subject": "", "body": "{% for %}"}

    form = MessageTemplateForm(data)

    assert not form.is_valid() and "body" in form.errors
    assert MessageTemplateForm({**data, "body": "Qabul {{ time }}"}).is_valid()


def test_the_admin_saves_a_working_template_through_its_page(staffed: Staffed, client: Client) -> None:
    superuser = User.objects.create_superuser("root", password="x")
    from tests.accounts.helpers import sign_in_verified

    sign_in_verified(client, superuser)
    url = reverse("admin:notify_messagetemplate_add")
    data = {"clinic": staffed.clinic.pk, **ADDRESS, "subject": "", "body": "Qabul {{ nope }}"}

    refused = client.post(url, data)
    saved = client.post(url, {**data, "body": "Qabul {{ time }}"})

    assert refused.status_code == 200 and saved.status_code == 302
    assert MessageTemplate.objects.get().updated_by == superuser


@pytest.mark.parametrize(
    ("channels", "hours", "valid"),
    [
        ("telegram,sms,call", "24,2", True),
        ("sms, call", "2,24", True),
        ("sms,fax", "24", False),
        ("sms,sms", "24", False),
        ("", "24", False),
        ("sms", "24,abc", False),
        ("sms", "0", False),
    ],
)
def test_the_admin_checks_the_clinics_rules(staffed: Staffed, channels: str, hours: str, valid: bool) -> None:
    data = {
        "clinic": staffed.clinic.pk,
        "channels": channels,
        "reminder_hours": hours,
        "confirmation_hours": 48,
        "quiet_from": "21:00",
        "quiet_until": "08:00",
        "max_attempts": 5,
    }

    form = NotifyPolicyForm(data)

    assert form.is_valid() == valid, form.errors
    if valid:
        assert form.cleaned_data["reminder_hours"] == "24,2"
