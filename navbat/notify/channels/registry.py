"""Which Channel sends a message of each channel name.

`settings.NAVBAT_CHANNELS` maps a channel name to a dotted path ({"sms": "navbat.notify.channels.sms.
SmsChannel", …}). When `settings.NAVBAT_NOTIFY_BACKEND` is set (development, the demo, tests) every channel
goes there instead: "console", "file" or "memory" (or the dotted path of a dev backend or channel) — all
but the call channel, whose tasks stay in our own database and reach nobody by themselves (the demo's
operators see them). A channel that is not configured, or cannot be loaded, fails permanently, so the
dispatcher falls back to the next one.
"""

from __future__ import annotations

import logging
from functools import cache

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string

from navbat.notify.channels.base import Channel, Outgoing, PermanentFailure, Sent

logger = logging.getLogger(__name__)

# Channels whose messages never leave the machine: not replaced by the dev backend.
LOCAL_CHANNELS = frozenset({"call"})

DEV_CHANNELS = {
    "console": "navbat.notify.channels.dev.ConsoleChannel",
    "file": "navbat.notify.channels.dev.FileChannel",
    "memory": "navbat.notify.channels.dev.MemoryChannel",
    # The older settings named the backends themselves.
    "navbat.notify.backends.ConsoleBackend": "navbat.notify.channels.dev.ConsoleChannel",
    "navbat.notify.backends.FileBackend": "navbat.notify.channels.dev.FileChannel",
    "navbat.notify.backends.MemoryBackend": "navbat.notify.channels.dev.MemoryChannel",
}


class Unconfigured:
    """The channel of a name nobody configured: every message fails for good (the next channel is tried)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def send(self, message: Outgoing) -> Sent:
        raise PermanentFailure(f"channel {self.name} is not configured")


def channel_for(name: str) -> Channel:
    """The Channel for `name` ("sms", "email", "telegram", "push", "call"), as configured now."""
    dev = getattr(settings, "NAVBAT_NOTIFY_BACKEND", "") or ""
    if dev and name not in LOCAL_CHANNELS:
        return _instance(DEV_CHANNELS.get(dev, dev), name)
    path = (getattr(settings, "NAVBAT_CHANNELS", {}) or {}).get(name)
    return _instance(path, name) if path else Unconfigured(name)


@cache
def _instance(path: str, name: str) -> Channel:
    """One instance per dotted path (gateways keep a connection and tokens); a test's settings override
    names another path, or clears this cache."""
    try:
        channel_class = import_string(path)
    except ImportError:
        logger.error("channel %s: cannot import %s", name, path)
        return Unconfigured(name)
    channel: Channel = channel_class()
    return channel


def forget_channels() -> None:
    _instance.cache_clear()


@receiver(setting_changed)
def _settings_changed(*, setting: str, **kwargs: object) -> None:
    """Channels read their settings when made: a test that changes them gets new ones."""
    if setting.startswith(("NAVBAT_", "EMAIL_")):
        forget_channels()
