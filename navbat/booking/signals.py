"""Schedules are edited in the admin, not through a booking service: new working time reaches the waitlist
from here. Extra hours saved for a dentist are offered to waiting patients once the change is committed."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from navbat.clinic.models import ScheduleException, ScheduleExceptionKind


@receiver(post_save, sender=ScheduleException, dispatch_uid="waitlist_extra_hours")
def offer_extra_hours_on_commit(
    sender: type[ScheduleException], instance: ScheduleException, **kwargs: Any
) -> None:
    if instance.kind != ScheduleExceptionKind.EXTRA:
        return

    def offer() -> None:
        from navbat.booking.waitlist import offer_extra_hours

        offer_extra_hours(exception=instance)

    transaction.on_commit(offer)
