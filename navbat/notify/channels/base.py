"""The one interface every channel implements (SMS gateways, e-mail, Telegram, web push, calls, dev backends).

A channel gets an `Outgoing` message and either returns `Sent` or raises `TemporaryFailure` (the worker
retries later with exponential backoff: 5xx, timeouts, connection errors) or `PermanentFailure` (no retry;
the worker falls back to the next channel: a rejected number, a blocked bot, an expired push endpoint).
The `idempotency_key` must reach the provider where the provider can use it, so that a retry after a crash
is recognised there rather than delivered twice.

Channels never log the address or the text (DESIGN.md invariant 3); a failure's `reason` is short words
without personal data, since it is stored and shown on the delivery dashboard.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Button:
    """An answer the patient can give with one tap (Telegram inline keyboards): `data` is "confirm:<id>"."""

    label: str
    data: str


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    mimetype: str


@dataclass(frozen=True)
class Outgoing:
    channel: str  # a patients.models.ContactChannel value
    to: str  # E.164 phone, e-mail address, Telegram chat id, push subscription id, …
    text: str
    idempotency_key: str
    language: str = "uz"
    subject: str = ""
    html: str = ""
    buttons: tuple[Button, ...] = ()
    attachments: tuple[Attachment, ...] = ()
    # Where the provider should post delivery reports for this message (absolute URL), when it can.
    report_url: str = ""
    delivery_id: int | None = None


@dataclass(frozen=True)
class Sent:
    provider_id: str = ""  # the gateway's id, matched by delivery reports
    delivered: bool = False  # True when accepting it is delivering it (console, file, a call already made)


class DeliveryFailure(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason[:200]


class TemporaryFailure(DeliveryFailure):
    """Try again later (5xx, timeout, connection refused, rate limited)."""


class PermanentFailure(DeliveryFailure):
    """Retrying will not help; fall back to the next channel."""


class Channel(Protocol):
    def send(self, message: Outgoing) -> Sent: ...
