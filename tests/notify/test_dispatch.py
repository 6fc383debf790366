"""The worker's side: claims, retries with backoff, fallback, expired leases, what a channel is handed."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from pytest_django.fixtures import Settings as SettingsWrapper

from navbat.booking.models import Appointment
from navbat.booking.services import book_appointment
from navbat.booking.statuses import Channel
from navbat.notify.channels.base import Outgoing, Sent
from navbat.notify.dispatch import claim_due, dispatch_due, lease, plan_due
from navbat.notify.models import Delivery, DeliveryStatus, Notification, TelegramLink
from navbat.notify.rendering import public_url
from navbat.patients.models import ConsentKind
from tests.notify.outbox import VISIT, Flaky, Recording, book, grant, policy, run_worker
from tests.small_clinic import NOW, SmallClinic

pytestmark = pytest.mark.django_db


@pytest.fixture
def channels(settings: SettingsWrapper) -> Iterator[None]:
    """SMS through Flaky (fails `Flaky.failures` times), call and e-mail and Telegram recorded."""
    settings.NAVBAT_NOTIFY_BACKEND = ""
    settings.NAVBAT_CHANNELS = {
        "sms": "tests.notify.outbox.Flaky",
        "call": "tests.notify.outbox.Recording",
        "email": "tests.notify.outbox.Recording",
        "telegram": "tests.notify.outbox.Recording",
    }
    Flaky.failures, Flaky.calls = 0, []
    Recording.received = []
    yield


@pytest.fixture
def booked(small_clinic: SmallClinic, channels: None) -> Appointment:
    """A visit booked on Friday for Monday 10:00; the patient takes SMS, the clinic calls when SMS fails."""
    grant(small_clinic.patient, ConsentKind.SMS)
    policy(
        small_clinic.clinic, channels="sms,call", max_attempts=3, reminder_hours="24", confirmation_hours=0
    )
    return book(small_clinic)


def the_booked_sms(appointment: Appointment) -> Delivery:
    return Delivery.objects.get(notification__key=f"booked:{appointment.pk}", channel="sms")


def test_a_timeout_is_retried_after_30_seconds_then_2_minutes(booked: Appointment) -> None:
    Flaky.failures = 2

    run_worker(NOW)
    sms = the_booked_sms(booked)
    assert (sms.status, sms.attempts, sms.next_attempt_at, sms.reason) == (
        DeliveryStatus.QUEUED,
        1,
        NOW + timedelta(seconds=30),
        "gateway timeout",
    )
    assert run_worker(NOW + timedelta(seconds=29)) == 0  # not yet
    run_worker(NOW + timedelta(seconds=30))
    sms.refresh_from_db()
    assert (sms.attempts, sms.next_attempt_at) == (2, NOW + timedelta(seconds=30 + 120))
    run_worker(NOW + timedelta(seconds=150))

    sms.refresh_from_db()
    assert (sms.status, sms.attempts, sms.provider_id, sms.reason) == (DeliveryStatus.SENT, 3, "flaky-ok", "")
    assert Flaky.calls == [sms.idempotency_key] * 3
    assert Recording.received == []  # no fallback was needed


def the_reminder_sms(appointment: Appointment) -> Delivery:
    return Delivery.objects.get(
        notification__appointment=appointment, notification__kind="reminder", channel="sms"
    )


def test_after_the_last_attempt_the_next_channel_takes_over(booked: Appointment) -> None:
    run_worker(NOW)  # the booked message goes out
    Flaky.failures, Flaky.calls = 100, []
    due = VISIT - timedelta(hours=24)

    for seconds in (0, 30, 150):
        run_worker(due + timedelta(seconds=seconds))

    sms = the_reminder_sms(booked)
    assert (sms.status, sms.attempts, sms.reason) == (
        DeliveryStatus.FAILED,
        3,
        "gateway timeout (3 attempts)",
    )
    call = Delivery.objects.get(fallback_of=sms)
    assert (call.channel, call.status, call.address) == ("call", DeliveryStatus.SENT, sms.address)
    [told] = Recording.received
    assert told.idempotency_key == call.idempotency_key != sms.idempotency_key


def test_a_permanent_failure_falls_back_at_once(booked: Appointment, settings: SettingsWrapper) -> None:
    settings.NAVBAT_CHANNELS = {**settings.NAVBAT_CHANNELS, "sms": "tests.notify.outbox.Refusing"}

    run_worker(VISIT - timedelta(hours=24))

    sms = the_reminder_sms(booked)
    assert (sms.status, sms.attempts, sms.reason) == (DeliveryStatus.FAILED, 1, "blocked by the recipient")
    assert Delivery.objects.get(fallback_of=sms).status == DeliveryStatus.SENT


def test_an_operator_is_not_asked_to_call_about_a_booking_or_a_last_minute_reminder(
    small_clinic: SmallClinic, channels: None, settings: SettingsWrapper
) -> None:
    settings.NAVBAT_CHANNELS = {**settings.NAVBAT_CHANNELS, "sms": "tests.notify.outbox.Refusing"}
    grant(small_clinic.patient, ConsentKind.SMS)
    policy(small_clinic.clinic, channels="sms,call", reminder_hours="2", confirmation_hours=0)
    appointment = book(small_clinic)

    run_worker(NOW)
    run_worker(VISIT - timedelta(hours=2))

    calls = Delivery.objects.filter(notification__appointment=appointment, channel="call")
    assert [(d.notification.kind, d.status, d.reason) for d in calls.order_by("pk")] == [
        ("booked", DeliveryStatus.SKIPPED, "no call for this"),
        ("reminder", DeliveryStatus.SKIPPED, "no call for this"),
    ]
    assert Recording.received == []


def test_an_unexpected_error_of_a_channel_is_retried_and_logged_without_personal_data(
    booked: Appointment, settings: SettingsWrapper, caplog: pytest.LogCaptureFixture
) -> None:
    settings.NAVBAT_CHANNELS = {**settings.NAVBAT_CHANNELS, "sms": "tests.notify.test_dispatch.Broken"}

    with caplog.at_level(logging.DEBUG):
        run_worker(NOW)

    sms = the_booked_sms(booked)
    assert (sms.status, sms.reason) == (DeliveryStatus.QUEUED, "error: ZeroDivisionError")
    assert str(booked.patient.phone) not in caplog.text
    assert sms.text and sms.text not in caplog.text


class Broken:
    def send(self, message: Outgoing) -> Sent:
        return Sent(provider_id=str(1 / 0))


def test_a_claim_is_taken_once(booked: Appointment) -> None:
    plan_due(now=NOW, limit=10)

    first = claim_due(now=NOW, limit=10)
    second = claim_due(now=NOW, limit=10)

    assert len(first) == 1 and second == []
    assert Delivery.objects.get(pk=first[0]).lease_until == NOW + lease()


def test_a_delivery_claimed_by_a_worker_that_died_is_sent_again_with_the_same_key(
    booked: Appointment,
) -> None:
    plan_due(now=NOW, limit=10)
    [claimed] = claim_due(now=NOW, limit=10)  # ... and the worker is killed before it records anything

    assert dispatch_due(now=NOW + lease() - timedelta(seconds=1)) == 0  # its lease still holds
    run_worker(NOW + lease() + timedelta(seconds=1))

    sms = Delivery.objects.get(pk=claimed)
    assert (sms.status, sms.lease_until) == (DeliveryStatus.SENT, None)
    assert Flaky.calls == [sms.idempotency_key]


def test_a_reminder_by_telegram_has_buttons_to_answer(small_clinic: SmallClinic, channels: None) -> None:
    c = small_clinic
    c.patient.preferred_channel = "telegram"
    c.patient.preferred_language = "en"
    c.patient.save()
    grant(c.patient, ConsentKind.MESSENGER)
    TelegramLink.objects.create(patient=c.patient, chat_id=4242)
    policy(c.clinic, channels="telegram", reminder_hours="24", confirmation_hours=0)
    appointment = book(c)
    run_worker(NOW)
    Recording.received = []

    run_worker(VISIT - timedelta(hours=24))

    [reminder] = Recording.received
    assert reminder.to == "4242"
    assert [(b.label, b.data) for b in reminder.buttons] == [
        ("I will come", f"confirm:{appointment.pk}"),
        ("Cancel the visit", f"cancel:{appointment.pk}"),
        ("Another time", f"reschedule:{appointment.pk}"),
    ]
    assert "/book/a/" in reminder.text  # the appointment's page


def test_an_email_has_a_subject_html_and_the_visit_as_a_calendar_file(
    small_clinic: SmallClinic, channels: None
) -> None:
    c = small_clinic
    c.patient.preferred_channel = "email"
    c.patient.email = "aziz@example.uz"
    c.patient.preferred_language = "ru"
    c.patient.save()
    grant(c.patient, ConsentKind.EMAIL)
    policy(c.clinic, channels="email")
    book(c)

    run_worker(NOW)

    [mail] = Recording.received
    assert mail.subject == "Вы записаны: 1 марта 10:00"
    assert "<p>" in mail.html
    assert f'<a href="{public_url()}/book/a/' in mail.html
    [ics] = mail.attachments
    assert (ics.filename, ics.mimetype) == ("appointment.ics", "text/calendar; charset=utf-8")
    assert b"BEGIN:VEVENT" in ics.content


def test_the_text_is_rendered_once_and_kept_for_retries(booked: Appointment) -> None:
    Flaky.failures = 1
    run_worker(NOW)
    sms = the_booked_sms(booked)
    text = sms.text
    booked.patient.name = "Renamed"
    booked.patient.save()

    run_worker(NOW + timedelta(minutes=1))

    sms.refresh_from_db()
    assert sms.status == DeliveryStatus.SENT and sms.text == text


def test_a_retry_that_would_fall_in_quiet_hours_waits_for_the_morning(booked: Appointment) -> None:
    run_worker(NOW)  # the first booking's message is out of the way
    evening = datetime(2027, 2, 26, 20, 59, 50, tzinfo=NOW.tzinfo)
    late = book_appointment(
        patient=booked.patient,
        service=booked.service,
        starts_at=booked.starts_at + timedelta(hours=1),
        channel=Channel.PHONE,
        now=evening,
    )
    Flaky.failures, Flaky.calls = 1, []

    run_worker(evening)  # times out; 30 seconds later it is 21:00:20, quiet

    sms = Delivery.objects.get(notification__key=f"booked:{late.pk}", channel="sms")
    assert (sms.status, sms.next_attempt_at) == (
        DeliveryStatus.QUEUED,
        datetime(2027, 2, 27, 8, tzinfo=NOW.tzinfo),
    )


@pytest.mark.django_db(transaction=True)
def test_the_worker_task_sends_what_is_due_and_keeps_one_run_waiting(settings: SettingsWrapper) -> None:
    from django.utils import timezone
    from django_tasks.base import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    from navbat.notify.backends import MemoryBackend
    from navbat.notify.tasks import deliver_due, heartbeat, schedule_delivery
    from tests.notify.outbox import bulk_reminders
    from tests.small_clinic import build_small_clinic

    settings.NAVBAT_NOTIFY_BACKEND = "memory"
    MemoryBackend.clear()
    now = timezone.now()
    bulk_reminders(build_small_clinic(), 3, due_at=now, first_visit=now + timedelta(hours=3))
    waiting = DBTaskResult.objects.filter(status=TaskResultStatus.READY, task_path=deliver_due.module_path)

    schedule_delivery()
    schedule_delivery()  # one run is already waiting to start by then
    assert waiting.count() == 1

    waiting.update(status=TaskResultStatus.RUNNING)  # db_worker claims it, then runs it
    started = timezone.now()
    assert deliver_due.call() == 6  # three planned, three sent

    assert len(MemoryBackend.outbox) == 3
    # The run enqueued its successor first (a killed run's work is not stranded) — and nothing more.
    [successor] = waiting
    assert successor.run_after >= started + heartbeat()


@pytest.mark.django_db(transaction=True)
def test_finished_runs_of_the_task_are_forgotten_after_a_day() -> None:
    from django.utils import timezone
    from django_tasks.base import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    from navbat.notify.tasks import deliver_due, forget_old_runs, schedule_delivery

    schedule_delivery()
    deliver_due.using(run_after=timezone.now() + timedelta(hours=1)).enqueue()
    old, recent = DBTaskResult.objects.order_by("run_after")
    DBTaskResult.objects.filter(pk=old.pk).update(
        status=TaskResultStatus.SUCCESSFUL, finished_at=timezone.now() - timedelta(days=2)
    )
    DBTaskResult.objects.filter(pk=recent.pk).update(
        status=TaskResultStatus.SUCCESSFUL, finished_at=timezone.now()
    )

    assert forget_old_runs() == 1
    assert list(DBTaskResult.objects.filter(task_path=deliver_due.module_path)) == [recent]


@pytest.mark.django_db(transaction=True)
def test_with_an_immediate_task_backend_a_due_message_goes_out_at_the_commit(
    settings: SettingsWrapper,
) -> None:
    from django.db import transaction
    from django.utils import timezone

    from navbat.notify.backends import MemoryBackend
    from navbat.notify.services import record_no_show_follow_up
    from tests.notify.outbox import bulk_reminders
    from tests.small_clinic import build_small_clinic

    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    settings.NAVBAT_NOTIFY_BACKEND = "memory"
    MemoryBackend.clear()
    now = timezone.now()
    later = now + timedelta(days=1)
    [reminder] = bulk_reminders(build_small_clinic(), 1, due_at=later, first_visit=later + timedelta(hours=2))
    appointment = Notification.objects.get(pk=reminder).appointment
    assert appointment is not None

    with transaction.atomic():
        record_no_show_follow_up(appointment=appointment, book_url="https://navbat.example.uz/book/", now=now)
        assert MemoryBackend.outbox == []  # not before the commit

    [message] = MemoryBackend.outbox
    assert message.to == str(appointment.patient.phone)
    assert "https://navbat.example.uz/book/" in message.text
