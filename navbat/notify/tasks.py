"""The worker's task: deliver what is due, then come back when the next thing is.

`deliver_due` runs on the django-tasks database backend (`navbat worker`, i.e. db_worker). Each run first
enqueues a successor a little later (heartbeat()), so that the chain survives a worker killed mid-run —
whatever that worker claimed is claimed again once its lease runs out — then sends for up to RUN_BUDGET,
then enqueues itself for the next due moment. `schedule_delivery` enqueues a run unless one is already
waiting to start by then, so the queue holds one or two runs, not one per message.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone
from django_tasks import task

from navbat.notify.dispatch import dispatch_due
from navbat.notify.services import next_due_time

HEARTBEAT_SECONDS = 30
KEEP_RUNS = timedelta(days=1)  # failed runs stay, for whoever looks into them
RUN_BUDGET = 10.0  # seconds of sending per run: other tasks get the worker in between


@task()
def deliver_due() -> int:
    """Send what is due; returns how many notifications and deliveries were handled."""
    queued = _on_the_database_queue()  # else (an immediate backend) nothing is run later: no successors
    if queued:
        schedule_delivery(at=timezone.now() + heartbeat())
    handled = 0
    started = time.monotonic()
    while time.monotonic() - started < RUN_BUDGET:
        done = dispatch_due()
        handled += done
        if not done:
            break
    upcoming = next_due_time(timezone.now()) if queued else None
    if upcoming is not None:
        schedule_delivery(at=upcoming)
    forget_old_runs()
    return handled


def _on_the_database_queue() -> bool:
    from django_tasks_db.backend import DatabaseBackend

    return isinstance(deliver_due.get_backend(), DatabaseBackend)


def heartbeat() -> timedelta:
    """How soon a run's successor comes, at the latest: also how long a killed run's work may wait."""
    return timedelta(seconds=getattr(settings, "NAVBAT_NOTIFY_HEARTBEAT_SECONDS", HEARTBEAT_SECONDS))


def forget_old_runs(*, older_than: timedelta = KEEP_RUNS, task_path: str | None = None) -> int:
    """The queue keeps a row per run (one every heartbeat): finished runs of this task (or of the chained
    task at `task_path`) go after a while."""
    if not _on_the_database_queue():
        return 0
    from django_tasks.base import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    deleted, _by_model = DBTaskResult.objects.filter(
        task_path=task_path or deliver_due.module_path,
        status=TaskResultStatus.SUCCESSFUL,
        finished_at__lt=timezone.now() - older_than,
    ).delete()
    return deleted


def schedule_delivery(*, at: datetime | None = None) -> None:
    """Have `deliver_due` run at `at` (now by default), unless a run is already waiting to start by then."""
    schedule_deliveries(() if at is None else (at,))


def schedule_deliveries(due: Iterable[datetime]) -> None:
    """Have `deliver_due` run when each of `due` comes (now when `due` is empty; times already past mean
    now), unless a run is already waiting to start by then. One query, and at most one run enqueued: the
    earliest time not covered covers the later ones too."""
    now = timezone.now()
    earliest = min((max(at, now) for at in due), default=now)
    if not _on_the_database_queue():  # another backend (immediate, dummy): only a run now
        if earliest <= now:
            deliver_due.enqueue()
        return
    from django_tasks.base import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    waiting = DBTaskResult.objects.filter(
        status=TaskResultStatus.READY, task_path=deliver_due.module_path, run_after__lte=earliest
    )
    if waiting.exists():
        return
    deliver_due.using(run_after=earliest).enqueue()
