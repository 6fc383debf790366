"""The notification interface: the one function the rest of navbat calls to send a message.

The full notification system (outbox, templates, channels, retries) is a later issue; this is its seam.
`send_message` hands the message to the backend named by `NAVBAT_NOTIFY_BACKEND` (a dotted path).
It logs that a message went out — channel and idempotency key only, never the address or the text.
"""

from __future__ import annotations

import logging
from functools import cache

from django.conf import settings
from django.utils.module_loading import import_string

from navbat.notify.backends import Backend, Message

logger = logging.getLogger(__name__)

DEFAULT_BACKEND = "navbat.notify.backends.ConsoleBackend"


def send_message(*, channel: str, to: str, text: str, idempotency_key: str) -> None:
    """Send `text` to `to` through `channel` ("sms", …), at most once per `idempotency_key`.

    Callers inside a transaction should call this from `transaction.on_commit`. The key must name the
    event, not the person (it is logged): "otp:<challenge id>", never a phone number."""
    if not (channel and to and idempotency_key):
        raise ValueError("A message needs a channel, an address and an idempotency key.")
    message = Message(channel=channel, to=to, text=text, idempotency_key=idempotency_key)
    delivered = backend().send(message)
    logger.info(
        "message %s via %s: %s", "handed over" if delivered else "already sent", channel, idempotency_key
    )


def backend() -> Backend:
    """The configured backend; one instance per dotted path, so a test's settings override takes effect."""
    return _backend(getattr(settings, "NAVBAT_NOTIFY_BACKEND", DEFAULT_BACKEND))


@cache
def _backend(path: str) -> Backend:
    backend_class = import_string(path)
    instance: Backend = backend_class()
    return instance
