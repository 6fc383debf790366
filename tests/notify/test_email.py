"""E-mail through a real SMTP server on loopback (aiosmtpd): what arrives in the patient's mailbox, and how
the mail server's answers are classified for the dispatcher."""

from __future__ import annotations

import email
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from pytest_django.fixtures import Settings as SettingsWrapper

from navbat.booking.calendar import CONTENT_TYPE, appointment_ics
from navbat.booking.services import book_appointment
from navbat.booking.statuses import Channel
from navbat.notify.channels.base import Attachment, Outgoing, PermanentFailure, Sent, TemporaryFailure
from navbat.notify.channels.email import EmailChannel, message_id
from tests.small_clinic import MONDAY, NOW, SmallClinic, at

ADDRESS = "patient@example.uz"
TEXT = "Qabulingiz: 1-mart, 10:00. Bekor qilish: https://navbat.example.uz/b/abc"
HTML = "<p>Qabulingiz: <strong>1-mart, 10:00</strong>.</p>"
ICS = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//navbat//test//\r\nEND:VCALENDAR\r\n"


@dataclass
class Mailbox:
    """What the SMTP server took, and the answers it is told to give."""

    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[list[str]] = field(default_factory=list)
    refuse_rcpt: dict[str, str] = field(default_factory=dict)  # address → SMTP answer
    refuse_data: str = ""

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address in self.refuse_rcpt:
            return self.refuse_rcpt[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse_data:
            return self.refuse_data
        parsed = email.message_from_bytes(envelope.content, policy=default_policy)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        self.envelopes.append(list(envelope.rcpt_tos))
        return "250 Message accepted"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp(settings: SettingsWrapper) -> Iterator[Mailbox]:
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5
    settings.DEFAULT_FROM_EMAIL = "Navbat klinikasi <noreply@klinika.example.uz>"
    try:
        yield mailbox
    finally:
        controller.stop()


def outgoing(key: str = "booked:1:email", **changes: Any) -> Outgoing:
    values: dict[str, Any] = {
        "channel": "email",
        "to": ADDRESS,
        "text": TEXT,
        "idempotency_key": key,
        "language": "uz",
        "subject": "Qabulingiz yozildi",
        "html": HTML,
        "attachments": (Attachment("qabul.ics", ICS, "text/calendar"),),
    }
    return Outgoing(**(values | changes))


def test_the_patient_gets_text_html_and_the_calendar_file(smtp: Mailbox) -> None:
    sent = EmailChannel().send(outgoing())

    [received] = smtp.messages
    assert smtp.envelopes == [[ADDRESS]]
    assert received["To"] == ADDRESS
    assert received["From"] == "Navbat klinikasi <noreply@klinika.example.uz>"
    assert received["Subject"] == "Qabulingiz yozildi"
    assert received["Content-Language"] == "uz"
    text = received.get_body(preferencelist=("plain",))
    html = received.get_body(preferencelist=("html",))
    assert text is not None and text.get_content().strip() == TEXT
    assert html is not None and "<strong>1-mart, 10:00</strong>" in html.get_content()
    [calendar] = list(received.iter_attachments())
    assert (calendar.get_filename(), calendar.get_content_type()) == ("qabul.ics", "text/calendar")
    assert calendar.get_content().encode().replace(b"\r\n", b"\n") == ICS.replace(b"\r\n", b"\n")
    assert sent == Sent(provider_id=message_id("booked:1:email").strip("<>"), delivered=False)


def test_the_appointments_own_calendar_file_arrives_whole(smtp: Mailbox, small_clinic: SmallClinic) -> None:
    appointment = book_appointment(
        patient=small_clinic.patient,
        service=small_clinic.therapy,
        starts_at=at(MONDAY, 10),
        channel=Channel.PHONE,
        dentist=small_clinic.first,
        now=NOW,
    )
    ics = appointment_ics(appointment, now=NOW)

    EmailChannel().send(outgoing(attachments=(Attachment("appointment.ics", ics, CONTENT_TYPE),)))

    [calendar] = list(smtp.messages[0].iter_attachments())
    assert (calendar.get_filename(), calendar.get_content_type()) == ("appointment.ics", "text/calendar")
    assert calendar.get_content_charset() == "utf-8"
    arrived = calendar.get_content()
    assert "BEGIN:VEVENT" in arrived and "DTSTART:20270301T050000Z" in arrived  # 10:00 in Tashkent
    assert arrived.replace("\r\n", "\n") == ics.decode().replace("\r\n", "\n")


def test_russian_subject_and_text_arrive_intact(smtp: Mailbox) -> None:
    EmailChannel().send(
        outgoing(
            subject="Запись к стоматологу", text="Вы записаны на 1 марта, 10:00.", html="", attachments=()
        )
    )

    [received] = smtp.messages
    assert received["Subject"] == "Запись к стоматологу"
    assert not received.is_multipart()
    assert received.get_content().strip() == "Вы записаны на 1 марта, 10:00."


def test_a_retry_carries_the_same_message_id_and_another_event_another(smtp: Mailbox) -> None:
    channel = EmailChannel()

    channel.send(outgoing("reminder:24h:5:email"))
    channel.send(outgoing("reminder:24h:5:email"))
    channel.send(outgoing("reminder:2h:5:email"))

    ids = [message["Message-ID"] for message in smtp.messages]
    assert ids[0] == ids[1] != ids[2]
    assert ids[0].endswith("@klinika.example.uz>")
    assert "reminder" not in ids[0]  # the key itself (with the appointment's id) does not show


def test_an_address_the_server_refuses_for_good_is_a_permanent_failure(smtp: Mailbox) -> None:
    smtp.refuse_rcpt[ADDRESS] = "550 5.1.1 No such user"

    with pytest.raises(PermanentFailure) as failure:
        EmailChannel().send(outgoing())

    assert failure.value.reason == "address refused by the mail server"
    assert smtp.messages == []


def test_an_address_the_server_defers_is_a_temporary_failure(smtp: Mailbox) -> None:
    smtp.refuse_rcpt[ADDRESS] = "450 4.2.1 Mailbox busy, try later"

    with pytest.raises(TemporaryFailure, match="deferred"):
        EmailChannel().send(outgoing())


@pytest.mark.parametrize(
    ("answer", "failure"),
    [("554 5.7.1 Looks like spam", PermanentFailure), ("451 4.3.0 Try again later", TemporaryFailure)],
)
def test_a_message_the_server_refuses_is_classified_by_its_answer(
    smtp: Mailbox, answer: str, failure: type[Exception]
) -> None:
    smtp.refuse_data = answer

    with pytest.raises(failure, match=answer[:3]):
        EmailChannel().send(outgoing())


def test_a_mail_server_that_does_not_answer_is_a_temporary_failure(settings: SettingsWrapper) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = free_port()
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 2

    with pytest.raises(TemporaryFailure, match="unreachable"):
        EmailChannel().send(outgoing())


@pytest.mark.parametrize("address", ["", "patient", "+998901234567", "a@b@c.uz"])
def test_an_address_that_is_not_an_email_is_refused_before_connecting(smtp: Mailbox, address: str) -> None:
    with pytest.raises(PermanentFailure, match="invalid address"):
        EmailChannel().send(outgoing(to=address))

    assert smtp.messages == []
