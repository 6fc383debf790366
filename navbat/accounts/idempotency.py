"""How long the REST API keeps the first answer to a request sent with an `Idempotency-Key`
(accounts.models.IdempotencyRecord, booking.api). A client retries within minutes; a day is plenty, and an
answer names a patient's booking, so it is not kept for ever."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from navbat.accounts.models import IdempotencyRecord

KEEP_ANSWERS = timedelta(hours=24)


def forget_old_answers(*, now: datetime | None = None, older_than: timedelta = KEEP_ANSWERS) -> int:
    """Delete the kept answers older than `older_than`; a retry after that is a new request. Returns how
    many went. The capacity sweep (booking.noshows.sweep_capacity) calls it every round."""
    now = now or timezone.now()
    deleted, _by_model = IdempotencyRecord.objects.filter(created_at__lt=now - older_than).delete()
    return deleted
