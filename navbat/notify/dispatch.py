"""The worker's half of the outbox: plan due notifications, claim due deliveries, send, record the answer.

Claiming: a delivery is due when it is queued and its next attempt has come, or when a worker claimed it
(status sending) and its lease ran out — that worker was killed, or hangs. A claim sets status sending and
`lease_until` in one transaction: SELECT … FOR UPDATE SKIP LOCKED on PostgreSQL, so workers take different
rows; on SQLite every write transaction takes the database's write lock first (BEGIN IMMEDIATE), and the
UPDATE repeats the due condition, so a row is claimed once. A re-claimed delivery goes out with the same
idempotency key, which the gateway recognises: sent at least once here, delivered once there (DESIGN.md
invariant 5).

Answers: `Sent` → sent (or delivered); `TemporaryFailure` → another attempt after a growing delay, up to
the clinic's `max_attempts`, then failed; `PermanentFailure` → failed at once. A failed delivery falls back
to the recipient's next channel. Logs carry delivery ids, channels and reasons — never an address or a text.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from navbat.notify.channels.base import (
    Attachment,
    Button,
    DeliveryFailure,
    Outgoing,
    PermanentFailure,
    Sent,
    TemporaryFailure,
)
from navbat.notify.channels.registry import channel_for
from navbat.notify.models import Delivery, DeliveryStatus, Kind, Notification, NotificationStatus
from navbat.notify.rendering import appointment_context, patient_context, render_message, wordings_read_once
from navbat.notify.services import (
    due_notifications,
    fall_back,
    plan_deliveries,
    policies_read_once,
    policy_for,
    retry_at,
    still_relevant,
)
from navbat.patients.models import ContactChannel
from navbat.scheduling.messages import retry_delay

logger = logging.getLogger(__name__)

DEFAULT_LEASE_SECONDS = 120
DEFAULT_BATCH = 50
# Messages that can be answered with one tap, and the channels that show buttons.
ANSWERABLE = frozenset({Kind.REMINDER, Kind.CONFIRMATION})
BUTTON_CHANNELS = frozenset({ContactChannel.TELEGRAM, ContactChannel.PUSH})
# Messages that carry the visit as a calendar file by e-mail.
WITH_CALENDAR = frozenset({Kind.BOOKED, Kind.MOVED, Kind.REMINDER, Kind.CONFIRMATION})


def lease() -> timedelta:
    return timedelta(seconds=getattr(settings, "NAVBAT_NOTIFY_LEASE_SECONDS", DEFAULT_LEASE_SECONDS))


@dataclass(frozen=True)
class Outcome:
    planned: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    skipped: int = 0

    @property
    def work(self) -> int:
        return self.planned + self.sent + self.retried + self.failed + self.skipped


def dispatch_due(*, now: datetime | None = None, limit: int = DEFAULT_BATCH) -> int:
    """One round: plan up to `limit` due notifications, then claim and send up to `limit` due deliveries.
    Returns how many notifications and deliveries it handled (0: nothing was due)."""
    return dispatch_round(now=now, limit=limit).work


def dispatch_round(*, now: datetime | None = None, limit: int = DEFAULT_BATCH) -> Outcome:
    now = now or timezone.now()
    counts = {"sent": 0, "retried": 0, "failed": 0, "skipped": 0}
    with policies_read_once(), wordings_read_once():
        planned = plan_due(now=now, limit=limit)
        for delivery in _claimed(claim_due(now=now, limit=limit)):
            try:
                counts[_deliver(delivery, now=now)] += 1
            except Exception as error:  # left claimed: tried again when its lease runs out
                logger.exception("delivery %s: %s", delivery.pk, type(error).__name__)
    return Outcome(planned=planned, **counts)


def plan_due(*, now: datetime, limit: int) -> int:
    """Turn up to `limit` due notifications into deliveries, in one transaction, each once: they are
    re-read under lock with their status (PostgreSQL skips rows another worker holds; SQLite's write
    lock serialises workers), and each is planned in a savepoint of its own."""
    ids = due_notifications(now, limit)
    if not ids:
        return 0
    planned = 0
    with transaction.atomic():
        rows = (
            Notification.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("clinic", "appointment__clinic", "appointment__patient", "patient")
            .filter(pk__in=ids, status=NotificationStatus.PENDING)
            .order_by("due_at", "pk")
        )
        for notification in rows:
            try:
                with transaction.atomic():
                    plan_deliveries(notification, now=now)
                planned += 1
            except IntegrityError:  # a delivery key another worker wrote first: it planned this one
                logger.info("notification %s was planned by another worker", notification.pk)
            except Exception as error:  # one broken notification must not hold up the others
                logger.exception(
                    "notification %s cannot be planned: %s", notification.pk, type(error).__name__
                )
    return planned


def _due(now: datetime) -> Q:
    return Q(status=DeliveryStatus.QUEUED, next_attempt_at__lte=now) | Q(
        status=DeliveryStatus.SENDING, lease_until__lt=now
    )


def claim_due(*, now: datetime, limit: int) -> list[int]:
    """Claim up to `limit` due deliveries for this worker until now + lease(); their ids, oldest due first."""
    with transaction.atomic():
        ids = list(
            Delivery.objects.select_for_update(skip_locked=True)
            .filter(_due(now))
            .order_by("next_attempt_at", "pk")
            .values_list("pk", flat=True)[:limit]
        )
        if not ids:
            return []
        Delivery.objects.filter(_due(now), pk__in=ids).update(
            status=DeliveryStatus.SENDING, lease_until=now + lease(), updated_at=timezone.now()
        )
        # On PostgreSQL the rows are locked, on SQLite the database is: every id was claimed.
        return ids


def send_delivery_now(delivery_id: int) -> bool:
    """Claim and send one delivery at once (a sign-in code, right after its commit). False when it was not
    sent now (another worker has it, or it failed and waits for a retry)."""
    now = timezone.now()
    with transaction.atomic():
        claimed = Delivery.objects.filter(_due(now), pk=delivery_id).update(
            status=DeliveryStatus.SENDING, lease_until=now + lease(), updated_at=now
        )
    if not claimed:
        return False
    return deliver(delivery_id, now=now) == "sent"


def deliver(pk: int, *, now: datetime) -> str:
    """Send one claimed delivery and record the answer: "sent", "retried", "failed" or "skipped"."""
    found = _claimed([pk])
    return _deliver(found[0], now=now) if found else "skipped"


def _claimed(ids: list[int]) -> list[Delivery]:
    """The claimed deliveries among `ids`, with what sending them needs, in one query."""
    if not ids:
        return []
    rows = Delivery.objects.select_related(
        "notification__clinic",
        "notification__appointment__clinic",
        "notification__appointment__patient",
        "notification__appointment__service",
        "notification__appointment__dentist__user",
        "notification__appointment__chair",
        "recipient",
    ).filter(pk__in=ids, status=DeliveryStatus.SENDING)
    by_id = {row.pk: row for row in rows}
    return [by_id[pk] for pk in ids if pk in by_id]


def _deliver(delivery: Delivery, *, now: datetime) -> str:
    pk = delivery.pk
    if not still_relevant(delivery, now=now):
        _finish(delivery, status=DeliveryStatus.SKIPPED, reason="no longer relevant")
        return "skipped"
    try:
        outgoing, rendered = _outgoing(delivery)
    except Exception as error:  # a template that cannot be filled in: no retry will help
        logger.error("delivery %s: cannot render (%s)", pk, type(error).__name__)
        return _failed(delivery, "cannot render the message", now=now)
    try:
        sent = channel_for(delivery.channel).send(outgoing)
    except TemporaryFailure as failure:
        return _retry(delivery, failure, now=now, rendered=rendered)
    except PermanentFailure as failure:
        return _failed(delivery, failure.reason, now=now, rendered=rendered)
    except Exception as error:  # a bug or an unforeseen error of a channel: retried like a timeout
        logger.exception("delivery %s via %s: unexpected %s", pk, delivery.channel, type(error).__name__)
        unexpected = DeliveryFailure(f"error: {type(error).__name__}")
        return _retry(delivery, unexpected, now=now, rendered=rendered)
    _sent(delivery, sent, rendered=rendered)
    return "sent"


def _outgoing(delivery: Delivery) -> tuple[Outgoing, dict[str, str]]:
    """The message to hand to the channel, rendered now if it was not before; and the rendered fields to
    keep with the answer (so that a retry sends the same words)."""
    notification = delivery.notification
    appointment = notification.appointment
    html = ""
    rendered_fields: dict[str, str] = {}
    if not delivery.text or delivery.channel == ContactChannel.EMAIL:
        context: dict[str, object] = dict(notification.context)
        if appointment is not None:
            context = appointment_context(
                appointment,
                kind=notification.kind,
                language=delivery.language,
                recipient=delivery.recipient,
                extra=notification.context,
            )
        elif notification.patient is not None and notification.kind != Kind.OTP:
            context = patient_context(
                notification.patient,
                clinic=notification.clinic,
                language=delivery.language,
                recipient=delivery.recipient,
                extra=notification.context,
            )
        rendered = render_message(
            kind=notification.kind,
            channel=delivery.channel,
            language=delivery.language,
            context=context,
            clinic=notification.clinic,
        )
        html = rendered.html
        if not delivery.text:
            delivery.text, delivery.subject = rendered.text, rendered.subject[:200]
            rendered_fields = {"text": delivery.text, "subject": delivery.subject}
    outgoing = Outgoing(
        channel=delivery.channel,
        to=delivery.address,
        text=delivery.text,
        idempotency_key=delivery.idempotency_key,
        language=delivery.language,
        subject=delivery.subject,
        html=html,
        buttons=_buttons(delivery),
        attachments=_attachments(delivery),
        delivery_id=delivery.pk,
    )
    return outgoing, rendered_fields


def _buttons(delivery: Delivery) -> tuple[Button, ...]:
    notification = delivery.notification
    if (
        notification.kind not in ANSWERABLE
        or delivery.channel not in BUTTON_CHANNELS
        or notification.appointment_id is None
    ):
        return ()
    pk = notification.appointment_id
    with translation.override(delivery.language):
        return (
            Button(_("I will come"), f"confirm:{pk}"),
            Button(_("Cancel the visit"), f"cancel:{pk}"),
            Button(_("Another time"), f"reschedule:{pk}"),
        )


def _attachments(delivery: Delivery) -> tuple[Attachment, ...]:
    notification = delivery.notification
    appointment = notification.appointment
    if (
        delivery.channel != ContactChannel.EMAIL
        or appointment is None
        or notification.kind not in WITH_CALENDAR
    ):
        return ()
    from navbat.booking.calendar import CONTENT_TYPE, appointment_ics

    with translation.override(delivery.language):
        content = appointment_ics(appointment)
    return (Attachment("appointment.ics", content, CONTENT_TYPE),)


def _sent(delivery: Delivery, sent: Sent, *, rendered: dict[str, str]) -> None:
    at = timezone.now()
    status = DeliveryStatus.DELIVERED if sent.delivered else DeliveryStatus.SENT
    Delivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.SENDING).update(
        **rendered,
        status=status,
        provider_id=sent.provider_id[:100],
        sent_at=at,
        delivered_at=at if sent.delivered else None,
        attempts=F("attempts") + 1,
        lease_until=None,
        reason="",
        updated_at=at,
    )
    logger.info("delivery %s via %s: %s", delivery.pk, delivery.channel, status)


def _retry(delivery: Delivery, failure: DeliveryFailure, *, now: datetime, rendered: dict[str, str]) -> str:
    attempts = delivery.attempts + 1
    if attempts >= policy_for(delivery.notification.clinic).max_attempts:
        reason = f"{failure.reason} ({attempts} attempts)"
        return _failed(delivery, reason, now=now, attempts=attempts, rendered=rendered)
    later = retry_at(delivery, now + retry_delay(attempts), now=now)
    if later is None:
        reason = f"{failure.reason}; no time left before the visit"
        return _failed(delivery, reason, now=now, attempts=attempts, rendered=rendered)
    Delivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.SENDING).update(
        **rendered,
        status=DeliveryStatus.QUEUED,
        attempts=attempts,
        next_attempt_at=later,
        lease_until=None,
        reason=failure.reason,
        updated_at=timezone.now(),
    )
    logger.info("delivery %s via %s: retry %s (%s)", delivery.pk, delivery.channel, attempts, failure.reason)
    return "retried"


def _failed(
    delivery: Delivery,
    reason: str,
    *,
    now: datetime,
    attempts: int | None = None,
    rendered: dict[str, str] | None = None,
) -> str:
    """Failed for good: the next channel of the recipient, if one is left, takes over."""
    with transaction.atomic():
        done = Delivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.SENDING).update(
            **(rendered or {}),
            status=DeliveryStatus.FAILED,
            attempts=attempts if attempts is not None else F("attempts") + 1,
            lease_until=None,
            reason=reason[:200],
            updated_at=timezone.now(),
        )
        fallbacks = fall_back(delivery, now=now) if done else []
    logger.info(
        "delivery %s via %s failed (%s); fallback: %s",
        delivery.pk,
        delivery.channel,
        reason,
        ", ".join(f"{f.pk} {f.channel} {f.status}" for f in fallbacks) or "none",
    )
    return "failed"


def _finish(delivery: Delivery, *, status: str, reason: str) -> None:
    Delivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.SENDING).update(
        status=status, lease_until=None, reason=reason, updated_at=timezone.now()
    )
