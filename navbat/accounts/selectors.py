"""Reads about sign-in security."""

from __future__ import annotations

from datetime import datetime, timedelta

from axes.models import AccessAttempt
from django.db.models import Max
from django.utils import timezone


def lockout_ends_at(*, username: str | None, ip_address: str | None, cool_off: timedelta) -> datetime:
    """When a locked-out sign-in (this username from this address) may be tried again: the lock lasts
    `cool_off` from the latest failed attempt, since every attempt during the lock starts it again."""
    latest = AccessAttempt.objects.filter(username=username, ip_address=ip_address).aggregate(
        latest=Max("attempt_time")
    )["latest"]
    return (latest or timezone.now()) + cool_off
