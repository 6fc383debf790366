"""Helpers for the outbox tests: consents, policies, channels that fail on purpose, a worker's rounds."""

from __future__ import annotations

from datetime import datetime, timedelta

from navbat.booking.models import Appointment
from navbat.booking.services import book_appointment
from navbat.booking.statuses import Channel
from navbat.clinic.models import Clinic
from navbat.notify.backends import MemoryBackend
from navbat.notify.channels.base import Outgoing, PermanentFailure, Sent, TemporaryFailure
from navbat.notify.dispatch import dispatch_due
from navbat.notify.models import Delivery, NotifyPolicy
from navbat.patients.models import Consent, Patient
from tests.small_clinic import MONDAY, NOW, SmallClinic, at

VISIT = at(MONDAY, 10)  # Monday 1 March 2027, 10:00 Tashkent; NOW is the Friday before, 09:00


def grant(patient: Patient, *kinds: str, granted: bool = True) -> None:
    for kind in kinds:
        Consent.objects.create(patient=patient, kind=kind, granted=granted, text_version="1")


def policy(clinic: Clinic, **fields: object) -> NotifyPolicy:
    row, _created = NotifyPolicy.objects.update_or_create(clinic=clinic, defaults=fields)
    return row


def book(c: SmallClinic, start: datetime = VISIT, *, now: datetime = NOW, **kwargs: object) -> Appointment:
    options: dict[str, object] = {
        "patient": c.patient,
        "service": c.therapy,
        "starts_at": start,
        "channel": Channel.PHONE,
        "now": now,
    }
    options.update(kwargs)
    return book_appointment(**options)  # type: ignore[arg-type]


def run_worker(now: datetime, *, rounds: int = 20) -> int:
    """Rounds of the dispatcher at `now` until nothing is left to do; how much was handled."""
    handled = 0
    for _ in range(rounds):
        done = dispatch_due(now=now)
        if not done:
            break
        handled += done
    return handled


def sent_texts() -> list[tuple[str, str, str]]:
    """(channel, address, text) of every message the memory channel took."""
    return [(m.channel, m.to, m.text) for m in MemoryBackend.outbox]


def deliveries(appointment: Appointment) -> list[Delivery]:
    return list(Delivery.objects.filter(notification__appointment=appointment).order_by("pk"))


class Recording:
    """A channel that accepts everything and remembers it (class-wide, like MemoryBackend)."""

    received: list[Outgoing] = []

    def send(self, message: Outgoing) -> Sent:
        self.received.append(message)
        return Sent(provider_id=f"ok-{len(self.received)}")


class Refusing:
    """A channel that refuses every message for good (a blocked bot, a number the gateway rejects)."""

    def send(self, message: Outgoing) -> Sent:
        raise PermanentFailure("blocked by the recipient")


class Flaky:
    """A channel that times out `failures` times, then accepts (class-wide counter; reset it per test)."""

    failures = 0
    calls: list[str] = []

    def send(self, message: Outgoing) -> Sent:
        self.calls.append(message.idempotency_key)
        if len(self.calls) <= self.failures:
            raise TemporaryFailure("gateway timeout")
        return Sent(provider_id="flaky-ok")


def later(moment: datetime, **delta: float) -> datetime:
    return moment + timedelta(**delta)


def bulk_reminders(c: SmallClinic, count: int, *, due_at: datetime, first_visit: datetime) -> list[int]:
    """`count` patients (SMS allowed), each with a visit and a 2-hour reminder due at `due_at`, written in
    bulk (no booking checks: one dentist, back to back). The clinic has no quiet hours, so that the
    reminders go whatever the hour the test runs. Returns the notifications' ids."""
    from datetime import UTC, time

    from navbat.notify.models import Kind, Notification
    from navbat.patients.models import ConsentKind

    policy(c.clinic, channels="sms", quiet_from=time(0), quiet_until=time(0), max_attempts=20)
    patients = Patient.objects.bulk_create(
        Patient(
            clinic=c.clinic,
            surname=f"Bulk{i}",
            name="Aziz",
            birth_date=datetime(1990, 1, 1).date(),
            phone=f"+99890{2000000 + i}",
        )
        for i in range(count)
    )
    Consent.objects.bulk_create(
        Consent(patient=p, kind=ConsentKind.SMS, granted=True, text_version="1") for p in patients
    )
    length = timedelta(minutes=c.therapy.duration_minutes)
    appointments = Appointment.objects.bulk_create(
        Appointment(
            clinic=c.clinic,
            patient=p,
            service=c.therapy,
            dentist=c.first,
            chair=c.chair_plain,
            starts_at=first_visit + i * length,
            ends_at=first_visit + (i + 1) * length,
            channel=Channel.PHONE,
        )
        for i, p in enumerate(patients)
    )
    notifications = Notification.objects.bulk_create(
        Notification(
            clinic=c.clinic,
            kind=Kind.REMINDER,
            key=f"reminder:2h:{a.pk}:{a.starts_at.astimezone(UTC).isoformat()}",
            appointment=a,
            patient=a.patient,
            due_at=due_at,
            context={"hours": 2},
        )
        for a in appointments
    )
    return [n.pk for n in notifications]


class Deduplicating:
    """A gateway without the network: accepts every message, once per idempotency key (class-wide)."""

    keys: set[str] = set()

    def send(self, message: Outgoing) -> Sent:
        self.keys.add(message.idempotency_key)
        return Sent(provider_id=f"dedup-{len(self.keys)}")
