"""`navbat worker`: django-tasks' db_worker, after starting the rounds that keep themselves going.

Two chains run on the database queue: the outbox's deliveries (navbat.notify.tasks.deliver_due) and the
capacity sweep (navbat.booking.noshows.sweep_capacity: no-shows, unconfirmed bookings, the emergency
reserve's release and ended waitlist offers). Each run queues its successor, so they need one start; a
worker starting on a fresh database, or after the queue was emptied, gives them that start.
"""

from __future__ import annotations

from typing import Any

from django_tasks_db.management.commands.db_worker import Command as DatabaseWorker

from navbat.booking.noshows import schedule_sweep
from navbat.notify.tasks import schedule_delivery


class Command(DatabaseWorker):
    help = "Run the background worker: messages, no-shows, the reserve's release, waitlist offers."

    def handle(self, *args: Any, **options: Any) -> None:
        schedule_delivery()
        schedule_sweep()
        super().handle(*args, **options)
