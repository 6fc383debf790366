"""Replies to reminders: "1" confirms, "2" cancels and frees the time at once, the rest waits for staff."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from pytest_django.fixtures import Settings as SettingsWrapper

from navbat.booking.errors import BookingErrorCode
from navbat.booking.models import Appointment
from navbat.booking.services import (
    book_appointment,
    cancel_appointment,
    confirm_appointment,
    reschedule_appointment,
)
from navbat.booking.statuses import Channel, Status
from navbat.errors import DomainError
from navbat.notify.backends import MemoryBackend
from navbat.notify.models import InboundMessage, Kind, ReplyAction
from navbat.notify.replies import parse_reply, receive_reply
from navbat.patients.models import ConsentKind
from tests import factories
from tests.notify.outbox import grant, policy, run_worker
from tests.notify.sent import sent_message
from tests.small_clinic import MONDAY, NOW, SmallClinic, at

CONFIRMING = [
    "1",
    " 1 ",
    "Ha",
    "ha.",
    "HA!",
    "xa",
    "ҳа",
    "да",
    "Да!",
    "yes",
    "Yes.",
    "ok",
    "OK",
    "ок",
    "Ок 👍",
]
CANCELLING = ["2", " 2 ", "yo'q", "yo‘q", "yoʻq", "Yo’q", "yo`q", "йўқ", "Нет", "нет.", "no", "NO", "No!"]
NOT_UNDERSTOOD = ["", "3", "12", "Can I come at 11 instead?", "да нет", "no problem, I'll be there", "привет"]


@pytest.mark.parametrize("text", CONFIRMING)
def test_replies_that_confirm(text: str) -> None:
    assert parse_reply(text) == ReplyAction.CONFIRM


@pytest.mark.parametrize("text", CANCELLING)
def test_replies_that_cancel(text: str) -> None:
    assert parse_reply(text) == ReplyAction.CANCEL


@pytest.mark.parametrize("text", NOT_UNDERSTOOD)
def test_replies_left_to_a_person(text: str) -> None:
    assert parse_reply(text) == ReplyAction.UNKNOWN


def book(c: SmallClinic, start: datetime, **kwargs: object) -> Appointment:
    options: dict[str, object] = {
        "patient": c.patient,
        "service": c.therapy,
        "starts_at": start,
        "channel": Channel.PHONE,
        "dentist": c.first,
        "now": NOW,
    }
    options.update(kwargs)
    return book_appointment(**options)  # type: ignore[arg-type]


def phone(patient: object) -> str:
    return str(patient.phone)  # type: ignore[attr-defined]


def test_an_sms_2_after_a_reminder_cancels_the_visit_and_frees_the_time(small_clinic: SmallClinic) -> None:
    c = small_clinic
    visit = book(c, at(MONDAY, 10))
    sent_message(visit, channel="sms")

    reply = receive_reply(channel="sms", sender=phone(c.patient), text="2", external_id="gw-1", now=NOW)

    visit.refresh_from_db()
    assert visit.status == Status.CANCELLED
    assert reply.action == ReplyAction.CANCEL
    assert reply.appointment == visit and reply.patient == c.patient
    assert reply.handled_at is not None
    last = visit.events.order_by("pk").last()
    assert last is not None and last.to_status == Status.CANCELLED and "SMS" in last.reason
    # The time is free for the next person at once.
    other = book(c, at(MONDAY, 10), patient=c.other_patient)
    assert other.dentist == c.first and other.status == Status.BOOKED


def test_an_sms_1_confirms_the_visit_once(small_clinic: SmallClinic) -> None:
    c = small_clinic
    visit = book(c, at(MONDAY, 10))
    sent_message(visit, channel="sms", kind=Kind.CONFIRMATION, hours_before=48)

    first = receive_reply(channel="sms", sender=phone(c.patient), text="Ha", now=NOW)
    receive_reply(channel="sms", sender=phone(c.patient), text="1", now=NOW + timedelta(hours=1))

    visit.refresh_from_db()
    assert visit.status == Status.BOOKED
    assert visit.confirmed_at == NOW
    assert first.action == ReplyAction.CONFIRM and first.handled_at == NOW
    confirmations = visit.events.filter(from_status=Status.BOOKED, to_status=Status.BOOKED)
    assert confirmations.count() == 1


def test_a_gateway_number_without_plus_still_matches(small_clinic: SmallClinic) -> None:
    c = small_clinic
    visit = book(c, at(MONDAY, 10))
    sent_message(visit, channel="sms")

    receive_reply(channel="sms", sender=phone(c.patient).lstrip("+"), text="да", now=NOW)

    visit.refresh_from_db()
    assert visit.confirmed_at is not None


def test_the_reply_goes_to_the_latest_reminder_of_an_upcoming_visit(small_clinic: SmallClinic) -> None:
    c = small_clinic
    earlier = book(c, at(MONDAY, 10))
    later = book(c, at(MONDAY + timedelta(days=1), 10))
    sent_message(earlier, channel="sms", sent_at=NOW - timedelta(hours=2))
    sent_message(later, channel="sms", sent_at=NOW - timedelta(hours=1))

    receive_reply(channel="sms", sender=phone(c.patient), text="2", now=NOW)

    earlier.refresh_from_db()
    later.refresh_from_db()
    assert (earlier.status, later.status) == (Status.BOOKED, Status.CANCELLED)


def test_a_reminder_of_a_cancelled_visit_is_not_answered_again(small_clinic: SmallClinic) -> None:
    c = small_clinic
    gone = book(c, at(MONDAY, 10))
    kept = book(c, at(MONDAY, 12))
    sent_message(kept, channel="sms", sent_at=NOW - timedelta(hours=3))
    sent_message(gone, channel="sms", sent_at=NOW - timedelta(hours=1))
    cancel_appointment(appointment=gone, reason="test")

    receive_reply(channel="sms", sender=phone(c.patient), text="1", now=NOW)

    kept.refresh_from_db()
    assert kept.confirmed_at is not None


def test_a_guardian_answers_for_his_child(small_clinic: SmallClinic) -> None:
    c = small_clinic
    child = factories.PatientFactory(clinic=c.clinic, phone="", birth_date=datetime(2019, 1, 1).date())
    visit = book(c, at(MONDAY, 10), patient=child)
    sent_message(visit, channel="sms", recipient=c.other_patient)

    reply = receive_reply(channel="sms", sender=phone(c.other_patient), text="2", now=NOW)

    visit.refresh_from_db()
    assert visit.status == Status.CANCELLED
    assert reply.patient == c.other_patient and reply.appointment == visit


def test_an_unknown_reply_waits_in_the_inbox_and_changes_nothing(small_clinic: SmallClinic) -> None:
    c = small_clinic
    visit = book(c, at(MONDAY, 10))
    sent_message(visit, channel="sms")

    reply = receive_reply(channel="sms", sender=phone(c.patient), text="Can I come at 11?", now=NOW)

    visit.refresh_from_db()
    assert visit.status == Status.BOOKED and visit.confirmed_at is None
    assert reply.action == ReplyAction.UNKNOWN and reply.handled_at is None
    assert reply.appointment == visit and reply.clinic == c.clinic
    assert InboundMessage.objects.filter(handled_at__isnull=True).count() == 1


def test_a_reply_from_a_stranger_is_kept_for_staff(small_clinic: SmallClinic) -> None:
    reply = receive_reply(channel="sms", sender="+998935550000", text="2", now=NOW)

    # Not acted on, so in the staff inbox (which lists what the machine did not understand or do).
    assert reply.action == ReplyAction.UNKNOWN and reply.text == "2"
    assert reply.appointment is None and reply.patient is None and reply.handled_at is None


def test_a_reply_after_the_visit_started_does_nothing(small_clinic: SmallClinic) -> None:
    c = small_clinic
    visit = book(c, at(MONDAY, 10))
    sent_message(visit, channel="sms")

    reply = receive_reply(channel="sms", sender=phone(c.patient), text="2", now=at(MONDAY, 10, 5))

    visit.refresh_from_db()
    assert visit.status == Status.BOOKED
    assert reply.appointment is None and reply.handled_at is None


def test_a_reply_for_a_visit_already_cancelled_is_left_to_staff(small_clinic: SmallClinic) -> None:
    c = small_clinic
    visit = book(c, at(MONDAY, 10))
    cancel_appointment(appointment=visit, reason="test")

    reply = receive_reply(channel="sms", sender=phone(c.patient), text="1", appointment=visit, now=NOW)

    visit.refresh_from_db()
    assert visit.confirmed_at is None
    assert reply.handled_at is None and reply.action == ReplyAction.UNKNOWN


def test_cancelling_a_cancelled_visit_again_is_done_already(small_clinic: SmallClinic) -> None:
    c = small_clinic
    visit = book(c, at(MONDAY, 10))
    cancel_appointment(appointment=visit, reason="test")

    reply = receive_reply(channel="sms", sender=phone(c.patient), text="2", appointment=visit, now=NOW)

    assert reply.action == ReplyAction.CANCEL and reply.handled_at == NOW
    assert visit.events.filter(to_status=Status.CANCELLED).count() == 1


def test_a_message_the_gateway_sends_twice_is_acted_on_once(small_clinic: SmallClinic) -> None:
    c = small_clinic
    visit = book(c, at(MONDAY, 10))
    sent_message(visit, channel="sms")

    first = receive_reply(channel="sms", sender=phone(c.patient), text="2", external_id="gw-7", now=NOW)
    again = receive_reply(channel="sms", sender=phone(c.patient), text="2", external_id="gw-7", now=NOW)

    assert again.pk == first.pk
    assert InboundMessage.objects.count() == 1
    assert visit.events.filter(to_status=Status.CANCELLED).count() == 1


def test_a_reminder_on_another_channel_is_not_matched_by_sms(small_clinic: SmallClinic) -> None:
    c = small_clinic
    visit = book(c, at(MONDAY, 10))
    sent_message(visit, channel="email", address="patient@example.com")

    reply = receive_reply(channel="sms", sender=phone(c.patient), text="2", now=NOW)

    visit.refresh_from_db()
    assert visit.status == Status.BOOKED
    assert reply.handled_at is None and reply.patient == c.patient


def test_confirming_a_moved_visit_is_refused(small_clinic: SmallClinic) -> None:
    c = small_clinic
    visit = book(c, at(MONDAY, 10))
    reschedule_appointment(appointment=visit, starts_at=at(MONDAY, 11), channel=Channel.PHONE, now=NOW)

    with pytest.raises(DomainError) as caught:
        confirm_appointment(appointment=visit, via="SMS")

    assert caught.value.code == BookingErrorCode.INVALID_TRANSITION


def test_a_reminder_sent_by_the_worker_is_answered_by_sms(
    settings: SettingsWrapper, small_clinic: SmallClinic
) -> None:
    """The whole way: booked → the worker sends the 24-hour reminder by SMS → "yo'q" → the time is free."""
    settings.NAVBAT_NOTIFY_BACKEND = "memory"
    MemoryBackend.clear()
    c = small_clinic
    grant(c.patient, ConsentKind.SMS)
    policy(c.clinic, channels="sms", reminder_hours="24", confirmation_hours=0)
    visit = book(c, at(MONDAY, 10))
    sending = at(MONDAY, 10) - timedelta(hours=23)
    run_worker(sending)
    assert any(message.to == phone(c.patient) for message in MemoryBackend.outbox)

    reply = receive_reply(channel="sms", sender=phone(c.patient), text="Yo‘q", now=sending)

    visit.refresh_from_db()
    assert visit.status == Status.CANCELLED and reply.handled_at is not None
    assert book(c, at(MONDAY, 10), patient=c.other_patient).status == Status.BOOKED
