"""The Telegram bot's side of navbat: linking a chat to a patient, and what the bot does with each update.

Linking: the signed-in patient asks for a one-time deep link t.me/<bot>?start=<token> (only the token's
SHA-256 is stored; it works once, for a day). Telegram opens the bot, the bot receives "/start <token>" and
links that chat to the patient (TelegramLink), answering in the patient's language. "/stop" unlinks.

Updates arrive by webhook (notify.telegram_views) or by long polling (`navbat telegram`); both hand each
update to `handle_update`. A button under a reminder (confirm, cancel: see BY_DELIVERY and BY_APPOINTMENT)
acts on that message's appointment through notify.replies, answers the button and edits the message to show
the outcome; "move" sends the signed link to the move page. Text from a linked chat goes to
notify.replies.receive_reply like an SMS would.

Nothing here logs a chat id, a name or a text.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from navbat.booking import links
from navbat.booking.models import Appointment
from navbat.booking.services import RESCHEDULABLE_STATUSES
from navbat.notify.channels.base import Button, DeliveryFailure
from navbat.notify.channels.telegram import TelegramApi, TelegramConfig, telegram_config
from navbat.notify.models import Delivery, InboundMessage, ReplyAction, TelegramLink, TelegramLinkToken
from navbat.notify.replies import ANSWERABLE_KINDS, parse_reply, receive_action, receive_reply
from navbat.patients.models import ContactChannel, Language, Patient

logger = logging.getLogger(__name__)

TOKEN_LIFETIME = timedelta(days=1)
LANGUAGES = frozenset(Language.values)
# Callback data of the answer buttons. Ours name the delivery: "c:<delivery>" confirm, "x:<delivery>" cancel,
# "r:<delivery>" move. The dispatcher's long forms name the appointment: "confirm:<appointment>",
# "cancel:<appointment>", "reschedule:<appointment>". Either way the chat must have been sent a message about
# that appointment, so a forged button does nothing.
MOVE = "reschedule"
BY_DELIVERY = {"c": ReplyAction.CONFIRM, "x": ReplyAction.CANCEL, "r": MOVE}
BY_APPOINTMENT = {"confirm": ReplyAction.CONFIRM, "cancel": ReplyAction.CANCEL, "reschedule": MOVE}
ALLOWED_UPDATES = ["message", "callback_query"]


def enabled() -> bool:
    return telegram_config() is not None


def api(config: TelegramConfig | None = None) -> TelegramApi:
    config = config or telegram_config()
    if config is None:
        raise RuntimeError("Telegram is not set up: NAVBAT_TELEGRAM_TOKEN is empty.")
    return TelegramApi(config)


# --- Linking ---


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_link_token(*, patient: Patient, now: datetime | None = None) -> str:
    """A new one-time token for `patient`'s deep link (the raw token is returned, never stored)."""
    now = now or timezone.now()
    token = secrets.token_urlsafe(24)  # 32 characters of [A-Za-z0-9_-]: what a /start parameter allows
    TelegramLinkToken.objects.filter(patient=patient, used_at__isnull=True, expires_at__lte=now).delete()
    TelegramLinkToken.objects.create(patient=patient, digest=_digest(token), expires_at=now + TOKEN_LIFETIME)
    return token


def deep_link(token: str, config: TelegramConfig | None = None) -> str:
    config = config or telegram_config()
    bot = config.bot_name if config is not None else ""
    return f"https://t.me/{bot}?start={token}"


def link_chat(*, token: str, chat_id: int, now: datetime | None = None) -> Patient | None:
    """Link `chat_id` to the patient of a valid, unused token; None if the token is unknown or expired.

    A token used again from the chat it linked (Telegram sent the update twice) answers the same patient."""
    now = now or timezone.now()
    if not token or len(token) > 64:
        return None
    with transaction.atomic():
        found = (
            TelegramLinkToken.objects.select_for_update()
            .select_related("patient")
            .filter(digest=_digest(token))
            .first()
        )
        if found is None:
            return None
        if found.used_at is not None:
            same_chat = TelegramLink.objects.filter(patient=found.patient, chat_id=chat_id).exists()
            return found.patient if same_chat else None
        if found.expires_at <= now:
            return None
        found.used_at = now
        found.save(update_fields=["used_at"])
        # One chat per patient and one patient per chat: the newest link wins.
        TelegramLink.objects.filter(chat_id=chat_id).exclude(patient=found.patient).delete()
        TelegramLink.objects.update_or_create(patient=found.patient, defaults={"chat_id": chat_id})
    return found.patient


def unlink_chat(chat_id: int) -> bool:
    """Forget a chat (the patient said /stop, or blocked the bot). True if it was linked."""
    deleted, _rows = TelegramLink.objects.filter(chat_id=chat_id).delete()
    return deleted > 0


def unlink_patient(patient: Patient) -> bool:
    deleted, _rows = TelegramLink.objects.filter(patient=patient).delete()
    return deleted > 0


def chat_of(patient: Patient) -> str:
    """The address of `patient` on the "telegram" channel (his chat id), or "" when not linked."""
    link = TelegramLink.objects.filter(patient=patient).first()
    return str(link.chat_id) if link is not None else ""


# --- Buttons under reminders ---


def buttons_for_delivery(delivery_id: int) -> tuple[Button, ...]:
    """Confirm / cancel / move for a reminder or confirmation request about an appointment; else none."""
    delivery = (
        Delivery.objects.select_related("notification__appointment")
        .filter(pk=delivery_id, notification__kind__in=ANSWERABLE_KINDS)
        .first()
    )
    if delivery is None or delivery.notification.appointment is None:
        return ()
    appointment = delivery.notification.appointment
    with translation.override(delivery.language):
        buttons = [
            Button("✅ " + _("I will come"), f"c:{delivery.pk}"),
            Button("❌ " + _("Cancel the visit"), f"x:{delivery.pk}"),
        ]
        # A link button where Telegram accepts the address; else a button that sends the link in the chat.
        move = _public_link(appointment) or f"r:{delivery.pk}"
        buttons.append(Button("🔁 " + _("Move to another time"), move))
    return tuple(buttons)


def with_move_links(buttons: tuple[Button, ...]) -> tuple[Button, ...]:
    """The dispatcher's "reschedule:<appointment>" button as a link to the signed move page, where Telegram
    accepts the address (the callback form otherwise: the bot then sends the link in the chat)."""
    changed = []
    for button in buttons:
        prefix, _colon, number = button.data.partition(":")
        if prefix == MOVE and number.isdigit():
            appointment = Appointment.objects.filter(pk=int(number)).first()
            url = _public_link(appointment) if appointment is not None else ""
            button = Button(button.label, url) if url else button
        changed.append(button)
    return tuple(changed)


def _public_link(appointment: Appointment) -> str:
    """The signed move link, absolute; "" when navbat has no public address Telegram would accept."""
    link = _move_link(appointment)
    host = urlsplit(link).hostname or ""
    if host in {"localhost", "127.0.0.1", "::1", "testserver"} or not host:
        return ""  # Telegram refuses buttons that point at a loopback address
    return link


def _move_link(appointment: Appointment) -> str:
    from navbat.notify.rendering import public_url

    token = links.appointment_token(appointment, links.Purpose.MOVE)
    return public_url() + reverse("book:link_move", kwargs={"token": token})


# --- Updates ---


def handle_update(update: Mapping[str, Any], *, client: TelegramApi | None = None) -> None:
    """Act on one update from the Bot API. Answers that fail to reach Telegram are dropped: what the update
    asked for is already recorded, and the patient sees the outcome on his next look."""
    bot = client or api()
    try:
        if isinstance(update.get("callback_query"), Mapping):
            _on_button(bot, update["callback_query"])
        elif isinstance(update.get("message"), Mapping):
            _on_message(bot, update["message"], update_id=update.get("update_id"))
    except DeliveryFailure as failure:
        logger.warning("Telegram answer not sent: %s", failure.reason)


def _on_message(bot: TelegramApi, message: Mapping[str, Any], *, update_id: object) -> None:
    chat = message.get("chat")
    text = message.get("text")
    if not isinstance(chat, Mapping) or not isinstance(text, str) or chat.get("type", "private") != "private":
        return
    chat_id = chat.get("id")
    if not isinstance(chat_id, int):
        return
    language = _language_of(message)
    command, _space, argument = text.strip().partition(" ")
    if command.split("@")[0] == "/start":
        _on_start(bot, chat_id, argument.strip(), language)
        return
    if command.split("@")[0] == "/stop":
        with translation.override(_chat_language(chat_id, language)):
            unlink_chat(chat_id)
            bot.send_message(chat_id=chat_id, text=_("Reminders will no longer come here."))
        return
    if not TelegramLink.objects.filter(chat_id=chat_id).exists():
        with translation.override(language):
            bot.send_message(chat_id=chat_id, text=_start_help())
        return
    external_id = f"u{update_id}" if isinstance(update_id, int) else ""
    reply = receive_reply(
        channel=ContactChannel.TELEGRAM, sender=str(chat_id), text=text, external_id=external_id
    )
    with translation.override(_chat_language(chat_id, language)):
        bot.send_message(chat_id=chat_id, text=_outcome(reply, parse_reply(text)))


def _on_start(bot: TelegramApi, chat_id: int, token: str, language: str) -> None:
    if not token:
        with translation.override(_chat_language(chat_id, language)):
            linked = TelegramLink.objects.filter(chat_id=chat_id).exists()
            bot.send_message(chat_id=chat_id, text=_linked_text() if linked else _start_help())
        return
    patient = link_chat(token=token, chat_id=chat_id)
    if patient is None:
        with translation.override(language):
            bot.send_message(
                chat_id=chat_id,
                text=_(
                    "This link is not valid or has expired. Open “My appointments” on the clinic's website "
                    "and press “Get reminders in Telegram” again."
                ),
            )
        return
    with translation.override(patient.preferred_language or language):
        bot.send_message(chat_id=chat_id, text=_linked_text())


def _linked_text() -> str:
    return _(
        "Done! Reminders of your appointments will come here. Answer them with the buttons under "
        "each reminder. Send /stop to turn them off."
    )


def _on_button(bot: TelegramApi, query: Mapping[str, Any]) -> None:
    query_id = str(query.get("id", ""))
    message = query.get("message")
    sender = query.get("from")
    chat_id = message.get("chat", {}).get("id") if isinstance(message, Mapping) else None
    if not isinstance(chat_id, int) and isinstance(sender, Mapping):
        chat_id = sender.get("id")
    if not isinstance(chat_id, int):
        return
    language = _chat_language(chat_id, _language_of(query))
    found = _button(str(query.get("data", "")), chat_id)
    with translation.override(language):
        if found is None:
            _answer(bot, query_id, _("This button no longer works."))
            return
        action, delivery = found
        appointment = delivery.notification.appointment
        assert appointment is not None
        if action == MOVE:
            _answer(bot, query_id, "")
            bot.send_message(chat_id=chat_id, text=_move_text(appointment), buttons=_move_button(appointment))
            return
        reply = receive_action(
            channel=ContactChannel.TELEGRAM,
            sender=str(chat_id),
            text=_label(ReplyAction(action)),
            action=ReplyAction(action),
            external_id=f"cb{query_id}"[:100] if query_id else "",
            appointment=appointment,
        )
        outcome = _outcome(reply, ReplyAction(action))
        _answer(bot, query_id, outcome)
        if isinstance(message, Mapping) and isinstance(message.get("message_id"), int):
            original = str(message.get("text", ""))
            bot.call(
                "editMessageText",
                {
                    "chat_id": chat_id,
                    "message_id": message["message_id"],
                    "text": (f"{original}\n\n{outcome}" if original else outcome)[:4096],
                    "reply_markup": {"inline_keyboard": []},
                },
            )


def _answer(bot: TelegramApi, query_id: str, text: str) -> None:
    payload = {"callback_query_id": query_id}
    if text:
        payload["text"] = text[:200]
    bot.call("answerCallbackQuery", payload)


def _button(data: str, chat_id: int) -> tuple[str, Delivery] | None:
    """What a button asks and the delivery it came with, if a message about that appointment was sent to
    this very chat."""
    prefix, _colon, number = data.partition(":")
    if not number.isdigit():
        return None
    sent_here = Delivery.objects.select_related("notification__appointment").filter(
        channel=ContactChannel.TELEGRAM, address=str(chat_id), notification__appointment__isnull=False
    )
    if prefix in BY_DELIVERY:
        delivery = sent_here.filter(pk=int(number)).first()
        return (BY_DELIVERY[prefix], delivery) if delivery is not None else None
    if prefix in BY_APPOINTMENT:
        delivery = sent_here.filter(notification__appointment_id=int(number)).order_by("-pk").first()
        return (BY_APPOINTMENT[prefix], delivery) if delivery is not None else None
    return None


def _move_text(appointment: Appointment) -> str:
    if appointment.status not in RESCHEDULABLE_STATUSES or appointment.starts_at <= timezone.now():
        return _("This visit can no longer be changed here. Please contact the clinic.")
    return _("Choose another time for your visit here: %(link)s") % {"link": _move_link(appointment)}


def _move_button(appointment: Appointment) -> tuple[Button, ...]:
    url = _public_link(appointment)
    if not url or appointment.status not in RESCHEDULABLE_STATUSES:
        return ()
    return (Button("🔁 " + _("Move to another time"), url),)


def _outcome(reply: InboundMessage, asked: ReplyAction) -> str:
    """What the patient is told about his answer (in the active language)."""
    if reply.handled_at is not None and reply.action == ReplyAction.CONFIRM:
        return "✅ " + _("Thank you! Your visit is confirmed.")
    if reply.handled_at is not None and reply.action == ReplyAction.CANCEL:
        return "❌ " + _(
            "Your visit is cancelled. Thank you for letting us know: the time is free for others."
        )
    if asked in (ReplyAction.CONFIRM, ReplyAction.CANCEL) and reply.appointment_id is not None:
        return _("This visit can no longer be changed here. Please contact the clinic.")
    return _("Thank you, your message has been passed on to the clinic.")


def _label(action: ReplyAction) -> str:
    return _("I will come") if action == ReplyAction.CONFIRM else _("Cancel the visit")


def _start_help() -> str:
    return _(
        "Hello! To get reminders of your appointments here, sign in on the clinic's website, open "
        "“My appointments” and press “Get reminders in Telegram”."
    )


def _language_of(item: Mapping[str, Any]) -> str:
    sender = item.get("from")
    code = str(sender.get("language_code") or "")[:2] if isinstance(sender, Mapping) else ""
    return code if code in LANGUAGES else "uz"


def _chat_language(chat_id: int, fallback: str) -> str:
    link = TelegramLink.objects.select_related("patient").filter(chat_id=chat_id).first()
    return (
        link.patient.preferred_language if link is not None and link.patient.preferred_language else fallback
    )


# --- Polling and the webhook ---


def poll_once(
    *, offset: int | None = None, timeout: int = 25, client: TelegramApi | None = None
) -> int | None:
    """Fetch and handle one batch of updates (long polling); the offset to ask for next time."""
    bot = client or api()
    payload: dict[str, Any] = {"timeout": timeout, "allowed_updates": ALLOWED_UPDATES}
    if offset is not None:
        payload["offset"] = offset
    updates = bot.call("getUpdates", payload, timeout=float(timeout))
    for update in updates if isinstance(updates, list) else []:
        if not isinstance(update, Mapping) or not isinstance(update.get("update_id"), int):
            continue
        try:
            handle_update(update, client=bot)
        except IntegrityError:
            logger.warning("Telegram update %s not handled: conflicting write", update["update_id"])
        offset = int(update["update_id"]) + 1
    return offset


def set_webhook(url: str, *, client: TelegramApi | None = None) -> None:
    """Tell Telegram to post updates to `url` (…/notify/telegram/<secret>/) with the secret header."""
    bot = client or api()
    secret = bot.config.webhook_secret
    if not secret:
        raise RuntimeError("NAVBAT_TELEGRAM_WEBHOOK_SECRET is empty: the webhook would accept anybody.")
    bot.call("setWebhook", {"url": url, "secret_token": secret, "allowed_updates": ALLOWED_UPDATES})


def delete_webhook(*, client: TelegramApi | None = None) -> None:
    """Long polling only works without a webhook."""
    (client or api()).call("deleteWebhook", {})
