"""Message texts: built-in wordings for every kind, channel and language; administrators' templates."""

from __future__ import annotations

from datetime import datetime

import pytest
from django.utils import translation

from navbat.booking.models import Appointment
from navbat.notify.models import Kind, MessageTemplate
from navbat.notify.rendering import (
    CHANNELS,
    DEFAULT_WORDING,
    LANGUAGES,
    appointment_context,
    check_template,
    render_message,
    sample_context,
)
from navbat.notify.segments import count_segments
from tests.notify.outbox import book
from tests.small_clinic import SmallClinic

EVERY = [(kind, channel, language) for kind in Kind.values for channel in CHANNELS for language in LANGUAGES]


def test_there_is_a_built_in_wording_for_every_kind_channel_and_language() -> None:
    assert set(DEFAULT_WORDING) == set(EVERY)
    assert all(
        DEFAULT_WORDING[(kind, "email", language)].subject for kind in Kind.values for language in LANGUAGES
    )


@pytest.mark.parametrize(("kind", "channel", "language"), EVERY)
def test_every_built_in_wording_passes_the_check_an_administrator_s_template_must_pass(
    kind: str, channel: str, language: str
) -> None:
    wording = DEFAULT_WORDING[(kind, channel, language)]

    assert (
        check_template(
            subject=wording.subject, body=wording.body, kind=kind, channel=channel, language=language
        )
        == []
    )


@pytest.mark.parametrize("kind", [Kind.REMINDER, Kind.CONFIRMATION, Kind.CANCELLED, Kind.OTP])
@pytest.mark.parametrize(
    ("language", "encoding", "most"), [("uz", "GSM-7", 1), ("en", "GSM-7", 1), ("ru", "UCS-2", 2)]
)
@pytest.mark.django_db
def test_sms_are_short_uzbek_and_english_in_one_gsm_message_russian_in_two_segments(
    kind: str, language: str, encoding: str, most: int
) -> None:
    text = render_message(
        kind=kind, channel="sms", language=language, context=sample_context(kind, language)
    ).text

    segments = count_segments(text)
    assert (segments.encoding, segments.segments <= most) == (encoding, True), text


@pytest.mark.django_db
def test_a_reminder_sms_asks_for_1_or_2_in_the_patients_language() -> None:
    texts = {
        language: render_message(
            kind=Kind.REMINDER,
            channel="sms",
            language=language,
            context=sample_context(Kind.REMINDER, language),
        ).text
        for language in LANGUAGES
    }

    assert "Reply 1 to confirm, 2 to cancel." in texts["en"]
    assert "Ответьте: 1 — приду, 2 — отменить." in texts["ru"]
    assert "1 - ha, 2 - bekor qilish." in texts["uz"]


@pytest.mark.parametrize("kind", [k for k in Kind.values if k != Kind.OTP])
@pytest.mark.parametrize(
    ("language", "greeting"), [("uz", "Assalomu alaykum"), ("ru", "Здравствуйте"), ("en", "Hello")]
)
@pytest.mark.django_db
def test_an_operators_call_script_is_spoken_not_an_sms_read_aloud(
    kind: str, language: str, greeting: str
) -> None:
    context = sample_context(kind, language)
    script = render_message(kind=kind, channel="call", language=language, context=context).text
    sms = render_message(kind=kind, channel="sms", language=language, context=context).text

    assert script.startswith(greeting) and script != sms
    assert "http" not in script and "1 -" not in script and "1 —" not in script and "Reply" not in script
    assert "?" in script  # it asks the patient something, whose answer the operator records
    assert ".." not in script  # "Dr Karimova D." is not followed by a second full stop


@pytest.mark.django_db
def test_an_email_escapes_its_html_but_not_its_text() -> None:
    context = sample_context(Kind.BOOKED, "en") | {"clinic": "Smile <b>&</b> Co"}

    mail = render_message(kind=Kind.BOOKED, channel="email", language="en", context=context)

    assert "Smile <b>&</b> Co" in mail.text
    assert "Smile &lt;b&gt;&amp;&lt;/b&gt; Co" in mail.html
    assert "<b>" not in mail.html
    assert mail.subject == "Booked: March 10 09:30"


@pytest.mark.django_db
def test_the_clinic_s_own_wording_wins_over_the_one_for_every_clinic_and_the_built_in_one(
    small_clinic: SmallClinic,
) -> None:
    context = sample_context(Kind.CANCELLED, "en")

    def text() -> str:
        return render_message(
            kind=Kind.CANCELLED, channel="sms", language="en", context=context, clinic=small_clinic.clinic
        ).text

    assert text().endswith("is cancelled.")
    MessageTemplate.objects.create(kind=Kind.CANCELLED, channel="sms", language="en", body="All: {{ date }}")
    assert text() == "All: March 10"
    MessageTemplate.objects.create(
        clinic=small_clinic.clinic, kind=Kind.CANCELLED, channel="sms", language="en", body="Ours: {{ time }}"
    )
    assert text() == "Ours: 09:30"


def test_a_broken_template_is_refused_with_its_reasons() -> None:
    with translation.override("en"):
        errors = check_template(subject="", body="{% if %}", kind=Kind.BOOKED, channel="sms", language="uz")
        assert len(errors) == 1 and errors[0].startswith("Message text: the template has an error")
        assert check_template(subject="", body="  ", kind=Kind.BOOKED, channel="sms", language="uz") == [
            "The text is empty."
        ]
    with translation.override("ru"):
        [unknown] = check_template(
            subject="", body="{{ surname }}", kind=Kind.BOOKED, channel="sms", language="ru"
        )
    assert "{{ surname }}" in unknown and "view_url" in unknown


@pytest.mark.parametrize(
    "body", ["{% load static %}{% static 'x' %}", "{% include '/etc/passwd' %}", "{% extends 'base.html' %}"]
)
def test_a_template_reaches_nothing_beyond_its_context(body: str) -> None:
    assert check_template(subject="", body=body, kind=Kind.BOOKED, channel="sms", language="en") != []


def test_a_one_time_code_has_only_the_code_and_its_life() -> None:
    assert sample_context(Kind.OTP, "ru") == {"code": "123456", "minutes": 5}


@pytest.mark.django_db
def test_an_appointment_is_described_in_the_clinic_s_time_zone_and_the_message_language(
    small_clinic: SmallClinic,
) -> None:
    appointment: Appointment = book(small_clinic)  # Monday 1 March 2027, 10:00 in Tashkent (05:00 UTC)
    assert appointment.starts_at == datetime.fromisoformat("2027-03-01T05:00:00+00:00")

    described = {
        language: appointment_context(appointment, kind=Kind.REMINDER, language=language)
        for language in LANGUAGES
    }

    assert [(c["date"], c["time"], c["weekday"]) for c in described.values()] == [
        ("1-mart", "10:00", "Dushanba"),
        ("1 марта", "10:00", "Понедельник"),
        ("March 1", "10:00", "Monday"),
    ]
    user = appointment.dentist.user
    assert described["en"]["dentist"] == f"{user.last_name} {user.first_name[0]}."
    assert described["en"]["patient"] == appointment.patient.name
    assert str(described["en"]["cancel_url"]).endswith("/cancel/")
