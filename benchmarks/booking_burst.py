"""Release-day burst: a new day's slots open, and 2,000 registered patients compete for 500 of them through
the REST API with 100 concurrent clients — against a real server (gunicorn, `navbat serve`) on PostgreSQL.

The data: a clinic whose new day (a few days ahead) opens with exactly --slots slots of a 30-minute,
state-funded service ("checkup"; the clinic asks for a national identifier, so every booking checks one):
dentists of 20 slots each (08:00–18:00, one chair each, a 30-minute slot step), nobody works any other day.
--patients registered patients, each with a phone, a valid PINFL and a sign-in account (what a patient gets
once he has confirmed his phone). The script asserts the slot count with the booking selector before the
burst. Callers (--callers): `operators` (default) — one call-centre operator token per client, booking for
the patients it takes from the queue; or `patients` — every patient books for himself with his own token
(online: the clinic's notice and horizon apply).

The burst: --clients asyncio clients in one aiohttp session (a connection limit of --clients) take patients
from a shared queue. For each: GET /api/v1/slots for the new day (--limit 10, dentist any, the patient
given), then POST /api/v1/appointments for one of the first --pick-among 5 slots at random (with its dentist
and chair, and an Idempotency-Key); on 409 slot_taken the next slot, up to 3 tries, then a fresh list, up to
3 lists. Every client sees the same earliest slots, so most POSTs lose the race (409): that is the release
day's rush; --limit 50 --pick-among 50 spreads the clients over the day instead. A client
stops when the list is empty: the day is full. Reported: bookings/s (201s per second of the burst), p50/p99
latency of the POSTs, the GETs and all requests, the statuses; then, with SQL: no two active appointments
overlapping for a dentist, a chair or a patient (self-joins), exactly --slots booked, each with its history.

The database's own limit, in the same run: the server is stopped, and the API's POST attempts — the same
rows — are replayed as single-row INSERTs in autocommit through psycopg on --clients connections (fewer if
the server's max_connections does not allow them), against the same EXCLUDE constraints: a conflicting
insert fails with an exclusion violation where the API answered 409. Twice, the appointments truncated
before each: in the order the API was sent them, and "winners first" (the API's 201s, then its 409s). As
sent, many inserts of one slot run at once and wait on each other inside the EXCLUDE checks (some deadlock,
and PostgreSQL aborts one after deadlock_timeout); winners first, each refused insert meets a committed row,
as the API's 409s did. The faster run is the database's limit: its bookings/s, and the ratio API/DB.
Also CPU seconds per request and per insert (Linux /proc), which the other loads of a shared machine
disturb less than wall-clock seconds; and the ratio by CPU time per booking.

Goals: the API reaches >= 35 % of the database's rate; p99 < 250 ms (POSTs, and all requests); zero 5xx,
zero overlaps, exactly --slots booked. Each prints PASS or FAIL; the script exits 1 only when a correctness
check fails (a 5xx, an overlap, a wrong count), not for a missed speed goal.

Run from the repository root (PostgreSQL only; the database is dropped and created, so its name must
contain "burst" or "bench"; it is dropped at the end unless --keep):

    .venv/bin/python benchmarks/booking_burst.py [--workers 2] [--threads 8] [--clients 100]
        [--patients 2000] [--slots 500] [--callers operators|patients] [--limit 10] [--pick-among 5]
        [--keep] [--database-url postgres://postgres@127.0.0.1:5432/navbat_burst]

The server runs with DEBUG off and its log in var/bench/booking_burst-server.log; NAVBAT_CONN_MAX_AGE (60)
is passed on to it. --profile N skips the server: it prints the SQL of one search, one booking and one
refused booking, and a cProfile of N rounds of them, in this process — where to look when a goal fails.
"""

# Django must be set up before the models are imported: this is a script, so imports follow the set-up.
# ruff: noqa: E402

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/navbat_burst"
SERVER_LOG = ROOT / "var" / "bench" / "booking_burst-server.log"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    # On 2 CPUs 2x4, 3x4, 4x4 and 2x8 served the same ~55-65 requests/s (CPU-bound); 2x8 had the lowest p99.
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (2)")
    parser.add_argument("--threads", type=int, default=8, help="threads per worker (8)")
    parser.add_argument("--clients", type=int, default=100, help="concurrent API clients (100)")
    parser.add_argument("--patients", type=int, default=2000, help="registered patients (2000)")
    parser.add_argument("--slots", type=int, default=500, help="slots the new day opens with (500)")
    parser.add_argument(
        "--callers",
        choices=("operators", "patients"),
        default="operators",
        help="who books: one operator token per client, or each patient with his own token",
    )
    parser.add_argument("--limit", type=int, default=10, help="slots asked for per GET (10)")
    parser.add_argument(
        "--pick-among", type=int, default=5, help="a client picks one of the first N slots offered (5)"
    )
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument(
        "--profile",
        type=int,
        metavar="N",
        default=0,
        help="no server, no burst: the queries of one search, one booking and one refused booking, and a\n"
        "cProfile of N of each, in this process (Django's test client)",
    )
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    return parser.parse_args()


# The database must be named before Django reads its settings.
ARGS = parse_args()
os.environ["DATABASE_URL"] = ARGS.database_url
os.environ["DJANGO_SETTINGS_MODULE"] = "navbat.settings"
sys.path.insert(0, str(ROOT))

import django

django.setup()

import asyncio
import cProfile
import json
import logging
import platform
import pstats
import random
import signal
import socket
import statistics
import subprocess
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as clock
from typing import Any

import aiohttp
import gunicorn
import psycopg
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.db import connection, connections
from django.db.models.sql import InsertQuery
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from psycopg import errors as pg_errors
from psycopg import sql

from navbat.accounts.access import Role
from navbat.accounts.api_auth import create_token
from navbat.accounts.services import assign_role
from navbat.booking.models import Appointment, AppointmentEvent
from navbat.booking.selectors import find_free_slots
from navbat.booking.statuses import ACTIVE_STATUSES, Channel, Status
from navbat.clinic.demo import FEMALE_NAMES, MALE_NAMES, SURNAMES
from navbat.clinic.models import (
    Chair,
    Clinic,
    Department,
    Funding,
    PlanInterval,
    PlanIntervalKind,
    Service,
    Specialty,
    StaffMember,
    StaffRole,
    WorkingPlan,
)
from navbat.patients.identifiers import IdentifierKind, compute_check_digits
from navbat.patients.models import NationalIdentifier, Patient, PatientCounter, Sex
from navbat.patients.services import patient_number, refresh_search_keys

SERVICE_CODE = "checkup"
SLOT_MINUTES = 30
SLOTS_PER_DENTIST = 20  # 08:00–18:00
DAY_STARTS = clock(8)
DAYS_AHEAD = 3  # the new day: far enough for any notice, inside the horizon
TRIES_PER_LIST = 3
LISTS_PER_PATIENT = 3
GOAL_RATIO = 0.35
GOAL_P99_MS = 250.0
REQUEST_TIMEOUT_S = 120


def progress(message: str) -> None:
    """To stderr, so that stdout is the report alone."""
    print(f"… {message}", file=sys.stderr, flush=True)


# The database -------------------------------------------------------------------------------------------


def database_name() -> str:
    if connection.vendor != "postgresql":
        raise SystemExit("The burst benchmark runs on PostgreSQL only: give a postgres:// --database-url.")
    name = str(settings.DATABASES["default"]["NAME"])
    if "burst" not in name and "bench" not in name:
        raise SystemExit(f"Refusing to wipe database {name!r}: its name must contain 'burst' or 'bench'.")
    return name


def conninfo(dbname: str | None = None) -> dict[str, Any]:
    db = settings.DATABASES["default"]
    params = {
        "host": db.get("HOST"),
        "port": db.get("PORT"),
        "user": db.get("USER"),
        "password": db.get("PASSWORD"),
        "dbname": dbname or db["NAME"],
    }
    return {key: value for key, value in params.items() if value}


def postgres_admin(statement: sql.Composed) -> None:
    """CREATE/DROP DATABASE run on the server's maintenance database, outside a transaction."""
    with psycopg.connect(**conninfo("postgres"), autocommit=True) as admin:
        admin.execute(statement)


def create_fresh_database() -> None:
    name = database_name()
    postgres_admin(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    postgres_admin(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    call_command("migrate", verbosity=0, interactive=False)


def drop_database(keep: bool) -> None:
    connections.close_all()
    if not keep:
        name = database_name()
        postgres_admin(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def scalar(query: str, params: Sequence[Any] = ()) -> Any:
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        row = cursor.fetchone()
    return row[0] if row else None


# The clinic, its new day, the patients, the tokens ---------------------------------------------------------


@dataclass(frozen=True)
class World:
    clinic: Clinic
    service: Service
    day: date
    patient_ids: list[int]
    # Who sends the requests: a token per client (operators) or per patient (patients).
    client_tokens: list[str]
    patient_tokens: dict[int, str]

    def token(self, client: int, patient_id: int) -> str:
        return self.patient_tokens[patient_id] if self.patient_tokens else self.client_tokens[client]


def build_world(args: argparse.Namespace) -> World:
    clinic = Clinic.objects.create(
        name="Release-day clinic",
        time_zone="Asia/Tashkent",
        country="UZ",
        observes_national_holidays=False,
        requires_national_id=True,
        slot_step_minutes=SLOT_MINUTES,
        min_notice_minutes=60,
        horizon_days=30,
    )
    department = Department.objects.create(clinic=clinic, name="Therapy")
    specialty, _created = Specialty.objects.get_or_create(
        code="therapist", defaults={"name_uz": "Terapevt", "name_ru": "Терапевт", "name_en": "Therapist"}
    )
    service = Service.objects.create(
        clinic=clinic,
        code=SERVICE_CODE,
        name_uz="Koʻrik",
        name_ru="Осмотр",
        name_en="Check-up",
        duration_minutes=SLOT_MINUTES,
        specialty=specialty,
        funding=Funding.STATE,
    )
    day = timezone.localdate(timezone.now(), clinic.tz) + timedelta(days=DAYS_AHEAD)
    build_dentists(clinic, department, specialty, day, args.slots)
    patient_ids = build_patients(clinic, args.patients, random.Random(args.seed))
    client_tokens: list[str] = []
    patient_tokens: dict[int, str] = {}
    if args.callers == "operators":
        client_tokens = build_operators(clinic, department, args.clients)
    else:
        patient_tokens = patient_accounts(patient_ids)
    return World(clinic, service, day, patient_ids, client_tokens, patient_tokens)


def build_dentists(
    clinic: Clinic, department: Department, specialty: Specialty, day: date, slots: int
) -> None:
    """Dentists of SLOTS_PER_DENTIST slots on `day` (the last one fewer), one chair each; no other day."""
    count = -(-slots // SLOTS_PER_DENTIST)
    for number in range(count):
        user = User.objects.create_user(
            username=f"burst-dentist-{number:03d}",
            first_name=random.Random(number).choice(MALE_NAMES + FEMALE_NAMES),
            last_name=SURNAMES[number % len(SURNAMES)],
        )
        dentist = StaffMember.objects.create(
            user=user, clinic=clinic, role=StaffRole.DENTIST, department=department, languages="uz,ru"
        )
        dentist.specialties.add(specialty)
        chair = Chair.objects.create(department=department, name=f"Chair {number + 1}")
        plan = WorkingPlan.objects.create(staff=dentist, valid_from=day, valid_until=day, default_chair=chair)
        his_slots = min(SLOTS_PER_DENTIST, slots - number * SLOTS_PER_DENTIST)
        start = datetime.combine(day, DAY_STARTS)
        end = start + timedelta(minutes=SLOT_MINUTES * his_slots)
        PlanInterval.objects.create(
            plan=plan, weekday=day.weekday(), kind=PlanIntervalKind.WORK, start=start.time(), end=end.time()
        )


def pinfl(birth_date: date, sex: str, sequence: int) -> str:
    """A valid PINFL (14 digits) for a person born in the 1900s or 2000s; `sequence` makes it unique."""
    century = 3 if birth_date.year < 2000 else 5
    code = century + (0 if sex == Sex.MALE else 1)
    body = f"{code}{birth_date:%d%m%y}{sequence // 1000:03d}{sequence % 1000:03d}"
    return body + compute_check_digits(IdentifierKind.PINFL, body)


def build_patients(clinic: Clinic, count: int, rng: random.Random) -> list[int]:
    """Adults with their own phone and a national identifier, numbered as the registry numbers them."""
    today = timezone.localdate(timezone.now(), clinic.tz)
    patients = []
    for sequence in range(1, count + 1):
        sex = Sex.MALE if rng.random() < 0.5 else Sex.FEMALE
        patient = Patient(
            clinic=clinic,
            number=patient_number(clinic.patient_prefix, sequence),
            surname=rng.choice(SURNAMES),
            name=rng.choice(MALE_NAMES if sex == Sex.MALE else FEMALE_NAMES),
            sex=sex,
            birth_date=today - timedelta(days=rng.randint(18 * 366, 70 * 365)),
            phone=f"+99890{1_000_000 + sequence:07d}",
            is_verified=True,
        )
        refresh_search_keys(patient)
        patients.append(patient)
    Patient.objects.bulk_create(patients, batch_size=1000)
    PatientCounter.objects.create(clinic=clinic, last=count)
    NationalIdentifier.objects.bulk_create(
        [
            NationalIdentifier(
                patient=patient,
                kind=IdentifierKind.PINFL,
                country="UZ",
                value=pinfl(patient.birth_date, patient.sex, sequence),
            )
            for sequence, patient in enumerate(patients, start=1)
        ],
        batch_size=1000,
    )
    ids = [patient.pk for patient in patients]
    # Sign-in accounts, as a patient gets one once he has confirmed his phone (otp.account_for).
    users = User.objects.bulk_create(
        [User(username=str(patient.number), password="!") for patient in patients], batch_size=1000
    )
    for patient, user in zip(patients, users, strict=True):
        patient.user = user
    Patient.objects.bulk_update(patients, ["user"], batch_size=1000)
    Group.objects.get(name=Role.PATIENT.value).user_set.add(*users)
    return ids


def build_operators(clinic: Clinic, department: Department, count: int) -> list[str]:
    tokens = []
    for number in range(count):
        user = User.objects.create_user(username=f"burst-operator-{number:03d}")
        StaffMember.objects.create(user=user, clinic=clinic, role=StaffRole.OPERATOR, department=department)
        assign_role(user=user, role=Role.OPERATOR)
        _record, token = create_token(user=user, name="release-day burst")
        tokens.append(token)
    return tokens


def patient_accounts(patient_ids: list[int]) -> dict[int, str]:
    users = {p.pk: p.user for p in Patient.objects.filter(pk__in=patient_ids).select_related("user")}
    tokens = {}
    for patient_id in patient_ids:
        user = users[patient_id]
        assert user is not None
        _record, tokens[patient_id] = create_token(user=user, name="release-day burst")
    return tokens


def offered_slots(world: World, callers: str) -> int:
    """Every slot the new day opens with, by the selector the API answers from."""
    slots = find_free_slots(
        clinic=world.clinic,
        service=world.service,
        first_day=world.day,
        last_day=world.day,
        now=timezone.now(),
        limit=None,
        online=callers == "patients",
    )
    return len(slots)


# The server ---------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def server_environment() -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": ARGS.database_url,
        "NAVBAT_DEBUG": "0",
        "NAVBAT_ALLOWED_HOSTS": "127.0.0.1,localhost",
        # Clients keep their connections; gunicorn's default keep-alive (2 s) would close idle ones.
        "GUNICORN_CMD_ARGS": "--keep-alive 30",
    }


def start_server(port: int, workers: int, threads: int) -> subprocess.Popen[bytes]:
    SERVER_LOG.parent.mkdir(parents=True, exist_ok=True)
    log = SERVER_LOG.open("wb")
    command = [sys.executable, "-m", "navbat.cli", "serve", "--port", str(port)]
    command += ["--workers", str(workers), "--threads", str(threads)]
    return subprocess.Popen(command, cwd=ROOT, env=server_environment(), stdout=log, stderr=subprocess.STDOUT)


def stop_server(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


# CPU time, which the other loads of a shared machine disturb less than wall-clock time (Linux /proc) -----


def _stat_fields(pid: int) -> list[str]:
    """/proc/<pid>/stat after the command name: [state, ppid, …, utime (index 11), stime (index 12), …]."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def process_tree(root: int) -> list[int]:
    """A process and all its descendants: `navbat serve`, the gunicorn master it starts and the master's
    workers (grandchildren of the root, where the requests are served)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                children.setdefault(int(_stat_fields(int(entry.name))[1]), []).append(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue
    pids, waiting = [], [root]
    while waiting:
        pid = waiting.pop()
        pids.append(pid)
        waiting.extend(children.get(pid, []))
    return pids


def cpu_seconds(pids: Sequence[int]) -> dict[int, float]:
    """User + system CPU seconds each process has used so far; a process that is gone is left out."""
    used = {}
    for pid in pids:
        try:
            fields = _stat_fields(pid)
        except (OSError, IndexError):
            continue
        used[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return used


def cpu_spent(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds spent between the two readings by the processes present at both."""
    return sum(after[pid] - before[pid] for pid in before.keys() & after.keys())


class DatabaseWatch(threading.Thread):
    """CPU seconds spent by the database server's processes for this database's connections (the web
    server's): they are looked for every half second by their process title ("postgres: … <database> …"), so a
    connection is counted from when it is first seen. The web server renews its connections (CONN_MAX_AGE),
    so they come and go; with NAVBAT_CONN_MAX_AGE=0 (a connection a request) most are never seen."""

    def __init__(self, database: str) -> None:
        super().__init__(daemon=True)
        self.marker = f" {database} "
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.5):
            self.scan()

    def scan(self) -> None:
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                title = (entry / "cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            if title.startswith("postgres:") and self.marker in title:
                for pid, used in cpu_seconds([int(entry.name)]).items():
                    self.first.setdefault(pid, used)
                    self.last[pid] = used

    def stop(self) -> float:
        self.done.set()
        self.join()
        self.scan()
        return cpu_spent(self.first, self.last)


@dataclass
class CpuMeter:
    """CPU seconds spent by the web server (gunicorn), by its database connections and by this process (the
    clients) between start() and stop()."""

    server_pid: int
    web: float = 0.0
    database: float = 0.0
    clients: float = 0.0
    _readings: tuple[dict[int, float], float] = ({}, 0.0)
    _watch: DatabaseWatch | None = None

    def start(self) -> None:
        connections.close_all()  # this process's own connection is not the web server's
        self._watch = DatabaseWatch(str(settings.DATABASES["default"]["NAME"]))
        self._watch.scan()
        self._watch.start()
        self._readings = (cpu_seconds(process_tree(self.server_pid)), time.process_time())

    def stop(self) -> None:
        web, clients = self._readings
        self.web = cpu_spent(web, cpu_seconds(list(web)))
        self.clients = time.process_time() - clients
        assert self._watch is not None
        self.database = self._watch.stop()


# The burst ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    kind: str  # GET or POST
    status: int  # 0: no answer (a connection error)
    code: str  # the error's code, if any
    ms: float


@dataclass(frozen=True)
class Attempt:
    """One POST the API was sent, and its answer's status: replayed as an INSERT in the database phase."""

    sent: float
    patient_id: int
    dentist_id: int
    chair_id: int
    start: datetime
    end: datetime
    status: int


@dataclass
class Burst:
    base: str
    world: World
    queue: deque[int]
    samples: list[Sample] = field(default_factory=list)
    attempts: list[Attempt] = field(default_factory=list)
    full: bool = False
    gave_up: int = 0
    booked: int = 0
    last_booked_at: float = 0.0


async def call(
    session: aiohttp.ClientSession,
    burst: Burst,
    method: str,
    path: str,
    token: str,
    *,
    params: dict[str, str] | None = None,
    body: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any]:
    """One request, timed from sending to the last byte of the answer."""
    all_headers = {"Authorization": f"Bearer {token}", "Accept-Language": "uz", **(headers or {})}
    started = time.perf_counter()
    try:
        async with session.request(
            method, burst.base + path, params=params, json=body, headers=all_headers
        ) as response:
            content = await response.read()
            status = response.status
    except (aiohttp.ClientError, TimeoutError):
        burst.samples.append(Sample(method, 0, "no answer", (time.perf_counter() - started) * 1000))
        return 0, None
    ms = (time.perf_counter() - started) * 1000
    data = json.loads(content) if content else None
    code = data.get("code", "") if isinstance(data, dict) and status >= 400 else ""
    burst.samples.append(Sample(method, status, code, ms))
    return status, data


async def free_slots(
    session: aiohttp.ClientSession, burst: Burst, token: str, patient_id: int
) -> list[dict[str, Any]] | None:
    day = burst.world.day.isoformat()
    params = {
        "service": SERVICE_CODE,
        "dentist": "any",
        "date_from": day,
        "date_to": day,
        "limit": str(ARGS.limit),
        "patient": str(patient_id),
    }
    status, data = await call(session, burst, "GET", "/api/v1/slots", token, params=params)
    return data if status == 200 and isinstance(data, list) else None


async def book(
    session: aiohttp.ClientSession, burst: Burst, token: str, patient_id: int, slot: dict[str, Any]
) -> tuple[int, str]:
    body = {
        "patient": patient_id,
        "service": SERVICE_CODE,
        "start": slot["start"],
        "dentist": slot["dentist"]["id"],
        "chair": slot["chair"]["id"],
    }
    key = {"Idempotency-Key": str(uuid.uuid4())}
    sent = time.perf_counter()
    status, data = await call(session, burst, "POST", "/api/v1/appointments", token, body=body, headers=key)
    burst.attempts.append(
        Attempt(
            sent,
            patient_id,
            slot["dentist"]["id"],
            slot["chair"]["id"],
            datetime.fromisoformat(slot["start"]),
            datetime.fromisoformat(slot["end"]),
            status,
        )
    )
    return status, data.get("code", "") if isinstance(data, dict) else ""


async def book_for(
    session: aiohttp.ClientSession, burst: Burst, rng: random.Random, token: str, patient_id: int
) -> None:
    """One patient: a list of free slots, one of the first few; the next on slot_taken; a fresh list."""
    for _list in range(LISTS_PER_PATIENT):
        slots = await free_slots(session, burst, token, patient_id)
        if slots is None:
            return
        if not slots:
            burst.full = True
            return
        first = rng.randrange(min(ARGS.pick_among, len(slots)))
        for slot in slots[first : first + TRIES_PER_LIST]:
            status, code = await book(session, burst, token, patient_id, slot)
            if status == 201:
                burst.booked += 1
                burst.last_booked_at = time.perf_counter()
                return
            if (status, code) != (409, "slot_taken"):
                return
    burst.gave_up += 1


async def client(
    session: aiohttp.ClientSession, burst: Burst, number: int, seed: int, go: asyncio.Event
) -> None:
    rng = random.Random(seed * 1000 + number)
    await go.wait()
    while not burst.full and burst.queue:
        patient_id = burst.queue.popleft()
        await book_for(session, burst, rng, burst.world.token(number, patient_id), patient_id)


def session_for(clients: int) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(limit=clients, limit_per_host=clients, keepalive_timeout=25)
    return aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S))


async def wait_until_ready(base: str, token: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 90
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            if server.poll() is not None:
                raise SystemExit(f"The server stopped (exit {server.returncode}); see {SERVER_LOG}")
            try:
                headers = {"Authorization": f"Bearer {token}"}
                async with session.get(base + "/api/v1/services", headers=headers) as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.3)
    raise SystemExit(f"The server did not answer in 90 s; see {SERVER_LOG}")


async def warm_up(base: str, world: World, clients: int, rounds: int) -> None:
    """Every worker thread answers a few searches and a refused booking (a time nobody works) first: the
    burst should not measure gunicorn's workers importing and compiling on their first requests."""
    burst = Burst(base, world, deque())
    nobody_works = datetime.combine(world.day, clock(3), tzinfo=world.clinic.tz).isoformat()

    async def one(number: int) -> None:
        patient_id = world.patient_ids[-1 - number % len(world.patient_ids)]
        token = world.token(number, patient_id)
        await free_slots(session, burst, token, patient_id)
        body = {"patient": patient_id, "service": SERVICE_CODE, "start": nobody_works}
        await call(session, burst, "POST", "/api/v1/appointments", token, body=body)

    async with session_for(clients) as session:
        for _round in range(rounds):
            await asyncio.gather(*(one(number) for number in range(clients)))
    unexpected = [s for s in burst.samples if s.status not in (200, 409)]
    if unexpected:
        raise SystemExit(f"Warm-up got unexpected answers: {Counter(s.status for s in unexpected)}")


@dataclass(frozen=True)
class BurstResult:
    seconds: float
    filled_seconds: float  # until the last booking
    samples: list[Sample]
    attempts: list[Attempt]
    booked: int
    gave_up: int
    patients_served: int


async def run_burst(base: str, world: World, clients: int, seed: int) -> BurstResult:
    queue = list(world.patient_ids)
    random.Random(seed).shuffle(queue)
    burst = Burst(base, world, deque(queue))
    go = asyncio.Event()
    async with session_for(clients) as session:
        tasks = [asyncio.create_task(client(session, burst, n, seed, go)) for n in range(clients)]
        await asyncio.sleep(0.1)  # every client is waiting on `go`
        started = time.perf_counter()
        go.set()
        await asyncio.gather(*tasks)
        seconds = time.perf_counter() - started
    return BurstResult(
        seconds,
        burst.last_booked_at - started,
        burst.samples,
        sorted(burst.attempts, key=lambda attempt: attempt.sent),
        burst.booked,
        burst.gave_up,
        len(queue) - len(burst.queue),
    )


# The checks, in SQL --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Checks:
    overlaps: dict[str, int]
    booked: int
    distinct_slots: int
    events: int

    def overlap_free(self) -> bool:
        return not any(self.overlaps.values())


def sql_checks() -> Checks:
    active = [str(status) for status in ACTIVE_STATUSES]
    overlaps = {}
    for column in ("dentist_id", "chair_id", "patient_id"):
        overlaps[column] = scalar(
            f"""
            SELECT count(*) FROM booking_appointment a
            JOIN booking_appointment b
              ON a.{column} = b.{column} AND a.id < b.id
             AND a.starts_at < b.ends_at AND b.starts_at < a.ends_at
            WHERE a.status = ANY(%s) AND b.status = ANY(%s)
            """,
            [active, active],
        )
    return Checks(
        overlaps=overlaps,
        booked=scalar("SELECT count(*) FROM booking_appointment WHERE status = %s", [str(Status.BOOKED)]),
        distinct_slots=scalar(
            "SELECT count(DISTINCT (dentist_id, starts_at)) FROM booking_appointment WHERE status = %s",
            [str(Status.BOOKED)],
        ),
        events=AppointmentEvent.objects.filter(to_status=Status.BOOKED).count(),
    )


# The database's own limit ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DbResult:
    connections: int
    seconds: float
    filled_seconds: float  # until the last successful insert
    cpu: float  # CPU seconds of the database's connections
    inserted: int
    refused: int
    other_errors: Counter[str]
    insert_ms: list[float]


def insert_statements(world: World, attempts: list[Attempt], channel: Channel) -> list[tuple[str, Any]]:
    """The INSERT Django would run for each attempt's row (every column, defaults filled in), compiled
    before the clock starts."""
    statements = []
    fields = [f for f in Appointment._meta.concrete_fields if not f.primary_key]
    for attempt in attempts:
        row = Appointment(
            clinic=world.clinic,
            patient_id=attempt.patient_id,
            service=world.service,
            dentist_id=attempt.dentist_id,
            chair_id=attempt.chair_id,
            starts_at=attempt.start,
            ends_at=attempt.end,
            status=Status.BOOKED,
            channel=channel,
        )
        query = InsertQuery(Appointment)
        query.insert_values(fields, [row])
        [(statement, params)] = query.get_compiler(using="default").as_sql()
        statements.append((statement, params))
    return statements


def connections_allowed(wanted: int) -> int:
    """As many connections as asked for, if the server has that many to spare (other users keep some)."""
    limit = int(scalar("SHOW max_connections"))
    used = int(scalar("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'"))
    return max(1, min(wanted, limit - used - 5))


def database_limit(statements: list[tuple[str, Any]], wanted: int) -> DbResult:
    count = connections_allowed(wanted)
    pool = [psycopg.connect(**conninfo(), autocommit=True) for _ in range(count)]
    pending: Iterator[tuple[str, Any]] = iter(statements)
    lock = threading.Lock()
    start_line = threading.Barrier(count + 1)
    inserted: list[int] = []
    refused: list[int] = []
    other: Counter[str] = Counter()
    insert_ms: list[float] = []
    last_inserted_at = [0.0]

    def work(conn: psycopg.Connection[Any]) -> None:
        mine_ok = mine_refused = 0
        start_line.wait()
        while True:
            with lock:
                statement = next(pending, None)
            if statement is None:
                break
            started = time.perf_counter()
            try:
                conn.execute(statement[0], statement[1])
                mine_ok += 1
                last_inserted_at[0] = max(last_inserted_at[0], time.perf_counter())
            except pg_errors.ExclusionViolation:
                mine_refused += 1
            except psycopg.Error as error:
                with lock:
                    other[type(error).__name__] += 1
            ms = (time.perf_counter() - started) * 1000
            with lock:
                insert_ms.append(ms)
        with lock:
            inserted.append(mine_ok)
            refused.append(mine_refused)

    threads = [threading.Thread(target=work, args=(conn,)) for conn in pool]
    for thread in threads:
        thread.start()
    backends = cpu_seconds([conn.info.backend_pid for conn in pool])
    start_line.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    cpu = cpu_spent(backends, cpu_seconds(list(backends)))
    for conn in pool:
        conn.close()
    filled = last_inserted_at[0] - started
    return DbResult(count, seconds, filled, cpu, sum(inserted), sum(refused), other, insert_ms)


def replay_orders(attempts: list[Attempt]) -> dict[str, list[Attempt]]:
    """The attempts as the API was sent them; and those it booked first, then those it refused. As sent,
    inserts of one slot run at once and wait on each other inside the EXCLUDE checks (PostgreSQL's
    execIndexing.c: they may even deadlock); winners first, every refused insert meets a committed row and
    fails at once, as the API's 409s met a committed booking. The faster is the database's limit."""
    booked = [attempt for attempt in attempts if attempt.status == 201]
    refused = [attempt for attempt in attempts if attempt.status != 201]
    return {"as sent": attempts, "winners first": booked + refused}


def truncate_bookings() -> None:
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE booking_appointment CASCADE")
        cursor.execute("ANALYZE booking_appointment")


# The report ---------------------------------------------------------------------------------------------


def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else 0.0


def percentile(values: Sequence[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def latency_line(label: str, values: Sequence[float]) -> str:
    mean = statistics.fmean(values) if values else float("nan")
    return (
        f"  {label:<18} {len(values):>6}  p50 {percentile(values, 0.50):7.1f} ms  "
        f"p99 {percentile(values, 0.99):7.1f} ms  max {max(values, default=float('nan')):7.1f} ms  "
        f"mean {mean:7.1f} ms"
    )


def code_version() -> str:
    try:
        described = subprocess.run(
            ["git", "-C", str(ROOT), "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"},
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return described.stdout.strip()


def load_average() -> str:
    return ", ".join(f"{value:.2f}" for value in os.getloadavg())


def print_context(args: argparse.Namespace) -> None:
    server_conn_age = os.environ.get("NAVBAT_CONN_MAX_AGE", "60")
    print("Release-day burst benchmark (REST API on gunicorn + PostgreSQL, against PostgreSQL alone)")
    print(f"  code       {code_version()}")
    print(
        f"  python     {platform.python_version()}, django {django.get_version()}, gunicorn "
        f"{gunicorn.__version__}, aiohttp {aiohttp.__version__}, psycopg {psycopg.__version__}"
    )
    print(
        f"  database   PostgreSQL {scalar('SHOW server_version')} [{settings.DATABASES['default']['NAME']}]"
        f", max_connections {scalar('SHOW max_connections')}, synchronous_commit "
        f"{scalar('SHOW synchronous_commit')}"
    )
    print(f"  platform   {platform.platform()}, {os.cpu_count()} CPUs, load average {load_average()}")
    print(
        f"  server     navbat serve: gunicorn gthread, {args.workers} workers x {args.threads} threads, "
        f"DEBUG off, CONN_MAX_AGE {server_conn_age} s; clients and server on this machine"
    )
    print(
        f"  burst      {args.clients} clients, {args.patients} patients, {args.slots} slots, callers: "
        f"{args.callers}; GET limit {args.limit}, pick among the first {args.pick_among}, "
        f"{TRIES_PER_LIST} tries per list, {LISTS_PER_PATIENT} lists per patient"
    )


def print_world(world: World, slots: int, build_seconds: float) -> None:
    dentists = StaffMember.objects.filter(clinic=world.clinic, role=StaffRole.DENTIST).count()
    print("\nClinic")
    print(
        f"  {dentists} dentists, {dentists} chairs, service {SERVICE_CODE!r} {SLOT_MINUTES} min state-funded "
        f"(national id checked); the new day {world.day:%a %Y-%m-%d} opens with {slots} slots "
        f"(asserted with find_free_slots); {len(world.patient_ids)} patients with PINFL and accounts; "
        f"built in {build_seconds:.1f} s"
    )


def print_burst(result: BurstResult, checks: Checks, slots: int, cpu: CpuMeter) -> None:
    posts = [s for s in result.samples if s.kind == "POST"]
    gets = [s for s in result.samples if s.kind == "GET"]
    statuses = Counter(s.status for s in posts)
    codes = Counter(s.code for s in result.samples if s.status >= 400 or s.status == 0)
    print("\nAPI burst")
    print(
        f"  duration           {result.seconds:.2f} s (the last booking at {result.filled_seconds:.2f} s); "
        f"{result.patients_served} patients served, {result.booked} booked, {result.gave_up} gave up "
        f"after {LISTS_PER_PATIENT} lists"
    )
    print(
        f"  bookings/s         {rate(result.booked, result.seconds):.1f} per second of the burst, "
        f"{rate(result.booked, result.filled_seconds):.1f} until the day was full"
    )
    print(
        f"  requests/s         {len(result.samples) / result.seconds:.1f}  "
        f"({len(gets)} GET, {len(posts)} POST)"
    )
    print(
        f"  POST statuses      201: {statuses[201]}, 409: {statuses[409]}, "
        f"other: {sum(n for status, n in statuses.items() if status not in (201, 409))}"
        f"  {dict(sorted(statuses.items()))}"
    )
    print(f"  error codes        {dict(codes.most_common())}")
    print(latency_line("POST latency", [s.ms for s in posts]))
    print(latency_line("GET latency", [s.ms for s in gets]))
    print(latency_line("all requests", [s.ms for s in result.samples]))
    requests = len(result.samples)
    print(
        f"  CPU                web server {cpu.web:.1f} s ({cpu.web * 1000 / requests:.1f} ms a request), "
        f"its database connections {cpu.database:.1f} s ({cpu.database * 1000 / requests:.1f} ms a request), "
        f"the clients {cpu.clients:.1f} s"
    )
    print_checks("API", checks, slots)


def print_checks(label: str, checks: Checks, slots: int) -> None:
    overlaps = ", ".join(f"{column[:-3]} {count}" for column, count in checks.overlaps.items())
    print(
        f"  SQL ({label})          overlapping active pairs: {overlaps}; booked {checks.booked} "
        f"({checks.distinct_slots} distinct dentist-slots) of {slots}; booking history rows {checks.events}"
    )


def print_database(order: str, db: DbResult, attempts: int, checks: Checks, slots: int) -> None:
    print(
        f"\nDatabase alone, {order} (the API's POST attempts replayed as single-row INSERTs, autocommit, on "
        f"{db.connections} connections: psycopg, a thread a connection)"
    )
    print(
        f"  duration           {db.seconds:.3f} s (the last insert at {db.filled_seconds:.3f} s) for "
        f"{attempts} attempts: {db.inserted} inserted, "
        f"{db.refused} refused by the EXCLUDE constraints, other errors {dict(db.other_errors)}"
    )
    print(
        f"  bookings/s         {rate(db.inserted, db.seconds):.1f} per second of the replay, "
        f"{rate(db.inserted, db.filled_seconds):.1f} until the day was full; "
        f"attempts/s {rate(attempts, db.seconds):.1f}"
    )
    print(latency_line("INSERT latency", db.insert_ms))
    print(
        f"  CPU                its connections {db.cpu:.2f} s ({db.cpu * 1000 / attempts:.2f} ms an attempt)"
    )
    if db.other_errors.get("DeadlockDetected"):
        print(
            "  note               DeadlockDetected: two inserts of one slot at once can wait on each other "
            "in the EXCLUDE checks; PostgreSQL aborts one after deadlock_timeout"
        )
    print_checks("DB", checks, slots)


def verdict(passed: bool) -> str:
    return "PASS" if passed else "FAIL"


def print_goals(
    result: BurstResult, api_checks: Checks, order: str, db: DbResult, cpu: CpuMeter, slots: int
) -> bool:
    """The goals; returns whether every correctness check passed.

    The rates compared are bookings per second until the day was full, on both sides: after its last
    booking the database may spend seconds on refused inserts caught in deadlock_timeout cycles, and the
    API's clients a moment on finding the list empty; neither books anything then."""
    api_rate = rate(result.booked, result.filled_seconds)
    db_rate = rate(db.inserted, db.filled_seconds)
    ratio = api_rate / db_rate if db_rate else 0.0
    db_whole = rate(db.inserted, db.seconds)
    whole = rate(result.booked, result.seconds) / db_whole if db_whole else 0.0
    posts = [s.ms for s in result.samples if s.kind == "POST"]
    every = [s.ms for s in result.samples]
    server_errors = sum(1 for s in result.samples if s.status >= 500 or s.status == 0)
    p99_post, p99_all = percentile(posts, 0.99), percentile(every, 0.99)
    correct = [
        (server_errors == 0, f"zero 5xx (or unanswered) requests: {server_errors}"),
        (api_checks.overlap_free(), f"zero overlaps per dentist, chair, patient: {api_checks.overlaps}"),
        (
            api_checks.booked == slots == api_checks.distinct_slots == api_checks.events,
            f"exactly {slots} booked, each with its history: {api_checks.booked} booked, "
            f"{api_checks.distinct_slots} distinct slots, {api_checks.events} history rows",
        ),
    ]
    print("\nGoals")
    print(
        f"  [{verdict(ratio >= GOAL_RATIO)}] API >= {GOAL_RATIO:.0%} of the database's rate: "
        f"{api_rate:.1f} / {db_rate:.1f} bookings/s until the day was full (the database {order}) = "
        f"{ratio:.1%}; per second of the whole burst and replay {whole:.1%}"
    )
    print(f"  [{verdict(p99_post < GOAL_P99_MS)}] p99 of POSTs < {GOAL_P99_MS:.0f} ms: {p99_post:.1f} ms")
    print(
        f"  [{verdict(p99_all < GOAL_P99_MS)}] p99 of all requests < {GOAL_P99_MS:.0f} ms: {p99_all:.1f} ms"
    )
    for passed, text in correct:
        print(f"  [{verdict(passed)}] {text}")
    if cpu.database and db.cpu and result.booked and db.inserted:
        # What the ratio would be if each side had the CPUs to itself: CPU spent per booking, both phases.
        api_cpu = (cpu.web + cpu.database) / result.booked
        db_cpu = db.cpu / db.inserted
        print(
            f"  (by CPU time per booking, less disturbed by other loads: the database alone "
            f"{db_cpu * 1000:.1f} ms, the API {api_cpu * 1000:.1f} ms (web server + its database "
            f"connections) = {db_cpu / api_cpu:.1%})"
        )
    print(f"\n  load average at the end: {load_average()}")
    return all(passed for passed, _text in correct)


# --profile: where one request's time goes ----------------------------------------------------------------


class InProcess:
    """The burst's three requests through Django's test client, in this process."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.clients: dict[str, Client] = {}
        self.patients = iter(world.patient_ids)

    def client(self, patient_id: int) -> Client:
        token = self.world.token(0, patient_id)
        if token not in self.clients:
            self.clients[token] = Client(
                headers={"Authorization": f"Bearer {token}", "Accept-Language": "uz"}
            )
        return self.clients[token]

    def search(self, patient_id: int) -> list[dict[str, Any]]:
        day = self.world.day.isoformat()
        query = {"service": SERVICE_CODE, "dentist": "any", "date_from": day, "date_to": day}
        response = self.client(patient_id).get(
            "/api/v1/slots", {**query, "limit": ARGS.limit, "patient": patient_id}
        )
        assert response.status_code == 200, response.content
        slots: list[dict[str, Any]] = response.json()
        return slots

    def book(self, patient_id: int, slot: dict[str, Any], expected: int) -> None:
        body = {
            "patient": patient_id,
            "service": SERVICE_CODE,
            "start": slot["start"],
            "dentist": slot["dentist"]["id"],
            "chair": slot["chair"]["id"],
        }
        response = self.client(patient_id).post(
            "/api/v1/appointments",
            json.dumps(body),
            content_type="application/json",
            headers={"Idempotency-Key": str(uuid.uuid4())},
        )
        assert response.status_code == expected, response.content

    def round(self) -> None:
        """A search, a booking of its first slot, and another patient refused the same slot."""
        patient_id, other = next(self.patients), next(self.patients)
        first = self.search(patient_id)[0]
        self.book(patient_id, first, 201)
        self.book(other, first, 409)


def profile_in_process(world: World, rounds: int) -> None:
    # 409s are logged as warnings ("Conflict: …"); here they are expected.
    logging.getLogger("django.request").setLevel(logging.ERROR)
    requests = InProcess(world)
    for _warm_up in range(3):
        requests.round()
    print("\nQueries per request (in process, Django's test client)")
    patient_id, other = next(requests.patients), next(requests.patients)
    with CaptureQueriesContext(connection) as search:
        first = requests.search(patient_id)[0]
    with CaptureQueriesContext(connection) as booking:
        requests.book(patient_id, first, 201)
    with CaptureQueriesContext(connection) as refusal:
        requests.book(other, first, 409)
    for label, captured in (("GET /slots", search), ("POST 201", booking), ("POST 409", refusal)):
        print(f"  {label:<12} {len(captured.captured_queries)} queries")
        for query in captured.captured_queries:
            print(f"      {query['sql'][:150]}")
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    for _round in range(rounds):
        requests.round()
    profiler.disable()
    seconds = time.perf_counter() - started
    print(
        f"\ncProfile of {rounds} rounds (a search, a booking, a refusal): "
        f"{seconds * 1000 / rounds:.1f} ms a round"
    )
    stats = pstats.Stats(profiler)
    rows = []
    for (path, line, name), (_calls, count, _own, cumulative, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        if "/navbat/" in path and "/scheduling/" not in path:
            rows.append((cumulative, count, f"{path.split('/navbat/')[-1]}:{line} {name}"))
    print(f"  {'ms/round':>9} {'calls':>6}  navbat function (cumulative)")
    for cumulative, count, where in sorted(rows, reverse=True)[:25]:
        print(f"  {cumulative * 1000 / rounds:9.2f} {count:6d}  {where}")
    own_rows = []
    for (path, line, name), (_calls, count, own, _cumulative, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        package = path.split("/site-packages/")[-1].split("/lib/python3")[-1]
        own_rows.append((own, count, f"{package}:{line} {name}"))
    print(f"\n  {'ms/round':>9} {'calls':>6}  any function (own time)")
    for own, count, where in sorted(own_rows, reverse=True)[:30]:
        print(f"  {own * 1000 / rounds:9.2f} {count:6d}  {where}")


# The run ------------------------------------------------------------------------------------------------


def main(args: argparse.Namespace) -> int:
    create_fresh_database()
    server: subprocess.Popen[bytes] | None = None
    correct = False
    try:
        print_context(args)
        progress("building the clinic, its new day, the patients and the tokens")
        started = time.perf_counter()
        world = build_world(args)
        slots = offered_slots(world, args.callers)
        if slots != args.slots:
            raise SystemExit(f"The new day opens with {slots} slots, not {args.slots}: the set-up is wrong.")
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        print_world(world, slots, time.perf_counter() - started)
        if args.profile:
            profile_in_process(world, args.profile)
            return 0
        connections.close_all()

        port = free_port()
        base = f"http://127.0.0.1:{port}"
        progress(f"starting the server on port {port} ({args.workers} workers x {args.threads} threads)")
        server = start_server(port, args.workers, args.threads)
        first_token = world.token(0, world.patient_ids[0])
        asyncio.run(wait_until_ready(base, first_token, server))
        progress("warming the server up")
        asyncio.run(warm_up(base, world, args.clients, rounds=3))
        progress(f"the burst: {args.clients} clients, {args.patients} patients, {args.slots} slots")
        meter = CpuMeter(server.pid)
        meter.start()
        result = asyncio.run(run_burst(base, world, args.clients, args.seed))
        meter.stop()
        stop_server(server)
        server = None
        api_checks = sql_checks()
        print_burst(result, api_checks, slots, meter)

        progress("the database alone: truncating the bookings and replaying the attempts as INSERTs")
        channel = Channel.PHONE if args.callers == "operators" else Channel.WEB
        runs = {}
        for order, attempts in replay_orders(result.attempts).items():
            statements = insert_statements(world, attempts, channel)
            truncate_bookings()
            connections.close_all()
            runs[order] = database_limit(statements, args.clients)
            print_database(order, runs[order], len(statements), sql_checks(), slots)
        fastest = max(runs, key=lambda order: rate(runs[order].inserted, runs[order].filled_seconds))
        correct = print_goals(result, api_checks, fastest, runs[fastest], meter, slots)
        if any(s.status >= 500 for s in result.samples):
            print(f"\n  5xx answers: the server's log is {SERVER_LOG}")
    finally:
        if server is not None:
            stop_server(server)
        drop_database(args.keep)
    return 0 if correct else 1


if __name__ == "__main__":
    sys.exit(main(ARGS))
