"""Patients' replies to reminders and confirmation requests: "1" confirms, "2" cancels, the rest is for staff.

`parse_reply` understands a reply by itself (pure, no database). `receive_reply` records every incoming
message as an `InboundMessage` and acts on the ones it understands: a confirmation sets the appointment's
confirmed_at, a cancellation cancels it at once through booking.services (the slot is free for the next
person at that moment; booking.services also records the CANCELLED notification that later issues route to
the waitlist). A reply that is not understood, or that cannot be matched to an upcoming appointment, is kept
unhandled and waits in the staff inbox.

A reply is matched to the appointment of the latest reminder or confirmation request sent to its sender on
the same channel (an SMS from +998…: the deliveries whose address is that number) whose appointment is still
ahead and pending or booked. Matching is deliberately strict: a wrong cancellation costs a patient his visit,
while an unmatched reply costs an operator a glance.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime

import phonenumbers
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from navbat.booking.models import Appointment
from navbat.booking.services import CONFIRMABLE_STATUSES, cancel_appointment, confirm_appointment
from navbat.booking.statuses import Status
from navbat.errors import DomainError
from navbat.notify.models import (
    Delivery,
    DeliveryStatus,
    InboundMessage,
    Kind,
    ReplyAction,
    TelegramLink,
)
from navbat.patients.models import ContactChannel, Patient

# Kinds of message a patient answers with "1"/"2".
ANSWERABLE_KINDS = (Kind.REMINDER, Kind.CONFIRMATION)
SENT_STATUSES = (DeliveryStatus.SENT, DeliveryStatus.DELIVERED)
PHONE_CHANNELS = frozenset({ContactChannel.SMS, ContactChannel.CALL})

CANCEL_REASON = _("Cancelled by the patient's reply (%(channel)s)")

# Whole replies, after normalising (lower case, one kind of apostrophe, no punctuation or emoji around).
CONFIRM_WORDS = frozenset(
    {
        "1",
        # Uzbek (Latin and Cyrillic)
        "ha",
        "xa",
        "ha albatta",
        "albatta",
        "boraman",
        "kelaman",
        "tasdiqlayman",
        "ҳа",
        "ха",
        "бораман",
        "келаман",
        # Russian
        "да",
        "ок",
        "окей",
        "приду",
        "да приду",
        "подтверждаю",
        "буду",
        "да буду",
        # English
        "yes",
        "y",
        "ok",
        "okay",
        "confirm",
        "i will come",
        "i'll come",
    }
)
CANCEL_WORDS = frozenset(
    {
        "2",
        # Uzbek (Latin and Cyrillic)
        "yo'q",
        "yoq",
        "yuq",
        "yo'q kelolmayman",
        "kelolmayman",
        "kela olmayman",
        "bormayman",
        "bekor",
        "bekor qilish",
        "bekor qiling",
        "йўқ",
        "йук",
        "йуқ",
        "келолмайман",
        "бекор",
        # Russian
        "нет",
        "не приду",
        "нет не приду",
        "не смогу",
        "нет не смогу",
        "отмена",
        "отменить",
        "отмените",
        # English
        "no",
        "n",
        "cancel",
        "i can't come",
        "i cannot come",
    }
)

# Every way phones write the Uzbek apostrophe (oʻ, gʻ) and the tutuq belgisi: one ASCII apostrophe.
_APOSTROPHES = str.maketrans(dict.fromkeys("‘’ʻʼ`´ʹ′", "'"))
_SPACES = re.compile(r"\s+")


def normalise_reply(text: str) -> str:
    """Lower case, apostrophes unified, punctuation, symbols and emoji dropped, spaces collapsed."""
    text = unicodedata.normalize("NFC", text).translate(_APOSTROPHES).lower()
    kept = "".join(char if (char == "'" or unicodedata.category(char)[0] in "LN") else " " for char in text)
    return _SPACES.sub(" ", kept).strip(" '")


def parse_reply(text: str) -> ReplyAction:
    """What a reply asks for: "1", "ha", "да", "yes", "ок" … confirm; "2", "yo'q", "нет", "no" … cancel;
    anything else is not understood (ReplyAction.UNKNOWN) and goes to a person."""
    words = normalise_reply(text[:200])
    if words in CONFIRM_WORDS:
        return ReplyAction.CONFIRM
    if words in CANCEL_WORDS:
        return ReplyAction.CANCEL
    return ReplyAction.UNKNOWN


def normalise_sender(channel: str, sender: str) -> str:
    """The sender as deliveries store addresses: E.164 for phones ("998901234567" → "+998901234567")."""
    sender = sender.strip()
    if channel not in PHONE_CHANNELS:
        return sender
    digits = re.sub(r"[^\d+]", "", sender)
    candidate = digits if digits.startswith("+") else "+" + digits
    try:
        number = phonenumbers.parse(candidate, None)
    except phonenumbers.NumberParseException:
        return sender
    if not phonenumbers.is_possible_number(number):
        return sender
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def latest_answerable_delivery(*, channel: str, sender: str, now: datetime) -> Delivery | None:
    """The latest reminder or confirmation request sent to `sender` on `channel` whose appointment is ahead
    and still pending or booked."""
    return (
        Delivery.objects.filter(
            channel=channel,
            address=sender,
            status__in=SENT_STATUSES,
            notification__kind__in=ANSWERABLE_KINDS,
            notification__appointment__starts_at__gt=now,
            notification__appointment__status__in=CONFIRMABLE_STATUSES,
        )
        .select_related("notification__appointment", "recipient")
        .order_by(F("sent_at").desc(nulls_last=True), "-pk")
        .first()
    )


def receive_reply(
    *,
    channel: str,
    sender: str,
    text: str,
    external_id: str = "",
    appointment: Appointment | None = None,
    now: datetime | None = None,
) -> InboundMessage:
    """Record a patient's reply and act on it when it is understood and matches an upcoming appointment.

    A message the provider sends again (same channel and external_id) is recorded and acted on once: the
    first record is returned. When the reply was acted on, the message has its action and handled_at;
    otherwise its action is UNKNOWN and it waits in the staff inbox."""
    return receive_action(
        channel=channel,
        sender=sender,
        text=text,
        action=parse_reply(text),
        external_id=external_id,
        appointment=appointment,
        now=now,
    )


def receive_action(
    *,
    channel: str,
    sender: str,
    text: str,
    action: ReplyAction,
    external_id: str = "",
    appointment: Appointment | None = None,
    now: datetime | None = None,
) -> InboundMessage:
    """As receive_reply, for an answer already understood (a Telegram button): record it and act on it."""
    now = now or timezone.now()
    sender = normalise_sender(channel, sender)
    external_id = external_id[:100]
    if external_id:
        earlier = InboundMessage.objects.filter(channel=channel, external_id=external_id).first()
        if earlier is not None:
            return earlier
    patient: Patient | None = None
    if appointment is None:
        delivery = latest_answerable_delivery(channel=channel, sender=sender, now=now)
        if delivery is not None:
            appointment = delivery.notification.appointment
            patient = delivery.recipient
    if patient is None:
        patient = _patient_of(channel, sender, appointment)
    message = InboundMessage(
        clinic_id=appointment.clinic_id if appointment is not None else None,
        channel=channel,
        sender=sender[:200],
        patient=patient,
        appointment=appointment,
        text=text[:2000],
        action=ReplyAction.UNKNOWN,
        external_id=external_id,
    )
    try:
        with transaction.atomic():
            message.save()
            if appointment is not None and _act(action, appointment, channel=channel, now=now):
                # Understood and done. Anything else is the staff's: the inbox lists what the machine did not
                # act on (a "2" from an unknown number, a "1" for a visit cancelled meanwhile, …).
                message.action = action
                message.handled_at = now
                message.save(update_fields=["action", "handled_at"])
    except IntegrityError:
        # The same external message, recorded meanwhile by another request: that one acted on it.
        earlier = InboundMessage.objects.filter(channel=channel, external_id=external_id).first()
        if earlier is None:
            raise
        return earlier
    return message


def _act(action: ReplyAction, appointment: Appointment, *, channel: str, now: datetime) -> bool:
    """Confirm or cancel; True also when it already is (a button pressed twice). False when the appointment
    can no longer be (it started, was cancelled before a "1", …)."""
    if action == ReplyAction.CANCEL and appointment.status == Status.CANCELLED:
        return True
    if appointment.starts_at <= now:
        return False
    try:
        if action == ReplyAction.CONFIRM:
            confirm_appointment(appointment=appointment, via=_channel_label(channel), now=now)
            return True
        if action == ReplyAction.CANCEL:
            if appointment.status not in CONFIRMABLE_STATUSES:
                return False
            cancel_appointment(
                appointment=appointment,
                reason=str(CANCEL_REASON % {"channel": _channel_label(channel)}),
            )
            return True
    except DomainError:
        return False
    return False


def _channel_label(channel: str) -> str:
    try:
        return str(ContactChannel(channel).label)
    except ValueError:
        return channel


def _patient_of(channel: str, sender: str, appointment: Appointment | None) -> Patient | None:
    """Who wrote, for the staff inbox: the Telegram chat's patient, or the one patient with that phone."""
    if channel == ContactChannel.TELEGRAM:
        try:
            chat_id = int(sender)
        except ValueError:
            return None
        link = TelegramLink.objects.select_related("patient").filter(chat_id=chat_id).first()
        return link.patient if link is not None else None
    if channel in PHONE_CHANNELS and sender.startswith("+"):
        found = list(Patient.objects.filter(phone=sender, merged_into__isnull=True)[:2])
        if len(found) == 1:
            return found[0]
        if appointment is not None:
            return appointment.patient
    return None
