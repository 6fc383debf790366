"""Telegram: a small Bot API client over HTTPS (httpx) and the channel that sends messages with buttons.

Settings NAVBAT_TELEGRAM: TOKEN (without it Telegram is off), BOT_NAME (for t.me deep links), API_URL
(https://api.telegram.org; tests point it at a stub on loopback), WEBHOOK_SECRET.

Errors: 429, 5xx, timeouts and connection errors are temporary (retried later); 403 (the patient blocked
the bot or deleted his account) and 400 "chat not found" are permanent: the chat is unlinked and the worker
falls back to the next channel. The Bot API has no idempotency key: a message whose answer was lost in a
crash may reach the chat twice; nothing in this module logs a chat id or a text.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from django.conf import settings

from navbat.notify.channels.base import Button, Outgoing, PermanentFailure, Sent, TemporaryFailure

DEFAULT_API_URL = "https://api.telegram.org"
MAX_TEXT = 4096
MAX_CALLBACK_DATA = 64  # bytes
TIMEOUT = httpx.Timeout(10.0, connect=5.0)


@dataclass(frozen=True)
class TelegramConfig:
    token: str
    bot_name: str = ""
    api_url: str = DEFAULT_API_URL
    webhook_secret: str = ""


def telegram_config() -> TelegramConfig | None:
    """The bot's settings, or None when Telegram is off (no token)."""
    raw: Mapping[str, Any] = getattr(settings, "NAVBAT_TELEGRAM", {}) or {}
    token = str(raw.get("TOKEN") or "")
    if not token:
        return None
    return TelegramConfig(
        token=token,
        bot_name=str(raw.get("BOT_NAME") or "").lstrip("@"),
        api_url=str(raw.get("API_URL") or DEFAULT_API_URL).rstrip("/"),
        webhook_secret=str(raw.get("WEBHOOK_SECRET") or ""),
    )


class TelegramError(PermanentFailure):
    """The Bot API refused a call (4xx other than a blocked chat): retrying the same call will not help."""

    def __init__(self, reason: str, status: int) -> None:
        super().__init__(reason)
        self.status = status


class ChatUnreachable(PermanentFailure):
    """The bot may not write to this chat any more (blocked, deactivated, not found)."""


class TelegramApi:
    """Calls Bot API methods: POST <api_url>/bot<token>/<method> with a JSON body."""

    def __init__(self, config: TelegramConfig, *, client: httpx.Client | None = None) -> None:
        self.config = config
        self._client = client

    def call(
        self, method: str, payload: Mapping[str, Any] | None = None, *, timeout: float | None = None
    ) -> Any:
        """The method's `result`. Raises TemporaryFailure, ChatUnreachable or TelegramError."""
        url = f"{self.config.api_url}/bot{self.config.token}/{method}"
        request_timeout = httpx.Timeout(timeout + 10.0, connect=5.0) if timeout else TIMEOUT
        try:
            if self._client is not None:
                response = self._client.post(url, json=dict(payload or {}), timeout=request_timeout)
            else:
                response = httpx.post(url, json=dict(payload or {}), timeout=request_timeout)
        except httpx.TimeoutException:
            raise TemporaryFailure("Telegram did not answer in time") from None
        except httpx.HTTPError:
            raise TemporaryFailure("Telegram could not be reached") from None
        return _result(response)

    def send_message(
        self, *, chat_id: int, text: str, buttons: tuple[Button, ...] = (), disable_preview: bool = True
    ) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "chat_id": chat_id,
            "text": text[:MAX_TEXT],
            "link_preview_options": {"is_disabled": disable_preview},
        }
        keyboard = inline_keyboard(buttons)
        if keyboard:
            payload["reply_markup"] = {"inline_keyboard": keyboard}
        result: dict[str, Any] = self.call("sendMessage", payload)
        return result


def _result(response: httpx.Response) -> Any:
    status = response.status_code
    if status == 429:
        raise TemporaryFailure("Telegram rate limit")
    if status >= 500:
        raise TemporaryFailure(f"Telegram error {status}")
    try:
        body = response.json()
    except ValueError:
        raise TemporaryFailure(f"Telegram answered {status} without JSON") from None
    if status == 200 and isinstance(body, dict) and body.get("ok"):
        return body.get("result")
    description = str(body.get("description", "")) if isinstance(body, dict) else ""
    if status == 403 or "chat not found" in description.lower():
        raise ChatUnreachable("the patient blocked the bot or the chat is gone")
    raise TelegramError(f"Telegram refused the message ({status})", status)


def inline_keyboard(buttons: tuple[Button, ...]) -> list[list[dict[str, str]]]:
    """Answer buttons (callback data) on the first row, links (http/https data) each on a row below."""
    answers: list[dict[str, str]] = []
    links: list[list[dict[str, str]]] = []
    for button in buttons:
        if button.data.startswith(("https://", "http://")):
            links.append([{"text": button.label, "url": button.data}])
        else:
            data = button.data.encode()[:MAX_CALLBACK_DATA].decode(errors="ignore")
            answers.append({"text": button.label, "callback_data": data})
    return ([answers] if answers else []) + links


class TelegramChannel:
    """The "telegram" channel: `to` is the linked chat's id (TelegramLink.chat_id).

    A reminder or confirmation request given without buttons gets the confirm / cancel / move buttons of
    its delivery (navbat.notify.telegram.buttons_for_delivery); a "reschedule:<appointment>" button becomes
    a link to the signed move page."""

    def __init__(self, *, client: httpx.Client | None = None) -> None:
        self._client = client

    def send(self, message: Outgoing) -> Sent:
        config = telegram_config()
        if config is None:
            raise PermanentFailure("Telegram is not set up")
        try:
            chat_id = int(message.to)
        except ValueError:
            raise PermanentFailure("no Telegram chat") from None
        from navbat.notify.telegram import buttons_for_delivery, with_move_links

        buttons = with_move_links(message.buttons)
        if not buttons and message.delivery_id is not None:
            buttons = buttons_for_delivery(message.delivery_id)
        api = TelegramApi(config, client=self._client)
        try:
            result = api.send_message(chat_id=chat_id, text=message.text, buttons=buttons)
        except ChatUnreachable:
            from navbat.notify.telegram import unlink_chat

            unlink_chat(chat_id)
            raise
        message_id = result.get("message_id", "") if isinstance(result, dict) else ""
        # Telegram has no delivery reports: a message it accepted is in the chat.
        return Sent(provider_id=str(message_id), delivered=True)
