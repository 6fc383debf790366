"""Channels for development, demos and tests: the console, a JSON-lines file, a list in memory.

They implement the one Channel interface over the older backends (navbat.notify.backends), so that every
channel — SMS, e-mail, Telegram, push, call — can be pointed at one of them by NAVBAT_NOTIFY_BACKEND, and
nothing leaves the machine. Like a real gateway they accept a repeated idempotency key without delivering
it twice: the answer is the same, the message is not written again.
"""

from __future__ import annotations

from navbat.notify.backends import Backend, ConsoleBackend, FileBackend, MemoryBackend, Message
from navbat.notify.channels.base import Outgoing, Sent


class BackendChannel:
    """A channel that hands each message to a dev backend; "delivered" at once."""

    name = "dev"

    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    def send(self, message: Outgoing) -> Sent:
        text = f"{message.subject}\n\n{message.text}" if message.subject else message.text
        if message.buttons:
            text += "\n" + " ".join(f"[{button.label}]" for button in message.buttons)
        self.backend.send(
            Message(
                channel=message.channel, to=message.to, text=text, idempotency_key=message.idempotency_key
            )
        )
        return Sent(provider_id=f"{self.name}:{message.idempotency_key}"[:100], delivered=True)


class ConsoleChannel(BackendChannel):
    """Printed to the server's standard output, marked as not sent (the demo)."""

    name = "console"

    def __init__(self) -> None:
        super().__init__(ConsoleBackend())


class FileChannel(BackendChannel):
    """One JSON line per message in NAVBAT_NOTIFY_FILE: readable by another process (the demo's worker)."""

    name = "file"

    def __init__(self) -> None:
        super().__init__(FileBackend())


class MemoryChannel(BackendChannel):
    """Tests: kept in MemoryBackend.outbox."""

    name = "memory"

    def __init__(self) -> None:
        super().__init__(MemoryBackend())
