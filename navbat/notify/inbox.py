"""The staff inbox: patients' replies the machine did not understand, read and dealt with by a person.

A registrar or an operator reads the reply and either only marks it handled (he phoned back, or nothing was
asked), or does what it says to the visit it answers: confirm it, or cancel it (the time is freed at once).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from navbat.accounts.audit import Actor, record
from navbat.accounts.models import AuditAction
from navbat.booking.statuses import Status
from navbat.errors import DomainError
from navbat.notify.models import InboundMessage, ReplyAction

CANCEL_REASON = "cancelled by reply"


class InboxErrorCode(StrEnum):
    ALREADY_HANDLED = "already_handled"
    NO_APPOINTMENT = "no_appointment"
    UNKNOWN_STEP = "unknown_step"


class Step(StrEnum):
    HANDLED = "handled"
    CONFIRM = "confirm"
    CANCEL = "cancel"


def handle_reply(
    *, message: InboundMessage, step: str, actor: Actor, now: datetime | None = None
) -> InboundMessage:
    """Mark a reply handled; with CONFIRM or CANCEL, first confirm or cancel the visit it answers."""
    if step not in {s.value for s in Step}:
        raise DomainError(InboxErrorCode.UNKNOWN_STEP, _("Choose what to do with the reply."))
    now = now or timezone.now()
    with transaction.atomic():
        current = InboundMessage.objects.select_for_update().get(pk=message.pk)
        if current.handled_at is not None:
            raise DomainError(InboxErrorCode.ALREADY_HANDLED, _("Somebody has already handled this reply."))
        if step != Step.HANDLED:
            _act_on_visit(current, Step(step), actor, now)
        current.handled_at = now
        current.handled_by = actor.user
        current.save(update_fields=["handled_at", "handled_by", "action"])
        record(
            actor,
            AuditAction.UPDATE,
            object_type="inbound_message",
            object_id=current.pk,
            patient_id=current.patient_id,
            fields=("handled_at",) if step == Step.HANDLED else ("handled_at", "appointment"),
            note=f"reply {step}",
        )
    return current


def _act_on_visit(message: InboundMessage, step: Step, actor: Actor, now: datetime) -> None:
    appointment = message.appointment
    if appointment is None:
        raise DomainError(InboxErrorCode.NO_APPOINTMENT, _("This reply is not about a visit."))
    # Imported here: booking.services hooks into the notification services.
    from navbat.booking import services as booking

    if step == Step.CONFIRM:
        booking.confirm_appointment(appointment=appointment, via=message.channel, actor=actor.user, now=now)
        message.action = ReplyAction.CONFIRM
    else:
        if appointment.status != Status.CANCELLED:
            booking.cancel_appointment(appointment=appointment, actor=actor.user, reason=CANCEL_REASON)
        message.action = ReplyAction.CANCEL
