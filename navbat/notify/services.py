"""The outbox: recording what must be told, and planning who is told it, how and when.

Services of other apps call the `record_*`/`appointment_*` functions inside their own transaction, so that a
notification exists exactly when the change it is about was committed (DESIGN.md invariant 5). The worker
(`navbat.notify.dispatch`) later plans each due notification into deliveries — one per recipient, on the
first channel that can reach him — and sends them; a delivery that fails for good falls back to the next
channel.

Who: the patient, or his guardians when he is a child or has no phone. In what language: the recipient's.
On which channel: the clinic's order (NotifyPolicy.channels), the recipient's preferred channel first when
the clinic has it, skipping channels without consent or address (the skipped delivery says why). When: the
due time, held back by quiet hours on SMS and calls (navbat.scheduling.messages).

`send_message` is the older seam (a message straight to a backend), kept for callers outside the outbox.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from navbat.accounts.audit import Actor, record
from navbat.accounts.models import AuditAction
from navbat.booking.models import Appointment
from navbat.booking.statuses import Channel as BookingChannel
from navbat.booking.statuses import Status
from navbat.clinic.models import Clinic
from navbat.notify.models import (
    Delivery,
    DeliveryStatus,
    Kind,
    Notification,
    NotificationStatus,
    NotifyPolicy,
    PushSubscription,
    TelegramLink,
)
from navbat.patients.models import Consent, ConsentKind, ContactChannel, Patient
from navbat.scheduling.messages import (
    QuietHours,
    confirmation_time,
    parse_hours,
    reminder_times,
    send_time,
    still_ahead,
)

logger = logging.getLogger(__name__)

# Kinds about a visit that only make sense while it is still ahead and unchanged.
WHILE_ACTIVE = frozenset({Kind.BOOKED, Kind.MOVED, Kind.REMINDER, Kind.CONFIRMATION})
# Appointment statuses a visit still waits in: reminders stay planned while it is in one of these.
WAITING_STATUSES = frozenset({Status.BOOKED, Status.PENDING})
# Booked by the desk (walk-in, emergency) to start this soon: the patient is standing there, no "booked" SMS.
AT_THE_DESK = timedelta(hours=1)
DESK_CHANNELS = frozenset({BookingChannel.WALK_IN, BookingChannel.EMERGENCY})
# What is worth an operator's call when no other channel reaches the patient (see _worth_it).
CALL_KINDS = frozenset({Kind.CONFIRMATION, Kind.WAITLIST_OFFER, Kind.NO_SHOW_FOLLOW_UP})
CALL_REMINDER_HOURS = 24

_CONSENT_FOR = {
    ContactChannel.SMS: ConsentKind.SMS,
    ContactChannel.TELEGRAM: ConsentKind.MESSENGER,
    ContactChannel.EMAIL: ConsentKind.EMAIL,
}


# --- recording ----------------------------------------------------------------------------------------------


def record_notification(
    *,
    kind: str,
    clinic: Clinic,
    key: str,
    due_at: datetime,
    appointment: Appointment | None = None,
    patient: Patient | None = None,
    context: Mapping[str, object] | None = None,
) -> Notification:
    """Record that `kind` must be told, due at `due_at`. Call it inside the transaction of the change it is
    about. The same `key` is recorded once: a second call returns the first row unchanged."""
    notification, created = Notification.objects.get_or_create(
        key=key,
        defaults={
            "kind": kind,
            "clinic": clinic,
            "due_at": due_at,
            "appointment": appointment,
            "patient": patient or (appointment.patient if appointment is not None else None),
            "context": dict(context or {}),
        },
    )
    if created:
        # Due now: a worker run at once. Due later: one then, unless a run is waiting by then already (the
        # worker's heartbeat keeps one waiting; this covers a queue that has none).
        wake_worker(due_at)
    return notification


@dataclass(frozen=True)
class Planned:
    """A notification about an appointment, to be recorded with others of the same appointment."""

    kind: str
    key: str
    due_at: datetime
    context: Mapping[str, object] | None = None


def record_planned(appointment: Appointment, planned: list[Planned]) -> list[Notification]:
    """record_notification for several notifications about `appointment` at once: one query for the keys
    already recorded, one insert for the others and one wake-up of the worker, instead of four statements
    and a wake-up each (a booking records four). As there, a key already recorded keeps its first row."""
    if not planned:
        return []
    recorded = {n.key: n for n in Notification.objects.filter(key__in=[p.key for p in planned])}
    fresh = [
        Notification(
            kind=p.kind,
            clinic=appointment.clinic,
            key=p.key,
            due_at=p.due_at,
            appointment=appointment,
            patient=appointment.patient,
            context=dict(p.context or {}),
        )
        for p in planned
        if p.key not in recorded
    ]
    if fresh:
        try:
            with transaction.atomic():
                created = Notification.objects.bulk_create(fresh)
        except IntegrityError:
            # Another transaction recorded one of these keys meanwhile: one by one, each keeping the first.
            return [
                record_notification(
                    kind=p.kind,
                    clinic=appointment.clinic,
                    key=p.key,
                    due_at=p.due_at,
                    appointment=appointment,
                    context=p.context,
                )
                for p in planned
            ]
        recorded.update((n.key, n) for n in created)
        wake_worker(*(n.due_at for n in created))
    return [recorded[p.key] for p in planned]


def wake_worker(*due: datetime) -> None:
    """Once the current transaction commits, make sure a worker run waits for the earliest of `due` (now
    when none is given or it is past); that run schedules the next (navbat.notify.tasks)."""
    transaction.on_commit(lambda: _wake(due))


def _wake(due: tuple[datetime, ...]) -> None:
    """Never fails the change that was just committed: without this run, the worker's next heartbeat
    finds the message (see navbat.notify.tasks)."""
    from navbat.notify.tasks import schedule_deliveries

    try:
        schedule_deliveries(due)
    except Exception as error:
        logger.warning("could not wake the worker (%s); its next round will send", type(error).__name__)


def appointment_booked(appointment: Appointment, *, now: datetime | None = None) -> None:
    """Hook of booking.services.book_appointment: "booked" now, and the reminders and confirmation request.

    A walk-in or emergency visit booked by the desk to start within the hour gets no "booked" message:
    the patient is at the desk and has just been told."""
    now = now or timezone.now()
    at_the_desk = appointment.channel in DESK_CHANNELS and appointment.starts_at - now < AT_THE_DESK
    told = [] if at_the_desk else [Planned(Kind.BOOKED, f"booked:{appointment.pk}", now)]
    record_planned(appointment, told + _messages_ahead(appointment, now=now))


def appointment_moved(old: Appointment, new: Appointment, *, now: datetime | None = None) -> None:
    """Hook of booking.services.reschedule_appointment: the old visit's reminders go, "moved" is told now,
    the new visit's reminders are planned."""
    now = now or timezone.now()
    cancel_pending_for(old)
    moved = Planned(Kind.MOVED, f"moved:{old.pk}:{new.pk}", now, {"moved_from": old.pk})
    record_planned(new, [moved, *_messages_ahead(new, now=now)])


def appointment_status_changed(
    appointment: Appointment, *, previous: str, now: datetime | None = None
) -> None:
    """Hook of booking.services.change_status. Leaving the waiting statuses (cancelled, arrived, no-show, …)
    cancels what was still to be sent; a cancellation of a visit still ahead is told; a proposal or a
    waitlist entry that becomes a booking is treated as booked."""
    now = now or timezone.now()
    status = Status(appointment.status)
    if status not in WAITING_STATUSES:
        cancel_pending_for(appointment)
    if status == Status.CANCELLED and previous in WAITING_STATUSES and appointment.starts_at > now:
        record_notification(
            kind=Kind.CANCELLED,
            clinic=appointment.clinic,
            key=f"cancelled:{appointment.pk}",
            due_at=now,
            appointment=appointment,
        )
    if status in WAITING_STATUSES and previous not in WAITING_STATUSES:
        appointment_booked(appointment, now=now)


def plan_appointment_messages(appointment: Appointment, *, now: datetime) -> list[Notification]:
    """Record the reminders (one per policy hour) and the confirmation request of a booked visit — those
    still ahead: nothing is recorded that would be due before `now`."""
    return record_planned(appointment, _messages_ahead(appointment, now=now))


def _messages_ahead(appointment: Appointment, *, now: datetime) -> list[Planned]:
    policy = policy_for(appointment.clinic)
    start = appointment.starts_at
    stamp = start.astimezone(UTC).isoformat()
    planned = [
        Planned(Kind.REMINDER, f"reminder:{hours}h:{appointment.pk}:{stamp}", due, {"hours": hours})
        for hours, due in still_ahead(reminder_times(start, _hours(policy)), now)
    ]
    asked = confirmation_time(start, policy.confirmation_hours)
    if asked is not None and asked > now and appointment.confirmed_at is None:
        planned.append(Planned(Kind.CONFIRMATION, f"confirmation:{appointment.pk}:{stamp}", asked))
    return planned


def cancel_pending_for(appointment: Appointment) -> int:
    """What was still to be sent about `appointment` is not sent: its pending notifications and the
    deliveries still queued. Returns how many notifications were cancelled."""
    cancelled = Notification.objects.filter(
        appointment=appointment, status=NotificationStatus.PENDING
    ).update(status=NotificationStatus.CANCELLED)
    Delivery.objects.filter(
        notification__appointment=appointment,
        notification__kind__in=WHILE_ACTIVE,
        status=DeliveryStatus.QUEUED,
    ).update(status=DeliveryStatus.CANCELLED, reason="no longer relevant", updated_at=timezone.now())
    return cancelled


# Hooks for later issues: no caller yet.


def record_waitlist_offer(
    *, appointment: Appointment, offer_url: str, key: str, now: datetime | None = None
) -> Notification:
    """Offer a freed time (`appointment`, proposed) to a patient of the waiting list."""
    return record_notification(
        kind=Kind.WAITLIST_OFFER,
        clinic=appointment.clinic,
        key=f"waitlist_offer:{key}",
        due_at=now or timezone.now(),
        appointment=appointment,
        context={"offer_url": offer_url},
    )


def record_no_show_follow_up(
    *, appointment: Appointment, book_url: str, now: datetime | None = None
) -> Notification:
    """After a no-show: "we missed you, choose a new time"."""
    return record_notification(
        kind=Kind.NO_SHOW_FOLLOW_UP,
        clinic=appointment.clinic,
        key=f"no_show_follow_up:{appointment.pk}",
        due_at=now or timezone.now(),
        appointment=appointment,
        context={"book_url": book_url},
    )


def record_feedback_request(
    *, appointment: Appointment, feedback_url: str, due_at: datetime | None = None
) -> Notification:
    """After a visit: "how was it?"."""
    return record_notification(
        kind=Kind.FEEDBACK_REQUEST,
        clinic=appointment.clinic,
        key=f"feedback_request:{appointment.pk}",
        due_at=due_at or timezone.now(),
        appointment=appointment,
        context={"feedback_url": feedback_url},
    )


def record_draw_not_won(
    *, patient: Patient, clinic: Clinic, day: date, entry_key: int, now: datetime | None = None
) -> Notification:
    """A patient who took part in the fair release of `day` (booking.release) and was left without a time:
    he is told, with the way to the waiting list."""
    return record_notification(
        kind=Kind.DRAW_NOT_WON,
        clinic=clinic,
        key=f"draw_not_won:{entry_key}",
        due_at=now or timezone.now(),
        patient=patient,
        context={"day": day.isoformat(), "book_url": reverse("waitlist:join")},
    )


def record_otp(*, clinic: Clinic, phone: str, text: str, key: str, language: str) -> Delivery:
    """A sign-in code by SMS: no consent needed (he asked for it), never held by quiet hours, sent at once
    after the commit. The text (with the code) is kept only in the delivery, never in the notification."""
    now = timezone.now()
    notification, _created = Notification.objects.get_or_create(
        key=key,
        defaults={"kind": Kind.OTP, "clinic": clinic, "due_at": now, "status": NotificationStatus.PLANNED},
    )
    delivery, _created = Delivery.objects.get_or_create(
        idempotency_key=key,
        defaults={
            "notification": notification,
            "channel": ContactChannel.SMS,
            "address": phone,
            "language": language,
            "text": text,
            "next_attempt_at": now,
        },
    )
    delivery_id = delivery.pk

    def send_now() -> None:
        from navbat.notify.dispatch import send_delivery_now

        try:
            sent = send_delivery_now(delivery_id)
        except Exception as error:  # the page must not fail: the worker retries it
            logger.warning("sign-in code %s not sent at once (%s)", delivery_id, type(error).__name__)
            sent = False
        if not sent:
            _wake(())

    transaction.on_commit(send_now)
    return delivery


# --- planning deliveries ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reach:
    """Whether a channel can carry a message to a recipient now: the address, or why not."""

    address: str = ""
    reason: str = ""


_ROUND_POLICIES: ContextVar[dict[int, NotifyPolicy] | None] = ContextVar("notify_policies", default=None)


def policy_for(clinic: Clinic) -> NotifyPolicy:
    """The clinic's message rules, or the defaults when it has none (read once per worker round)."""
    cached = _ROUND_POLICIES.get()
    if cached is not None and clinic.pk in cached:
        return cached[clinic.pk]
    policy = NotifyPolicy.objects.filter(clinic=clinic).first() or NotifyPolicy(clinic=clinic)
    if cached is not None:
        cached[clinic.pk] = policy
    return policy


@contextmanager
def policies_read_once() -> Iterator[None]:
    """Within the block (one round of the worker), each clinic's policy is read from the database once."""
    token = _ROUND_POLICIES.set({})
    try:
        yield
    finally:
        _ROUND_POLICIES.reset(token)


def recipients_for(patient: Patient, *, today: date) -> list[Patient]:
    """Who hears about `patient`'s visits: he himself, or — a child, or someone without a phone — his
    guardians (current records only). Without guardians, the patient (whatever can reach him)."""
    adult = patient.age_on(today) >= settings.NAVBAT_ADULT_AGE
    if patient.phone and adult:
        return [patient]
    guardians = [
        guardianship.guardian
        for guardianship in patient.guardians.select_related("guardian").order_by("pk")
        if guardianship.guardian.is_active_record
    ]
    return guardians or [patient]


def channel_order(policy: NotifyPolicy, recipient: Patient | None) -> list[str]:
    """The clinic's channels in order, the recipient's preferred one first when the clinic uses it."""
    channels = [part.strip() for part in policy.channels.split(",") if part.strip() in ContactChannel.values]
    channels = list(dict.fromkeys(channels))
    if recipient is not None and recipient.preferred_channel in channels:
        channels.remove(recipient.preferred_channel)
        channels.insert(0, recipient.preferred_channel)
    return channels


def reach(recipient: Patient, channel: str) -> Reach:
    """The recipient's address on `channel` if he has one and agreed to messages there."""
    consent = _CONSENT_FOR.get(ContactChannel(channel))
    if consent is not None and not has_consent(recipient, consent):
        return Reach(reason=f"no consent to {channel}")
    if channel in (ContactChannel.SMS, ContactChannel.CALL):
        return Reach(address=str(recipient.phone)) if recipient.phone else Reach(reason="no phone")
    if channel == ContactChannel.EMAIL:
        return Reach(address=recipient.email) if recipient.email else Reach(reason="no e-mail address")
    if channel == ContactChannel.TELEGRAM:
        link = TelegramLink.objects.filter(patient=recipient).first()
        return Reach(address=str(link.chat_id)) if link else Reach(reason="no Telegram link")
    subscription = PushSubscription.objects.filter(patient=recipient).order_by("-created_at", "-pk").first()
    return Reach(address=str(subscription.pk)) if subscription else Reach(reason="no push subscription")


def _worth_it(notification: Notification, channel: str) -> bool:
    """An operator's time goes to messages that need an answer or a decision: a confirmation, the first
    reminder (a day or more ahead), a waitlist offer, a no-show. Not to "you are booked", nor to a
    reminder two hours before."""
    if channel != ContactChannel.CALL:
        return True
    if notification.kind == Kind.REMINDER:
        hours = notification.context.get("hours")
        return not isinstance(hours, int) or hours >= CALL_REMINDER_HOURS
    return notification.kind in CALL_KINDS


def has_consent(patient: Patient, kind: str) -> bool:
    """The latest consent of `kind` is a yes."""
    latest = Consent.objects.filter(patient=patient, kind=kind).order_by("-at", "-pk").first()
    return latest is not None and latest.granted


def plan_deliveries(notification: Notification, *, now: datetime) -> list[Delivery]:
    """Turn a due notification into deliveries: for each recipient, the first channel that can reach him
    (the channels before it recorded as skipped, with why). A notification no longer relevant (its visit
    was cancelled or moved meanwhile) is cancelled instead."""
    appointment = notification.appointment
    if not _relevant(notification, now):
        notification.status = NotificationStatus.CANCELLED
        notification.save(update_fields=["status"])
        return []
    patient = notification.patient or (appointment.patient if appointment else None)
    deliveries: list[Delivery] = []
    if patient is not None:
        today = now.astimezone(notification.clinic.tz).date()
        for recipient in recipients_for(patient, today=today):
            deliveries += _next_channel(notification, recipient, now=now, fresh=True)
    notification.status = NotificationStatus.PLANNED
    notification.save(update_fields=["status"])
    return deliveries


def fall_back(failed: Delivery, *, now: datetime) -> list[Delivery]:
    """After `failed` failed for good: the next channel for the same recipient, if any is left."""
    if failed.recipient is None:
        return []
    notification = failed.notification
    if not _relevant(notification, now):
        return []
    return _next_channel(notification, failed.recipient, now=now, fallback_of=failed)


def _next_channel(
    notification: Notification,
    recipient: Patient,
    *,
    now: datetime,
    fallback_of: Delivery | None = None,
    fresh: bool = False,
) -> list[Delivery]:
    """Deliveries for the channels not yet tried for this recipient, in order, up to the first that can
    carry the message: the skipped ones and the queued one. `fresh`: none tried yet (first planning)."""
    policy = policy_for(notification.clinic)
    tried: set[str] = set()
    if not fresh:
        done = Delivery.objects.filter(notification=notification, recipient=recipient)
        tried = set(done.values_list("channel", flat=True))
    created = []
    for channel in channel_order(policy, recipient):
        if channel in tried:
            continue
        found = (
            reach(recipient, channel)
            if _worth_it(notification, channel)
            else Reach(reason="no call for this")
        )
        at = None
        if found.address:
            at = _send_at(notification, channel, policy, now=now)
        reason = found.reason or ("" if at is not None else "quiet hours until the visit")
        delivery = Delivery.objects.create(
            notification=notification,
            recipient=recipient,
            channel=channel,
            address=found.address if at is not None else "",
            language=recipient.preferred_language,
            idempotency_key=f"{notification.key}:{recipient.pk}:{channel}",
            status=DeliveryStatus.QUEUED if at is not None else DeliveryStatus.SKIPPED,
            next_attempt_at=at or now,
            reason=reason,
            fallback_of=fallback_of,
        )
        created.append(delivery)
        if at is not None:
            return created
    return created


def _send_at(
    notification: Notification, channel: str, policy: NotifyPolicy, *, now: datetime
) -> datetime | None:
    appointment = notification.appointment
    return send_time(
        max(notification.due_at, now),
        channel=channel,
        quiet=QuietHours(policy.quiet_from, policy.quiet_until),
        tz=notification.clinic.tz,
        now=now,
        visit_start=appointment.starts_at if appointment is not None else None,
    )


def retry_at(delivery: Delivery, at: datetime, *, now: datetime) -> datetime | None:
    """When a retry due at `at` may go, quiet hours considered; None: not before the visit."""
    notification = delivery.notification
    if notification.kind == Kind.OTP:
        return at
    policy = policy_for(notification.clinic)
    appointment = notification.appointment
    return send_time(
        at,
        channel=delivery.channel,
        quiet=QuietHours(policy.quiet_from, policy.quiet_until),
        tz=notification.clinic.tz,
        now=now,
        visit_start=appointment.starts_at if appointment is not None else None,
    )


def still_relevant(delivery: Delivery, *, now: datetime) -> bool:
    """At send time: the notification was not cancelled, and a message about a visit still ahead is sent
    only while the visit is (a reminder for a visit cancelled a minute ago is not)."""
    notification = delivery.notification
    return notification.status != NotificationStatus.CANCELLED and _relevant(notification, now)


def _relevant(notification: Notification, now: datetime) -> bool:
    """A message about a visit still ahead only while it is (and a confirmation request only until the
    patient confirmed)."""
    if notification.kind not in WHILE_ACTIVE:
        return True
    appointment = notification.appointment
    if appointment is None or not _still_waiting(appointment, now):
        return False
    return not (notification.kind == Kind.CONFIRMATION and appointment.confirmed_at is not None)


def _still_waiting(appointment: Appointment, now: datetime) -> bool:
    return appointment.status in WAITING_STATUSES and appointment.starts_at > now


def _hours(policy: NotifyPolicy) -> tuple[int, ...]:
    try:
        return parse_hours(policy.reminder_hours)
    except ValueError:
        logger.warning("clinic %s: unreadable reminder hours, using 24,2", policy.clinic_id)
        return (24, 2)


# --- staff actions ------------------------------------------------------------------------------------------


def resend_delivery(*, delivery: Delivery, actor: Actor | None = None) -> Delivery:
    """Send a delivery again (staff, from the dashboard): a new delivery with the same recipient, channel and
    text under a new key ("…:resend-N"), due now. Audited."""
    user_actor = actor or Actor(user=None, path="system")
    with transaction.atomic():
        original = (
            Delivery.objects.select_for_update(of=("self",))
            .select_related("notification")
            .get(pk=delivery.pk)
        )
        base = original.idempotency_key.split(":resend-")[0]
        count = Delivery.objects.filter(idempotency_key__startswith=f"{base}:resend-").count()
        now = timezone.now()
        copy = Delivery.objects.create(
            notification=original.notification,
            recipient=original.recipient,
            channel=original.channel,
            address=original.address,
            language=original.language,
            idempotency_key=f"{base}:resend-{count + 1}",
            next_attempt_at=now,
            subject=original.subject,
            text=original.text,
        )
        record(
            user_actor,
            AuditAction.CREATE,
            object_type="delivery",
            object_id=copy.pk,
            patient_id=original.recipient_id,
            note=f"resend of delivery {original.pk}",
        )
        wake_worker()
    return copy


# --- due work, for the worker -------------------------------------------------------------------------------


def due_notifications(now: datetime, limit: int) -> list[int]:
    return list(
        Notification.objects.filter(status=NotificationStatus.PENDING, due_at__lte=now)
        .order_by("due_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )


def next_due_time(now: datetime) -> datetime | None:
    """The earliest moment something in the outbox becomes due: a notification, a delivery or a retry, or
    a lease that runs out."""
    candidates: Iterable[datetime | None] = (
        Notification.objects.filter(status=NotificationStatus.PENDING)
        .order_by("due_at")
        .values_list("due_at", flat=True)
        .first(),
        Delivery.objects.filter(status=DeliveryStatus.QUEUED)
        .order_by("next_attempt_at")
        .values_list("next_attempt_at", flat=True)
        .first(),
        Delivery.objects.filter(status=DeliveryStatus.SENDING, lease_until__isnull=False)
        .order_by("lease_until")
        .values_list("lease_until", flat=True)
        .first(),
    )
    times = [moment for moment in candidates if moment is not None]
    return min(times) if times else None


# --- the older seam -----------------------------------------------------------------------------------------


def send_message(*, channel: str, to: str, text: str, idempotency_key: str) -> None:
    """Send `text` to `to` through `channel` ("sms", …) at once, at most once per `idempotency_key`, through
    the configured channel — outside the outbox (no retry). Prefer `record_notification`.

    The key must name the event, not the person (it is logged): "otp:<challenge id>", never a phone number."""
    if not (channel and to and idempotency_key):
        raise ValueError("A message needs a channel, an address and an idempotency key.")
    from navbat.notify.channels.base import DeliveryFailure, Outgoing
    from navbat.notify.channels.registry import channel_for

    try:
        sent = channel_for(channel).send(
            Outgoing(channel=channel, to=to, text=text, idempotency_key=idempotency_key)
        )
    except DeliveryFailure as failure:
        logger.warning("message %s via %s failed: %s", idempotency_key, channel, failure.reason)
        raise
    logger.info("message %s via %s handed over %s", idempotency_key, channel, sent.provider_id or "")
