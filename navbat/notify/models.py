"""The notification outbox and what hangs off it.

A `Notification` is an intent, written by a service in the same transaction as the change it is about
(booked, moved, cancelled, a reminder due later, …). The worker turns each into `Delivery` rows — one per
recipient and channel — and sends them. A delivery's `idempotency_key` is unique per (event, recipient,
channel) and travels with the message to the gateway, so that a message is never sent twice even when
the worker dies between sending and recording (DESIGN.md invariant 5).
"""

from __future__ import annotations

from datetime import time

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from navbat.booking.models import Appointment
from navbat.clinic.models import Clinic
from navbat.patients.models import ContactChannel, Language, Patient


class Kind(models.TextChoices):
    BOOKED = "booked", _("Appointment booked")
    MOVED = "moved", _("Appointment moved")
    CANCELLED = "cancelled", _("Appointment cancelled")
    REMINDER = "reminder", _("Reminder")
    CONFIRMATION = "confirmation", _("Confirmation request")
    OTP = "otp", _("Sign-in code")
    # Hooks for later issues: the waitlist, no-show follow-up and ratings.
    WAITLIST_OFFER = "waitlist_offer", _("Waitlist offer")
    NO_SHOW_FOLLOW_UP = "no_show_follow_up", _("No-show follow-up")
    FEEDBACK_REQUEST = "feedback_request", _("Feedback request")
    DRAW_NOT_WON = "draw_not_won", _("No time in the release draw")


class NotificationStatus(models.TextChoices):
    PENDING = "pending", _("Waiting")  # due later, or not yet planned
    PLANNED = "planned", _("Planned")  # its deliveries exist
    CANCELLED = "cancelled", _("Cancelled")  # no longer true (the visit was moved or cancelled)


class Notification(models.Model):
    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="+", verbose_name=_("clinic"))
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    # Names the event: "reminder:24h:<appointment>:<start>"; one row per key.
    key = models.CharField(_("event key"), max_length=120, unique=True)
    appointment = models.ForeignKey(
        Appointment,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notifications",
        verbose_name=_("appointment"),
    )
    patient = models.ForeignKey(
        Patient,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notifications",
        verbose_name=_("patient"),
    )
    due_at = models.DateTimeField(_("due at"))
    status = models.CharField(
        _("status"), max_length=10, choices=NotificationStatus.choices, default=NotificationStatus.PENDING
    )
    # Values the templates need beyond the appointment (an OTP code is never stored here: see Delivery.text).
    context = models.JSONField(_("context"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        indexes = [models.Index(fields=["status", "due_at"])]

    def __str__(self) -> str:
        return self.key


class DeliveryStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")  # claimed by a worker until lease_until
    SENT = "sent", _("Sent")  # the gateway accepted it
    DELIVERED = "delivered", _("Delivered")  # the gateway reported it delivered
    FAILED = "failed", _("Failed")
    SKIPPED = "skipped", _("Skipped")  # no consent, no address, or no longer relevant
    CANCELLED = "cancelled", _("Cancelled")


class Delivery(models.Model):
    notification = models.ForeignKey(
        Notification, on_delete=models.CASCADE, related_name="deliveries", verbose_name=_("notification")
    )
    # Who receives it: the patient, or a guardian for a child. NULL for messages to a bare phone (OTP).
    recipient = models.ForeignKey(
        Patient,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="deliveries",
        verbose_name=_("recipient"),
    )
    channel = models.CharField(_("channel"), max_length=10, choices=ContactChannel.choices)
    address = models.CharField(_("address"), max_length=500, blank=True)  # phone, e-mail, chat id, endpoint
    language = models.CharField(_("language"), max_length=2, choices=Language.choices)
    # Unique per (event, recipient, channel); sent to the gateway so that a retry is recognised there.
    idempotency_key = models.CharField(_("idempotency key"), max_length=200, unique=True)
    status = models.CharField(
        _("status"), max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.QUEUED
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"))
    lease_until = models.DateTimeField(_("claimed until"), null=True, blank=True)
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    text = models.TextField(_("text"), blank=True)
    provider_id = models.CharField(_("gateway message id"), max_length=100, blank=True, db_index=True)
    # Why it failed or was skipped, in words without personal data ("timeout", "no consent to SMS").
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    fallback_of = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="fallbacks",
        verbose_name=_("instead of"),
    )
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        indexes = [
            models.Index(fields=["status", "next_attempt_at"]),
            models.Index(fields=["channel", "created_at"]),
        ]

    def __str__(self) -> str:
        return self.idempotency_key


class MessageTemplate(models.Model):
    """An administrator's wording for one kind of message on one channel in one language.

    Without a row the built-in wording is used. Bodies are Django templates, checked on save."""

    clinic = models.ForeignKey(
        Clinic,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("clinic"),
        help_text=_("Empty: every clinic without its own wording."),
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    channel = models.CharField(_("channel"), max_length=10, choices=ContactChannel.choices)
    language = models.CharField(_("language"), max_length=2, choices=Language.choices)
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    body = models.TextField(_("text"))
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("updated by"),
    )

    class Meta:
        verbose_name = _("message template")
        verbose_name_plural = _("message templates")
        constraints = [
            models.UniqueConstraint(
                fields=["clinic", "kind", "channel", "language"],
                condition=models.Q(clinic__isnull=False),
                name="template_unique_per_clinic",
            ),
            models.UniqueConstraint(
                fields=["kind", "channel", "language"],
                condition=models.Q(clinic__isnull=True),
                name="template_unique_for_every_clinic",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.get_channel_display()} · {self.language}"


def default_channels() -> str:
    return "telegram,sms,call"


class NotifyPolicy(models.Model):
    """A clinic's rules for messages. A clinic without a row uses these defaults."""

    clinic = models.OneToOneField(
        Clinic, on_delete=models.CASCADE, related_name="notify_policy", verbose_name=_("clinic")
    )
    # The order in which channels are tried; the patient's preferred channel goes first when it is here.
    channels = models.CharField(_("channels, in order of fallback"), max_length=60, default=default_channels)
    reminder_hours = models.CharField(_("reminders, hours before the visit"), max_length=40, default="24,2")
    confirmation_hours = models.PositiveSmallIntegerField(
        _("ask for confirmation, hours before the visit"),
        default=48,
        validators=[MaxValueValidator(24 * 14)],
        help_text=_("0: never ask."),
    )
    quiet_from = models.TimeField(_("no SMS or calls from"), default=time(21))
    quiet_until = models.TimeField(_("no SMS or calls until"), default=time(8))
    max_attempts = models.PositiveSmallIntegerField(
        _("attempts per channel"), default=5, validators=[MinValueValidator(1), MaxValueValidator(20)]
    )

    class Meta:
        verbose_name = _("message rules")
        verbose_name_plural = _("message rules")

    def __str__(self) -> str:
        return str(self.clinic)


class TelegramLink(models.Model):
    """A patient's Telegram chat, linked by a one-time deep link (t.me/<bot>?start=<token>)."""

    patient = models.OneToOneField(
        Patient, on_delete=models.CASCADE, related_name="telegram", verbose_name=_("patient")
    )
    chat_id = models.BigIntegerField(_("chat"), unique=True)
    linked_at = models.DateTimeField(_("linked at"), auto_now_add=True)

    class Meta:
        verbose_name = _("Telegram link")
        verbose_name_plural = _("Telegram links")

    def __str__(self) -> str:
        return f"Telegram · {self.patient_id}"


class TelegramLinkToken(models.Model):
    """The one-time token of a deep link; only its SHA-256 is kept."""

    patient = models.ForeignKey(
        Patient, on_delete=models.CASCADE, related_name="+", verbose_name=_("patient")
    )
    digest = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField(_("expires at"))
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)

    class Meta:
        verbose_name = _("Telegram link token")
        verbose_name_plural = _("Telegram link tokens")

    def __str__(self) -> str:
        return f"Telegram token · {self.patient_id}"


class PushSubscription(models.Model):
    """A browser's web-push subscription (the service worker's PushSubscription.toJSON())."""

    patient = models.ForeignKey(
        Patient, on_delete=models.CASCADE, related_name="push_subscriptions", verbose_name=_("patient")
    )
    endpoint = models.URLField(_("endpoint"), max_length=500, unique=True)
    p256dh = models.CharField(max_length=200)
    auth = models.CharField(max_length=100)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("push subscription")
        verbose_name_plural = _("push subscriptions")

    def __str__(self) -> str:
        return f"push · {self.patient_id}"


class CallOutcome(models.TextChoices):
    OPEN = "open", _("To call")
    CONFIRMED = "confirmed", _("Confirmed")
    CANCELLED = "cancelled", _("Cancelled")
    NO_ANSWER = "no_answer", _("No answer")  # tried again later, up to NotifyPolicy.max_attempts
    DONE = "done", _("Told")  # a message without a question was passed on
    GAVE_UP = "gave_up", _("Gave up")


class CallTask(models.Model):
    """A person an operator should phone: the "call" channel's delivery, done by a human."""

    delivery = models.OneToOneField(
        Delivery, on_delete=models.CASCADE, related_name="call_task", verbose_name=_("delivery")
    )
    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="+", verbose_name=_("clinic"))
    outcome = models.CharField(
        _("outcome"), max_length=10, choices=CallOutcome.choices, default=CallOutcome.OPEN
    )
    attempts = models.PositiveSmallIntegerField(_("calls made"), default=0)
    call_after = models.DateTimeField(_("call after"))
    note = models.CharField(_("note"), max_length=300, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("operator"),
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("call task")
        verbose_name_plural = _("call tasks")
        indexes = [models.Index(fields=["clinic", "outcome", "call_after"])]

    def __str__(self) -> str:
        return f"call · {self.delivery_id}"


class ReplyAction(models.TextChoices):
    CONFIRM = "confirm", _("Confirm")
    CANCEL = "cancel", _("Cancel")
    RESCHEDULE = "reschedule", _("Reschedule")
    UNKNOWN = "", _("Not understood")


class InboundMessage(models.Model):
    """A patient's reply (SMS, Telegram): understood ones are acted on, the rest wait in the staff inbox."""

    clinic = models.ForeignKey(
        Clinic, on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("clinic")
    )
    channel = models.CharField(_("channel"), max_length=10, choices=ContactChannel.choices)
    sender = models.CharField(_("from"), max_length=200)
    patient = models.ForeignKey(
        Patient, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("patient")
    )
    appointment = models.ForeignKey(
        Appointment,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("appointment"),
    )
    text = models.TextField(_("text"), blank=True)
    action = models.CharField(_("understood as"), max_length=10, choices=ReplyAction.choices, blank=True)
    # Provider's id of the incoming message: a webhook retried by the gateway is recorded once.
    external_id = models.CharField(max_length=100, blank=True)
    received_at = models.DateTimeField(_("received at"), auto_now_add=True)
    handled_at = models.DateTimeField(_("handled at"), null=True, blank=True)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("handled by"),
    )

    class Meta:
        verbose_name = _("incoming message")
        verbose_name_plural = _("incoming messages")
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "external_id"],
                condition=~models.Q(external_id=""),
                name="inbound_once_per_external_id",
            )
        ]

    def __str__(self) -> str:
        return f"{self.channel} · {self.received_at:%Y-%m-%d %H:%M}"
