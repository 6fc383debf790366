"""The message channel of benchmarks/clinic_month.py: counts what the outbox sends, and keeps the last text
each phone received (the scalper group reads its sign-in codes from the phones it holds)."""

from __future__ import annotations

from collections import Counter
from typing import ClassVar

from navbat.notify.channels.base import Outgoing, Sent


class CountingChannel:
    """Every channel but "call" (NAVBAT_NOTIFY_BACKEND): accepted and delivered at once, nothing stored."""

    sent: ClassVar[Counter[str]] = Counter()
    inbox: ClassVar[dict[str, str]] = {}

    def send(self, message: Outgoing) -> Sent:
        self.sent[message.channel] += 1
        self.inbox[message.to] = message.text
        return Sent(provider_id=f"bench:{message.idempotency_key}"[:100], delivered=True)

    @classmethod
    def reset(cls) -> None:
        cls.sent.clear()
        cls.inbox.clear()
