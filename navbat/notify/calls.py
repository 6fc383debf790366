"""Call tasks: the "call" channel's deliveries, made by a person in the operator console.

The worker hands a call delivery to `channels.call.CallChannel`, which opens a `CallTask` (and the delivery
stays "sent": a person still has to phone). An operator phones the patient and records what happened with
`record_call_outcome`:
- confirmed: the visit is confirmed (booking.services.confirm_appointment), the delivery delivered;
- cancelled: the visit is cancelled at once ("cancelled on the phone"), which frees its time; delivered;
- no answer: another try later (RETRY_AFTER, moved out of the clinic's quiet hours); after the clinic's
  `max_attempts` calls, or when the next try would come after the visit began, the task is given up and
  the delivery failed;
- done (told): a message without a question was passed on; delivered.
Every outcome is audited: a call is a read and often a change of a patient's data.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from navbat.accounts.audit import Actor, record
from navbat.accounts.models import AuditAction
from navbat.booking.models import Appointment
from navbat.booking.statuses import Status
from navbat.clinic.models import Clinic
from navbat.errors import DomainError
from navbat.notify.models import CallOutcome, CallTask, Delivery, DeliveryStatus, Kind, NotifyPolicy
from navbat.notify.services import policy_for
from navbat.scheduling.messages import QuietHours

# How long after an unanswered call to try again (then moved out of quiet hours).
RETRY_AFTER = timedelta(hours=1)
# What an operator may record; OPEN and GAVE_UP are states, not outcomes.
OUTCOMES = frozenset({CallOutcome.CONFIRMED, CallOutcome.CANCELLED, CallOutcome.NO_ANSWER, CallOutcome.DONE})
# The messages that ask the patient something: the call ends with his answer (confirm or cancel).
QUESTIONS = frozenset({Kind.REMINDER, Kind.CONFIRMATION})
CANCEL_REASON = "cancelled on the phone"


class CallErrorCode(StrEnum):
    NOT_OPEN = "call_not_open"
    UNKNOWN_OUTCOME = "unknown_outcome"
    NO_APPOINTMENT = "no_appointment"


def outside_quiet_hours(moment: datetime, *, clinic: Clinic, policy: NotifyPolicy | None = None) -> datetime:
    """`moment`, or the end of the clinic's quiet hours if it falls in them (no calls at night)."""
    policy = policy or policy_for(clinic)
    period = QuietHours(policy.quiet_from, policy.quiet_until).period_of(moment, clinic.tz)
    return moment if period is None else period[1]


def open_call_task(*, delivery: Delivery, now: datetime | None = None) -> CallTask:
    """The call task of a call delivery, made once (the worker may hand the same delivery over again)."""
    now = now or timezone.now()
    clinic = delivery.notification.clinic
    task, _created = CallTask.objects.get_or_create(
        delivery=delivery,
        defaults={"clinic": clinic, "call_after": outside_quiet_hours(now, clinic=clinic)},
    )
    return task


def record_call_outcome(
    *, task: CallTask, outcome: str, actor: Actor, note: str = "", now: datetime | None = None
) -> CallTask:
    """What came of a call, recorded by the operator who made it (see the module's docstring)."""
    if outcome not in OUTCOMES:
        raise DomainError(CallErrorCode.UNKNOWN_OUTCOME, _("Choose what came of the call."))
    now = now or timezone.now()
    with transaction.atomic():
        current = (
            CallTask.objects.select_for_update(of=("self",))
            .select_related("clinic", "delivery__notification__appointment")
            .get(pk=task.pk)
        )
        if current.outcome != CallOutcome.OPEN:
            raise DomainError(
                CallErrorCode.NOT_OPEN,
                _("This call has already been recorded: “%(outcome)s”.")
                % {"outcome": CallOutcome(current.outcome).label},
            )
        delivery = current.delivery
        appointment = delivery.notification.appointment
        current.attempts += 1
        current.note = note.strip()[:300]
        current.done_by = actor.user
        if outcome == CallOutcome.NO_ANSWER:
            _no_answer(current, delivery, now)
        else:
            if outcome in (CallOutcome.CONFIRMED, CallOutcome.CANCELLED):
                _answer(appointment, outcome, actor, now)
            current.outcome = outcome
            _delivery_ends(delivery, DeliveryStatus.DELIVERED, now)
        current.save()
        record(
            actor,
            AuditAction.UPDATE,
            object_type="call_task",
            object_id=current.pk,
            patient_id=delivery.recipient_id,
            fields=("outcome", "note") if current.note else ("outcome",),
            note=f"call {current.outcome}",
        )
    task.refresh_from_db()
    return task


def _answer(appointment: Appointment | None, outcome: str, actor: Actor, now: datetime) -> None:
    """The patient's answer on the phone, applied to his visit."""
    if appointment is None:
        raise DomainError(CallErrorCode.NO_APPOINTMENT, _("This message is not about a visit."))
    # Imported here: booking.services hooks into the notification services, which may import this module.
    from navbat.booking import services as booking

    if outcome == CallOutcome.CONFIRMED:
        booking.confirm_appointment(appointment=appointment, via="call", actor=actor.user, now=now)
    elif appointment.status != Status.CANCELLED:  # not already cancelled meanwhile (by a reply, say)
        booking.cancel_appointment(appointment=appointment, actor=actor.user, reason=CANCEL_REASON)


def _no_answer(task: CallTask, delivery: Delivery, now: datetime) -> None:
    """Try again later (out of the quiet hours), or give up — after the clinic's number of attempts, or when
    the next try would come after the visit has begun — and the delivery has failed."""
    policy = policy_for(task.clinic)
    again = outside_quiet_hours(now + RETRY_AFTER, clinic=task.clinic, policy=policy)
    appointment = delivery.notification.appointment
    too_late = appointment is not None and again >= appointment.starts_at
    if task.attempts >= policy.max_attempts or too_late:
        task.outcome = CallOutcome.GAVE_UP
        calls = f"{task.attempts} call" if task.attempts == 1 else f"{task.attempts} calls"
        reason = f"no answer after {calls}" + (" before the visit" if too_late else "")
        _delivery_ends(delivery, DeliveryStatus.FAILED, now, reason=reason)
        return
    task.outcome = CallOutcome.OPEN
    task.call_after = again


def _delivery_ends(delivery: Delivery, status: str, now: datetime, reason: str = "") -> None:
    fields = {"status": status, "updated_at": now, "lease_until": None}
    if status == DeliveryStatus.DELIVERED:
        fields["delivered_at"] = now
    if reason:
        fields["reason"] = reason
    Delivery.objects.filter(pk=delivery.pk).update(**fields)
