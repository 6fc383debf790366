"""Delivery backends: where a message goes once the application has decided to send it.

Until the notifications issue brings real channels (SMS gateways, Telegram, e-mail) these are for
development, demos and tests. A backend receives the text and the address — it *is* the delivery channel —
so it may print or store them; the application's logs never see either (DESIGN.md invariant 3).
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Protocol

from django.conf import settings
from django.utils import timezone


@dataclass(frozen=True)
class Message:
    """One message to one address. `idempotency_key` names the event: the same key is delivered once."""

    channel: str
    to: str
    text: str
    idempotency_key: str
    created_at: datetime = field(default_factory=timezone.now)


class Backend(Protocol):
    def send(self, message: Message) -> bool:
        """Deliver the message; False when a message with its idempotency key was already delivered."""


class ConsoleBackend:
    """Development and demo: the message is printed to standard output, clearly marked as not sent.

    Written to stdout directly, not through logging: this is the delivery channel, not a log. Keys seen by
    this process are remembered so that a retried send does not print twice."""

    RULE = "=" * 72

    def __init__(self, stream: IO[str] | None = None) -> None:
        self._stream = stream
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def send(self, message: Message) -> bool:
        with self._lock:
            if message.idempotency_key in self._seen:
                return False
            self._seen.add(message.idempotency_key)
        stream = self._stream or sys.stdout
        stream.write(
            f"\n{self.RULE}\n"
            f"navbat DEV MESSAGE — printed here instead of being sent ({message.channel})\n"
            f"to:   {message.to}\n"
            f"key:  {message.idempotency_key}\n"
            f"{'-' * 72}\n"
            f"{message.text}\n"
            f"{self.RULE}\n"
        )
        stream.flush()
        return True


class FileBackend:
    """Development and demos with several processes: one JSON line per message in `NAVBAT_NOTIFY_FILE`
    (default var/outbox/messages.jsonl); a key already in the file is not written again."""

    def __init__(self, path: Path | str | None = None) -> None:
        self._path = Path(path) if path else None

    @property
    def path(self) -> Path:
        """Read from the settings at each use, so that a test may point it elsewhere."""
        if self._path is not None:
            return self._path
        configured = getattr(settings, "NAVBAT_NOTIFY_FILE", None)
        return Path(configured) if configured else Path(settings.VAR_DIR) / "outbox" / "messages.jsonl"

    def send(self, message: Message) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        record = asdict(message) | {"created_at": message.created_at.isoformat()}
        with self.path.open("a+", encoding="utf-8") as outbox, _locked(outbox):
            outbox.seek(0)
            if any(_key_of(line) == message.idempotency_key for line in outbox):
                return False
            outbox.write(json.dumps(record, ensure_ascii=False) + "\n")
        return True

    def messages(self) -> list[Message]:
        if not self.path.exists():
            return []
        with self.path.open(encoding="utf-8") as outbox:
            rows = [json.loads(line) for line in outbox if line.strip()]
        return [Message(**{**row, "created_at": datetime.fromisoformat(row["created_at"])}) for row in rows]


class MemoryBackend:
    """Tests: messages are kept in `MemoryBackend.outbox` (shared, like django.core.mail.outbox)."""

    outbox: list[Message] = []

    def send(self, message: Message) -> bool:
        if any(sent.idempotency_key == message.idempotency_key for sent in self.outbox):
            return False
        self.outbox.append(message)
        return True

    @classmethod
    def clear(cls) -> None:
        cls.outbox.clear()


def _key_of(line: str) -> str | None:
    try:
        key = json.loads(line).get("idempotency_key")
    except (ValueError, AttributeError):
        return None
    return key if isinstance(key, str) else None


@contextmanager
def _locked(file: IO[str]) -> Iterator[None]:
    """An exclusive lock on the file across processes (the demo runs several web workers), where the
    platform has one."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    fcntl.flock(file.fileno(), fcntl.LOCK_EX)
    try:
        yield
    finally:
        file.flush()
        os.fsync(file.fileno())
        fcntl.flock(file.fileno(), fcntl.LOCK_UN)
