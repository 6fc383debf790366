"""The outbox: what a booking, a move or a cancellation records, and whom the worker then tells, how."""

from __future__ import annotations

import json
import logging
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import transaction
from pytest_django.fixtures import Settings as SettingsWrapper

from navbat.accounts.audit import Actor
from navbat.accounts.models import AuditEntry, OtpPurpose
from navbat.accounts.otp import request_code
from navbat.booking.models import Appointment
from navbat.booking.services import cancel_appointment, change_status, reschedule_appointment
from navbat.booking.statuses import Channel, Status
from navbat.notify.backends import ConsoleBackend, FileBackend, MemoryBackend, Message
from navbat.notify.models import (
    CallTask,
    Delivery,
    DeliveryStatus,
    Kind,
    Notification,
    NotificationStatus,
    TelegramLink,
)
from navbat.notify.services import (
    Planned,
    plan_appointment_messages,
    record_feedback_request,
    record_no_show_follow_up,
    record_planned,
    record_waitlist_offer,
    resend_delivery,
    send_message,
)
from navbat.patients.models import ConsentKind, Guardianship
from tests import factories
from tests.notify.outbox import (
    VISIT,
    Flaky,
    book,
    deliveries,
    grant,
    policy,
    run_worker,
    sent_texts,
)
from tests.small_clinic import MONDAY, NOW, SmallClinic, at

pytestmark = pytest.mark.django_db

PHONE = "+998901234567"
TEXT = "123456 is your navbat code."


@pytest.fixture(autouse=True)
def memory(settings: SettingsWrapper) -> list[Message]:
    settings.NAVBAT_NOTIFY_BACKEND = "memory"
    MemoryBackend.clear()
    return MemoryBackend.outbox


def keys_of(appointment: Appointment, status: str | None = None) -> list[str]:
    rows = Notification.objects.filter(appointment=appointment)
    if status:
        rows = rows.filter(status=status)
    return sorted(rows.values_list("key", flat=True))


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


# --- what a change records ---------------------------------------------------------------------------------


def test_a_booking_records_its_message_reminders_and_confirmation_request(small_clinic: SmallClinic) -> None:
    appointment = book(small_clinic)

    rows = {n.key: n for n in Notification.objects.filter(appointment=appointment)}
    start = stamp(VISIT)
    assert sorted(rows) == sorted(
        [
            f"booked:{appointment.pk}",
            f"confirmation:{appointment.pk}:{start}",
            f"reminder:24h:{appointment.pk}:{start}",
            f"reminder:2h:{appointment.pk}:{start}",
        ]
    )
    assert rows[f"booked:{appointment.pk}"].due_at == NOW
    assert rows[f"reminder:24h:{appointment.pk}:{start}"].due_at == VISIT - timedelta(hours=24)
    assert rows[f"reminder:2h:{appointment.pk}:{start}"].due_at == VISIT - timedelta(hours=2)
    assert rows[f"confirmation:{appointment.pk}:{start}"].due_at == VISIT - timedelta(hours=48)
    assert all(n.status == NotificationStatus.PENDING for n in rows.values())


def test_a_rolled_back_booking_leaves_no_notification(small_clinic: SmallClinic) -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        book(small_clinic)
        raise RuntimeError("the caller's transaction fails after booking")

    assert not Appointment.objects.exists()
    assert not Notification.objects.exists()


def test_reminders_that_would_be_due_before_the_booking_are_not_recorded(small_clinic: SmallClinic) -> None:
    appointment = book(small_clinic, now=at(MONDAY, 7))  # three hours ahead: only the 2-hour reminder is left

    assert keys_of(appointment) == [
        f"booked:{appointment.pk}",
        f"reminder:2h:{appointment.pk}:{stamp(VISIT)}",
    ]


def test_the_clinic_chooses_its_reminder_hours_and_may_never_ask_for_confirmation(
    small_clinic: SmallClinic,
) -> None:
    policy(small_clinic.clinic, reminder_hours="72, 3", confirmation_hours=0)

    appointment = book(small_clinic)

    start = stamp(VISIT)
    assert keys_of(appointment) == [
        f"booked:{appointment.pk}",
        f"reminder:3h:{appointment.pk}:{start}",
        f"reminder:72h:{appointment.pk}:{start}",
    ]


def test_recording_the_same_event_twice_records_it_once(small_clinic: SmallClinic) -> None:
    appointment = book(small_clinic)

    record_no_show_follow_up(appointment=appointment, book_url="https://x/book/", now=NOW)
    record_no_show_follow_up(appointment=appointment, book_url="https://x/other/", now=NOW)

    [row] = Notification.objects.filter(kind=Kind.NO_SHOW_FOLLOW_UP)
    assert row.context == {"book_url": "https://x/book/"}


def test_planning_a_visits_messages_again_keeps_the_rows_already_recorded(small_clinic: SmallClinic) -> None:
    appointment = book(small_clinic)
    first = {n.key: (n.pk, n.due_at) for n in Notification.objects.filter(appointment=appointment)}

    again = plan_appointment_messages(appointment, now=NOW - timedelta(days=1))
    extra = Planned(Kind.NO_SHOW_FOLLOW_UP, f"extra:{appointment.pk}", NOW, {"book_url": "https://x/"})
    mixed = record_planned(appointment, [Planned(Kind.BOOKED, f"booked:{appointment.pk}", NOW), extra])

    assert {n.key: (n.pk, n.due_at) for n in again} == {
        k: v for k, v in first.items() if k in {n.key for n in again}
    }
    assert mixed[0].pk == first[f"booked:{appointment.pk}"][0]
    assert (mixed[1].key, mixed[1].context, mixed[1].patient) == (
        extra.key,
        {"book_url": "https://x/"},
        appointment.patient,
    )
    assert Notification.objects.filter(appointment=appointment).count() == len(first) + 1


def test_a_booking_wakes_the_worker_once_for_its_earliest_message(
    small_clinic: SmallClinic, django_capture_on_commit_callbacks: Any
) -> None:
    from django_tasks.base import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    from navbat.notify.tasks import deliver_due

    waiting = DBTaskResult.objects.filter(status=TaskResultStatus.READY, task_path=deliver_due.module_path)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        book(small_clinic)  # "booked" now, two reminders and a confirmation request later

    assert len(callbacks) == 1
    [run] = waiting
    assert run.run_after == NOW  # when "booked" is due (this world's clock runs ahead of the real one)
    with django_capture_on_commit_callbacks(execute=True):
        book(small_clinic, VISIT + timedelta(hours=1), patient=small_clinic.other_patient)
    assert waiting.count() == 1  # the waiting run covers the second booking's messages too


def test_moving_a_visit_cancels_its_reminders_and_plans_the_new_ones(small_clinic: SmallClinic) -> None:
    old = book(small_clinic)
    new_start = at(MONDAY + timedelta(days=1), 11)

    new = reschedule_appointment(appointment=old, starts_at=new_start, channel=Channel.PHONE, now=NOW)

    assert keys_of(old, NotificationStatus.PENDING) == []
    assert len(keys_of(old, NotificationStatus.CANCELLED)) == 4  # booked, two reminders, confirmation
    start = stamp(new_start)
    assert keys_of(new) == [
        f"confirmation:{new.pk}:{start}",
        f"moved:{old.pk}:{new.pk}",
        f"reminder:24h:{new.pk}:{start}",
        f"reminder:2h:{new.pk}:{start}",
    ]


def test_cancelling_a_visit_cancels_its_reminders_and_tells_the_patient(small_clinic: SmallClinic) -> None:
    appointment = book(small_clinic)

    cancel_appointment(appointment=appointment, reason="cannot come")

    assert keys_of(appointment, NotificationStatus.PENDING) == [f"cancelled:{appointment.pk}"]
    assert len(keys_of(appointment, NotificationStatus.CANCELLED)) == 4


def test_a_patient_who_arrived_gets_no_more_reminders(small_clinic: SmallClinic) -> None:
    appointment = book(small_clinic)

    change_status(appointment=appointment, to=Status.ARRIVED)

    assert keys_of(appointment, NotificationStatus.PENDING) == []


def test_a_walk_in_starting_within_the_hour_gets_no_booked_message(small_clinic: SmallClinic) -> None:
    now = at(MONDAY, 9, 50)

    appointment = book(small_clinic, at(MONDAY, 10), now=now, channel=Channel.WALK_IN)

    assert keys_of(appointment) == []  # no "booked", and every reminder would be in the past


def test_a_walk_in_booked_for_later_today_is_told_and_reminded(small_clinic: SmallClinic) -> None:
    now = at(MONDAY, 9)

    appointment = book(small_clinic, at(MONDAY, 15), now=now, channel=Channel.WALK_IN)

    assert keys_of(appointment) == [
        f"booked:{appointment.pk}",
        f"reminder:2h:{appointment.pk}:{stamp(at(MONDAY, 15))}",
    ]


# --- whom, in which language, on which channel ------------------------------------------------------------


def test_the_booked_sms_goes_to_the_patient_in_his_language(small_clinic: SmallClinic) -> None:
    c = small_clinic
    c.patient.preferred_language = "ru"
    c.patient.save()
    grant(c.patient, ConsentKind.SMS)
    policy(c.clinic, channels="sms")

    appointment = book(c)
    run_worker(NOW)

    [(channel, to, text)] = sent_texts()
    assert (channel, to) == ("sms", str(c.patient.phone))
    assert "1 марта 10:00" in text
    assert c.patient.surname not in text  # the first name is enough
    [delivery] = deliveries(appointment)
    assert (delivery.status, delivery.language, delivery.text) == (DeliveryStatus.DELIVERED, "ru", text)


def test_no_sms_without_consent_to_sms(small_clinic: SmallClinic) -> None:
    c = small_clinic
    grant(c.patient, ConsentKind.SMS)
    grant(c.patient, ConsentKind.SMS, granted=False)  # withdrawn later: the latest wins
    policy(c.clinic, channels="sms")

    appointment = book(c)
    run_worker(NOW)

    assert sent_texts() == []
    [delivery] = deliveries(appointment)
    assert (delivery.status, delivery.reason) == (DeliveryStatus.SKIPPED, "no consent to sms")


def test_a_channel_without_consent_or_address_is_skipped_for_the_next(small_clinic: SmallClinic) -> None:
    c = small_clinic
    c.patient.preferred_channel = "telegram"
    c.patient.save()
    grant(c.patient, ConsentKind.SMS, ConsentKind.EMAIL)  # e-mail allowed, but he has no address
    policy(c.clinic, channels="telegram,email,sms")

    appointment = book(c)
    run_worker(NOW)

    assert [(d.channel, d.status, d.reason) for d in deliveries(appointment)] == [
        ("telegram", DeliveryStatus.SKIPPED, "no consent to telegram"),
        ("email", DeliveryStatus.SKIPPED, "no e-mail address"),
        ("sms", DeliveryStatus.DELIVERED, ""),
    ]
    assert [channel for channel, _, _ in sent_texts()] == ["sms"]


def test_the_patients_preferred_channel_goes_first(small_clinic: SmallClinic) -> None:
    c = small_clinic
    c.patient.preferred_channel = "email"
    c.patient.email = "aziz@example.uz"
    c.patient.save()
    grant(c.patient, ConsentKind.SMS, ConsentKind.EMAIL)
    policy(c.clinic, channels="sms,email")

    book(c)
    run_worker(NOW)

    [(channel, to, text)] = sent_texts()
    assert (channel, to) == ("email", "aziz@example.uz")
    assert text.startswith("Qabulga yozildingiz")  # the subject, then the text


def test_a_child_is_reached_through_his_guardian(small_clinic: SmallClinic) -> None:
    c = small_clinic
    child = factories.PatientFactory(clinic=c.clinic, name="Ali", birth_date=date(2019, 4, 2), phone="")
    mother = factories.PatientFactory(clinic=c.clinic, name="Malika", preferred_language="en")
    Guardianship.objects.create(guardian=mother, child=child, relation=Guardianship.Relation.MOTHER)
    grant(mother, ConsentKind.SMS)
    policy(c.clinic, channels="sms")

    appointment = book(c, patient=child)
    run_worker(NOW)

    [(channel, to, text)] = sent_texts()
    assert (channel, to) == ("sms", str(mother.phone))
    assert text.startswith(f"{c.clinic.name}: Ali, booked for March 1 10:00")
    assert deliveries(appointment)[0].recipient == mother


def test_an_sms_due_at_night_waits_for_the_morning(small_clinic: SmallClinic) -> None:
    c = small_clinic
    grant(c.patient, ConsentKind.SMS)
    policy(c.clinic, channels="sms")
    night = datetime(2027, 2, 26, 23, 0, tzinfo=NOW.tzinfo)

    appointment = book(c, now=night)
    run_worker(night)

    assert sent_texts() == []
    [delivery] = deliveries(appointment)
    assert delivery.next_attempt_at == datetime(2027, 2, 27, 8, 0, tzinfo=NOW.tzinfo)
    run_worker(datetime(2027, 2, 27, 8, 0, tzinfo=NOW.tzinfo))
    assert len(sent_texts()) == 1


def test_a_reminder_is_sent_when_due_and_not_before(small_clinic: SmallClinic) -> None:
    c = small_clinic
    grant(c.patient, ConsentKind.SMS)
    policy(c.clinic, channels="sms", confirmation_hours=0)
    book(c)
    run_worker(NOW)
    MemoryBackend.clear()

    run_worker(VISIT - timedelta(hours=24, minutes=1))
    assert sent_texts() == []
    run_worker(VISIT - timedelta(hours=24))

    [(_, _, text)] = sent_texts()
    assert "Kelasizmi? 1 - ha, 2 - bekor qilish." in text


def test_a_reminder_for_a_visit_cancelled_after_planning_is_not_sent(small_clinic: SmallClinic) -> None:
    c = small_clinic
    grant(c.patient, ConsentKind.SMS)
    policy(c.clinic, channels="sms", confirmation_hours=0)
    appointment = book(c)
    due = VISIT - timedelta(hours=24)
    run_worker(NOW)
    MemoryBackend.clear()
    # Planned, not yet sent; then the visit is cancelled behind the outbox's back.
    from navbat.notify.dispatch import plan_due

    plan_due(now=due, limit=10)
    Appointment.objects.filter(pk=appointment.pk).update(status=Status.CANCELLED)

    run_worker(due)

    assert sent_texts() == []
    reminder = Delivery.objects.get(notification__kind=Kind.REMINDER, notification__due_at=due)
    assert (reminder.status, reminder.reason) == (DeliveryStatus.SKIPPED, "no longer relevant")


def test_a_confirmation_request_is_not_sent_once_the_patient_confirmed(small_clinic: SmallClinic) -> None:
    c = small_clinic
    grant(c.patient, ConsentKind.SMS)
    policy(c.clinic, channels="sms", reminder_hours="")
    appointment = book(c)
    run_worker(NOW)
    MemoryBackend.clear()
    Appointment.objects.filter(pk=appointment.pk).update(confirmed_at=NOW)

    run_worker(VISIT - timedelta(hours=48))

    assert sent_texts() == []
    assert Notification.objects.get(kind=Kind.CONFIRMATION).status == NotificationStatus.CANCELLED


# --- fallback ----------------------------------------------------------------------------------------------


def test_telegram_then_sms_then_a_call_when_each_fails(
    small_clinic: SmallClinic, settings: SettingsWrapper
) -> None:
    c = small_clinic
    settings.NAVBAT_NOTIFY_BACKEND = ""
    settings.NAVBAT_CHANNELS = {
        "telegram": "tests.notify.outbox.Refusing",
        "sms": "tests.notify.outbox.Flaky",
        "call": "navbat.notify.channels.call.CallChannel",
    }
    Flaky.failures, Flaky.calls = 100, []
    c.patient.preferred_channel = "telegram"
    c.patient.save()
    grant(c.patient, ConsentKind.SMS, ConsentKind.MESSENGER)
    TelegramLink.objects.create(patient=c.patient, chat_id=777)
    policy(c.clinic, channels="telegram,sms,call", max_attempts=2, reminder_hours="")
    appointment = book(c)
    asked = VISIT - timedelta(hours=48)  # the confirmation request is due

    run_worker(asked)  # telegram refused for good → sms, which times out
    run_worker(asked + timedelta(minutes=1))  # sms times out again: its last attempt → a call task

    telegram, sms, call = [d for d in deliveries(appointment) if d.notification.kind == Kind.CONFIRMATION]
    assert (telegram.channel, telegram.status, telegram.reason) == (
        "telegram",
        "failed",
        "blocked by the recipient",
    )
    assert (sms.channel, sms.status, sms.attempts, sms.fallback_of) == ("sms", "failed", 2, telegram)
    assert sms.reason == "gateway timeout (2 attempts)"
    assert (call.channel, call.status, call.fallback_of) == ("call", DeliveryStatus.SENT, sms)
    assert CallTask.objects.get(delivery=call).clinic == c.clinic
    assert Flaky.calls.count(sms.idempotency_key) == 2  # one key for both attempts


def test_when_every_channel_fails_nothing_more_is_tried(
    small_clinic: SmallClinic, settings: SettingsWrapper
) -> None:
    c = small_clinic
    settings.NAVBAT_NOTIFY_BACKEND = ""
    settings.NAVBAT_CHANNELS = {"sms": "tests.notify.outbox.Refusing"}
    grant(c.patient, ConsentKind.SMS)
    policy(c.clinic, channels="sms,push")
    appointment = book(c)

    run_worker(NOW)

    assert [(d.channel, d.status) for d in deliveries(appointment)] == [
        ("sms", "failed"),
        ("push", "skipped"),
    ]


# --- hooks for later issues --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("record", "url", "words"),
    [
        (
            lambda a, u: record_waitlist_offer(appointment=a, offer_url=u, key="w1", now=NOW),
            "offer",
            "a time is free",
        ),
        (lambda a, u: record_no_show_follow_up(appointment=a, book_url=u, now=NOW), "book", "we missed you"),
        (
            lambda a, u: record_feedback_request(appointment=a, feedback_url=u, due_at=NOW),
            "rate",
            "how was your visit",
        ),
    ],
    ids=["waitlist offer", "no-show follow-up", "feedback request"],
)
def test_the_hooks_for_later_issues_record_messages_that_are_sent(
    small_clinic: SmallClinic, record: Any, url: str, words: str
) -> None:
    c = small_clinic
    c.patient.preferred_language = "en"
    c.patient.save()
    grant(c.patient, ConsentKind.SMS)
    policy(c.clinic, channels="sms")
    appointment = book(c)
    run_worker(NOW)
    MemoryBackend.clear()
    if url != "offer":  # a follow-up or a rating is about a visit that has passed or was missed
        Appointment.objects.filter(pk=appointment.pk).update(status=Status.NOSHOW)

    record(appointment, f"https://navbat.example.uz/{url}/")
    run_worker(NOW)

    [(_, _, text)] = sent_texts()
    assert words in text
    assert f"https://navbat.example.uz/{url}/" in text


# --- resending, sign-in codes ------------------------------------------------------------------------------


def test_staff_can_resend_a_delivery_under_a_new_key_and_it_is_audited(small_clinic: SmallClinic) -> None:
    c = small_clinic
    grant(c.patient, ConsentKind.SMS)
    policy(c.clinic, channels="sms")
    appointment = book(c)
    run_worker(NOW)
    [first] = deliveries(appointment)
    operator = factories.UserFactory()

    again = resend_delivery(delivery=first, actor=Actor(user=operator))
    third = resend_delivery(delivery=again, actor=Actor(user=operator))
    run_worker(NOW + timedelta(days=1))

    assert again.idempotency_key == f"{first.idempotency_key}:resend-1"
    assert third.idempotency_key == f"{first.idempotency_key}:resend-2"
    assert len(sent_texts()) == 3
    assert len({text for _, _, text in sent_texts()}) == 1  # the same words
    assert AuditEntry.objects.filter(actor=operator, object_type="delivery").count() == 2


def test_a_sign_in_code_goes_through_the_outbox_at_once_and_only_the_delivery_holds_it(
    small_clinic: SmallClinic, django_capture_on_commit_callbacks: Any
) -> None:
    c = small_clinic
    c.patient.phone = "+998935551212"
    c.patient.save()

    with django_capture_on_commit_callbacks(execute=True):
        challenge = request_code(phone="+998935551212", purpose=OtpPurpose.LOGIN, ip=None, clinic=c.clinic)

    [(channel, to, text)] = sent_texts()
    assert (channel, to) == ("sms", "+998935551212")
    notification = Notification.objects.get(key=f"otp:{challenge.id}")
    assert notification.kind == Kind.OTP and notification.context == {}
    delivery = notification.deliveries.get()
    assert (delivery.status, delivery.text) == (DeliveryStatus.DELIVERED, text)


# --- the older seam: send_message straight to the configured channel ----------------------------------------


def test_send_message_goes_through_the_configured_backend(memory: list[Message]) -> None:
    send_message(channel="sms", to=PHONE, text=TEXT, idempotency_key="otp:1")

    assert [(m.channel, m.to, m.text, m.idempotency_key) for m in memory] == [("sms", PHONE, TEXT, "otp:1")]


def test_the_same_idempotency_key_is_delivered_once(memory: list[Message]) -> None:
    send_message(channel="sms", to=PHONE, text=TEXT, idempotency_key="otp:1")
    send_message(channel="sms", to=PHONE, text=TEXT, idempotency_key="otp:1")
    send_message(channel="sms", to=PHONE, text=TEXT, idempotency_key="otp:2")

    assert [m.idempotency_key for m in memory] == ["otp:1", "otp:2"]


@pytest.mark.parametrize(
    "missing", [{"channel": ""}, {"to": ""}, {"idempotency_key": ""}], ids=["channel", "to", "key"]
)
def test_a_message_without_channel_address_or_key_is_refused(
    memory: list[Message], missing: dict[str, str]
) -> None:
    arguments = {"channel": "sms", "to": PHONE, "text": TEXT, "idempotency_key": "otp:1"} | missing

    with pytest.raises(ValueError):
        send_message(**arguments)

    assert memory == []


def test_the_logs_name_the_event_but_never_the_address_or_the_text(
    memory: list[Message], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        send_message(channel="sms", to=PHONE, text=TEXT, idempotency_key="otp:42")

    assert "otp:42" in caplog.text
    assert PHONE not in caplog.text
    assert "123456" not in caplog.text


def test_the_console_backend_prints_a_marked_block_to_stdout(
    settings: SettingsWrapper, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    settings.NAVBAT_NOTIFY_BACKEND = "console"

    with caplog.at_level(logging.DEBUG):
        send_message(channel="sms", to=PHONE, text=TEXT, idempotency_key="otp:console-1")
        send_message(channel="sms", to=PHONE, text=TEXT, idempotency_key="otp:console-1")

    printed = capsys.readouterr().out
    assert "navbat DEV MESSAGE" in printed
    assert printed.count(TEXT) == 1  # the retry did not print again
    assert PHONE in printed
    assert TEXT not in caplog.text


def test_the_console_backend_can_write_to_another_stream(tmp_path: Path) -> None:
    target = tmp_path / "console.txt"
    with target.open("w") as stream:
        ConsoleBackend(stream).send(Message(channel="sms", to=PHONE, text=TEXT, idempotency_key="k"))

    assert TEXT in target.read_text()


def test_the_file_backend_appends_one_json_line_per_message_once_per_key(
    settings: SettingsWrapper, tmp_path: Path
) -> None:
    outbox = tmp_path / "outbox" / "messages.jsonl"
    settings.NAVBAT_NOTIFY_BACKEND = "navbat.notify.backends.FileBackend"  # the older setting still works
    settings.NAVBAT_NOTIFY_FILE = outbox

    send_message(channel="sms", to=PHONE, text=TEXT, idempotency_key="otp:1")
    send_message(channel="sms", to=PHONE, text=TEXT, idempotency_key="otp:1")
    send_message(channel="sms", to=PHONE, text="второе сообщение", idempotency_key="otp:2")

    lines = [json.loads(line) for line in outbox.read_text(encoding="utf-8").splitlines()]
    assert [(line["to"], line["text"], line["idempotency_key"]) for line in lines] == [
        (PHONE, TEXT, "otp:1"),
        (PHONE, "второе сообщение", "otp:2"),
    ]
    assert [m.text for m in FileBackend(outbox).messages()] == [TEXT, "второе сообщение"]
