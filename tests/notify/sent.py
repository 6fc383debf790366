"""A reminder or confirmation request that has gone out: the rows the worker leaves behind after sending."""

from __future__ import annotations

from datetime import datetime, timedelta

from navbat.booking.models import Appointment
from navbat.notify.models import Delivery, DeliveryStatus, Kind, Notification, NotificationStatus
from navbat.patients.models import Patient


def sent_message(
    appointment: Appointment,
    *,
    channel: str = "sms",
    address: str | None = None,
    kind: str = Kind.REMINDER,
    sent_at: datetime | None = None,
    recipient: Patient | None = None,
    hours_before: int = 24,
) -> Delivery:
    recipient = recipient or appointment.patient
    sent_at = sent_at or appointment.starts_at - timedelta(hours=hours_before)
    key = f"test-{kind}:{hours_before}h:{appointment.pk}:{int(appointment.starts_at.timestamp())}"
    notification, _ = Notification.objects.get_or_create(
        key=key,
        defaults={
            "clinic": appointment.clinic,
            "kind": kind,
            "appointment": appointment,
            "patient": appointment.patient,
            "due_at": sent_at,
            "status": NotificationStatus.PLANNED,
        },
    )
    return Delivery.objects.create(
        notification=notification,
        recipient=recipient,
        channel=channel,
        address=address if address is not None else str(recipient.phone),
        language=recipient.preferred_language,
        idempotency_key=f"{key}:{recipient.pk}:{channel}",
        status=DeliveryStatus.SENT,
        attempts=1,
        next_attempt_at=sent_at,
        sent_at=sent_at,
        text="reminder",
    )
