"""Invariant 5 end to end: a due message is delivered at least once and never twice, even when the worker is
killed mid-batch, and even when the gateway fails half of the requests.

Real processes and real HTTP on loopback: `navbat worker` (django-tasks' db_worker running the deliver_due
task) against the test database, which is a file on SQLite and a server on PostgreSQL, sending through the
generic JSON gateway protocol to the stub gateway of tests/notify/gateway_stub.py, which deduplicates by
idempotency key and records what it accepted."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.db import connection
from django.utils import timezone
from pytest_django.fixtures import Settings as SettingsWrapper

from navbat.notify.dispatch import dispatch_due
from navbat.notify.models import Delivery, DeliveryStatus
from navbat.notify.tasks import schedule_delivery
from tests.notify.gateway_stub import StubGateway
from tests.notify.gateway_stub import sms_gateway as running_sms_gateway
from tests.notify.outbox import bulk_reminders
from tests.small_clinic import build_small_clinic

ROOT = Path(__file__).resolve().parents[2]
LEASE_SECONDS = 2


def database_url() -> str:
    """The test database, for another process."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    credentials = quote(db["USER"] or "") + (f":{quote(db['PASSWORD'])}" if db.get("PASSWORD") else "")
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def start_worker(gateway: StubGateway) -> subprocess.Popen[bytes]:
    env = os.environ | {
        "DATABASE_URL": database_url(),
        "NAVBAT_NOTIFY_BACKEND": "",  # the real SMS channel, configured below
        "NAVBAT_SMS_BACKEND": "generic",
        "NAVBAT_SMS_URL": gateway.url,
        "NAVBAT_SMS_TOKEN": gateway.token,
        "NAVBAT_SMS_TIMEOUT": "2",
        "NAVBAT_NOTIFY_LEASE_SECONDS": str(LEASE_SECONDS),
        "NAVBAT_NOTIFY_HEARTBEAT_SECONDS": "1",
        "NAVBAT_LOG_LEVEL": "ERROR",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "navbat.cli", "worker", "--no-startup-delay", "--interval", "0.1"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
    )


def wait_until(condition: Callable[[], bool], *, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.01)


def sent_count() -> int:
    return Delivery.objects.filter(status=DeliveryStatus.SENT).count()


@pytest.fixture
def slow_gateway() -> Iterator[StubGateway]:
    """The stub gateway, taking 5 ms per message, so that a batch of 200 is still going when it is killed."""
    with running_sms_gateway() as gateway:
        accept = gateway._accept

        def slowly(*args: Any, **kwargs: Any) -> Any:
            time.sleep(0.005)
            return accept(*args, **kwargs)

        gateway._accept = slowly  # type: ignore[method-assign]
        yield gateway


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_batch_leaves_every_message_delivered_exactly_once(
    slow_gateway: StubGateway,
) -> None:
    count = 200
    now = timezone.now()
    bulk_reminders(build_small_clinic(), count, due_at=now, first_visit=now + timedelta(hours=3))
    schedule_delivery()  # what recording a due notification does when its transaction commits

    first = start_worker(slow_gateway)
    try:
        wait_until(lambda: len(slow_gateway.received) >= 40, seconds=60, what="the batch is under way")
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    at_kill = len(slow_gateway.received)
    in_flight = Delivery.objects.filter(status=DeliveryStatus.SENDING).count()

    second = start_worker(slow_gateway)
    try:
        wait_until(lambda: sent_count() == count, seconds=90, what="every message is sent")
    finally:
        second.terminate()
        second.wait(timeout=20)

    assert 40 <= at_kill < count  # killed mid-batch ...
    assert in_flight > 0  # ... with claimed deliveries it had not finished
    keys = set(Delivery.objects.values_list("idempotency_key", flat=True))
    assert len(keys) == count
    arrived = Counter(slow_gateway.keys())
    assert set(arrived) == keys  # every message arrived ...
    assert max(arrived.values()) == 1  # ... once
    assert slow_gateway.attempts >= count


@pytest.mark.django_db(transaction=True)
def test_with_half_the_requests_failing_every_message_is_delivered_exactly_once(
    settings: SettingsWrapper,
) -> None:
    count = 80
    now = timezone.now()
    bulk_reminders(build_small_clinic(), count, due_at=now, first_visit=now + timedelta(days=2))
    with running_sms_gateway(fail_rate=0.5, seed=11, slow_seconds=0.15) as gateway:
        settings.NAVBAT_NOTIFY_BACKEND = ""
        settings.NAVBAT_SMS = {
            "BACKEND": "generic",
            "URL": gateway.url,
            "TOKEN": gateway.token,
            "TIMEOUT": 0.1,
        }

        # The worker's rounds, the clock moving on by the retry delays (30 s, 2 min, 8 min, … up to 2 h).
        moment = now
        for _ in range(40):
            while dispatch_due(now=moment):
                pass
            if sent_count() == count:
                break
            moment += timedelta(minutes=30)

    assert sent_count() == count
    failures = Counter(gateway.failures)
    assert failures["error"] > 10 and failures["slow"] > 10  # the gateway did fail, both ways
    arrived = Counter(gateway.keys())
    assert set(arrived) == set(Delivery.objects.values_list("idempotency_key", flat=True))
    assert max(arrived.values()) == 1
    retried = Delivery.objects.filter(attempts__gt=1).count()
    assert retried > count // 4
