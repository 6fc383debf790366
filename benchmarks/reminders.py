"""Reminder delivery benchmark: 10,000 reminders due at once, sent by one worker through the outbox.

What is measured: 10,000 patients, each with a visit and a reminder due now, are written in bulk (the
notifications as a booking would have recorded them, SMS consent given, no quiet hours). Then one worker
drains the outbox — `navbat.notify.dispatch.dispatch_due` in a loop, which is what the `deliver_due` task
of `navbat worker` runs: plan each notification into a delivery (recipient, consent, channel), claim
deliveries in batches with a lease, render the SMS (Django template, the clinic's time zone, signed links),
send, record. Reported: deliveries per second, and the delay from each reminder's due time to its send
(p50, p99): with everything due at the same instant, this is how long the last patients wait for the queue.

The fake gateway, in-process (tests.notify.outbox.Deduplicating): a channel that accepts every message and
keeps its idempotency key in a set
(like a gateway that deduplicates), so that the figures are the outbox's, not the network's. With --stub N
a second round of N reminders goes through the real SMS channel (generic JSON protocol over HTTP) to the
loopback gateway stub of tests/notify/gateway_stub.py, the baseline likewise.

Baselines, same run, same channel, without the outbox: (1) render + send — each reminder rendered as the
worker renders it, then handed to the channel, one after the other: what sending straight from the
booking would cost; (2) the bare send loop — texts prepared beforehand. The ratio to (1) says what the
outbox's guarantees (recorded with the change, at least once, never twice, retries, fallback) cost.

Run from the repository root:

    .venv/bin/python benchmarks/reminders.py [--count 10000] [--stub 500]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/navbat_bench .venv/bin/python benchmarks/reminders.py

The database is wiped: a fresh SQLite file var/bench/reminders.sqlite3 without DATABASE_URL; with a
PostgreSQL DATABASE_URL the named database (its name must contain "bench") is dropped, created, migrated,
and dropped at the end.
"""

# Django must be set up before the models are imported: this is a script, so imports follow the set-up.
# ruff: noqa: E402

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SQLITE_PATH = ROOT / "var" / "bench" / "reminders.sqlite3"

os.environ["DJANGO_SETTINGS_MODULE"] = "navbat.settings"
if not os.environ.get("DATABASE_URL"):
    os.environ["DATABASE_URL"] = f"sqlite:///{SQLITE_PATH}"
os.environ["NAVBAT_NOTIFY_BACKEND"] = ""  # the channels below, not the console
sys.path.insert(0, str(ROOT))

import django

django.setup()

import argparse
import platform
import statistics
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.test.utils import override_settings
from django.utils import timezone

from benchmarks.slot_search import (
    FAST_HASHERS,
    code_version,
    create_fresh_database,
    database_version,
    drop_database,
)
from navbat.notify.channels.base import Outgoing
from navbat.notify.channels.registry import channel_for, forget_channels
from navbat.notify.dispatch import dispatch_due
from navbat.notify.models import Delivery, DeliveryStatus, Kind, Notification
from navbat.notify.rendering import appointment_context, render_message
from tests.notify.outbox import Deduplicating, bulk_reminders
from tests.small_clinic import SmallClinic, build_small_clinic


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--count", type=int, default=10_000, help="reminders due at once (10000)")
    parser.add_argument(
        "--stub", type=int, default=300, help="reminders through the loopback HTTP stub (300; 0: none)"
    )
    parser.add_argument("--keep-db", action="store_true", help="keep the PostgreSQL database afterwards")
    return parser.parse_args()


def print_context() -> None:
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    print("Reminder delivery benchmark (navbat.notify: outbox → one worker → fake gateway)")
    print(f"  code       {code_version()}")
    print(f"  python     {platform.python_version()} ({platform.python_implementation()})")
    print(f"  django     {django.get_version()}")
    print(f"  database   {database_version()}  [{settings.DATABASES['default']['NAME']}]")
    print(f"  platform   {platform.platform()}, {os.cpu_count()} CPUs, load average {load}")


def prepare(c: SmallClinic, count: int, first_visit: datetime) -> list[int]:
    """`count` reminders, due later (drain makes them due); returns their ids."""
    started = time.perf_counter()
    ids = bulk_reminders(c, count, due_at=timezone.now() + timedelta(days=1), first_visit=first_visit)
    print(f"  wrote {count} patients, visits and reminders in {time.perf_counter() - started:.1f} s")
    return ids


@dataclass(frozen=True)
class Baseline:
    bare: float  # messages/s: texts rendered beforehand, sent one after the other
    rendered: float  # messages/s: each rendered (as the worker does), then sent — the outbox left out


def baseline(ids: list[int]) -> Baseline:
    """The loops without the outbox, on the same channel, with keys of their own."""
    notifications = list(
        Notification.objects.filter(pk__in=ids).select_related(
            "clinic",
            "appointment__clinic",
            "appointment__patient",
            "appointment__service",
            "appointment__dentist__user",
        )
    )
    channel = channel_for("sms")

    def message(n: Notification, prefix: str) -> Outgoing:
        assert n.appointment is not None
        context = appointment_context(n.appointment, kind=Kind.REMINDER, language="uz")
        rendered = render_message(
            kind=Kind.REMINDER, channel="sms", language="uz", context=context, clinic=n.clinic
        )
        phone = str(n.appointment.patient.phone)
        return Outgoing(channel="sms", to=phone, text=rendered.text, idempotency_key=f"{prefix}:{n.key}")

    started = time.perf_counter()
    for n in notifications:
        channel.send(message(n, "rendered"))
    rendered_rate = len(notifications) / (time.perf_counter() - started)
    prepared = [message(n, "bare") for n in notifications]
    started = time.perf_counter()
    for outgoing in prepared:
        channel.send(outgoing)
    return Baseline(bare=len(prepared) / (time.perf_counter() - started), rendered=rendered_rate)


def drain(ids: list[int]) -> tuple[float, list[float]]:
    """One worker empties the outbox. Deliveries per second, and each delivery's delay from due to sent.
    The reminders become due as it starts (the baselines ran meanwhile)."""
    due = timezone.now()
    Notification.objects.filter(pk__in=ids).update(due_at=due)
    started = time.perf_counter()
    while dispatch_due(limit=50):
        pass
    seconds = time.perf_counter() - started
    rows = Delivery.objects.filter(notification_id__in=ids)
    sent = list(rows.filter(status=DeliveryStatus.SENT).values_list("sent_at", flat=True))
    assert len(sent) == len(ids) == rows.count(), (len(sent), len(ids), rows.count())
    delays = sorted((at - due).total_seconds() for at in sent if at is not None)
    return len(sent) / seconds, delays


def percentile(values: list[float], fraction: float) -> float:
    return values[min(len(values) - 1, round(fraction * (len(values) - 1)))]


def report(label: str, count: int, base: Baseline, rate: float, delays: list[float]) -> None:
    print(f"\n  {label}: {count} reminders")
    print(f"    baseline: bare send loop           {base.bare:10.0f} messages/s")
    print(f"    baseline: render + send loop       {base.rendered:10.0f} messages/s")
    print(
        f"    outbox, one worker                 {rate:10.0f} deliveries/s"
        f"   ({rate / base.rendered:.2f} of render + send, {rate / base.bare:.4f} of bare send)"
    )
    p50, p99 = statistics.median(delays), percentile(delays, 0.99)
    print(
        f"    delay due → sent                   p50 {p50:.2f} s   p99 {p99:.2f} s   max {delays[-1]:.2f} s"
    )


def run(count: int, stub: int) -> None:
    with override_settings(PASSWORD_HASHERS=FAST_HASHERS):
        c = build_small_clinic()
    first_visit = timezone.now() + timedelta(hours=3)
    with override_settings(NAVBAT_CHANNELS={"sms": "tests.notify.outbox.Deduplicating"}):
        forget_channels()
        ids = prepare(c, count, first_visit)
        base = baseline(ids)
        rate, delays = drain(ids)
        report("in-process fake gateway", count, base, rate, delays)
        assert len(Deduplicating.keys) == 3 * count  # each message once: two baselines and the outbox
    if stub:
        from tests.notify.gateway_stub import sms_gateway

        with sms_gateway() as gateway:
            sms = {"BACKEND": "generic", "URL": gateway.url, "TOKEN": gateway.token, "TIMEOUT": 5}
            with override_settings(
                NAVBAT_SMS=sms, NAVBAT_CHANNELS={"sms": "navbat.notify.channels.sms.SmsChannel"}
            ):
                forget_channels()
                later = first_visit + timedelta(days=1, minutes=c.therapy.duration_minutes * count)
                ids = prepare(c, stub, later)  # visits after the first round's
                base = baseline(ids)
                rate, delays = drain(ids)
                report("loopback HTTP gateway stub (generic JSON protocol)", stub, base, rate, delays)
                assert len(set(gateway.keys())) == len(gateway.received) == 3 * stub


def main() -> int:
    args = parse_args()
    create_fresh_database()
    print_context()
    print(f"  count      {args.count} reminders due at once; HTTP stub round: {args.stub}")
    try:
        run(args.count, args.stub)
    finally:
        connection.close()
        drop_database(args.keep_db)
    return 0


if __name__ == "__main__":
    sys.exit(main())
