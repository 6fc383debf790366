"""Slot search benchmark: how fast `find_free_slots` answers, database included, and how it scales.

What is measured, in-process through the service `navbat.booking.selectors.find_free_slots` (so the SQL
queries and the pure scheduling core are both inside the figures):

  a) "earliest 10": the earliest 10 slots for a 30-minute therapy ("pain-relief"), any dentist, from
     today over the clinic's horizon, as staff search (online=False);
  b) "one dentist, 30 days": every free slot of therapist1 for the same service over 30 days.

Both run on two clinics built by `navbat.clinic.demo.build_demo_clinic`, same seed, same `now`: the demo
clinic (DemoSpec(): 12 dentists, 8 chairs) and one ten times larger (120 dentists, 80 chairs, 60 days of
plans, all of them booked to about 60 %); then ANALYZE, as autovacuum would after such a bulk load. Each
search runs 3 times to warm up and 30 times timed (p50 and p95 in ms); one extra run counts its SQL
queries with CaptureQueriesContext.

A naive baseline runs search a) in the same process: minute by minute from `now`, for every eligible
dentist, a handful of `.exists()` queries (working plan, breaks, exceptions, closures, the dentist's
appointments, a free chair) until 10 free (minute, dentist) pairs are found. Ours against it is a ratio
measured on the same machine at the same moment, as DESIGN.md asks of speed goals.

Goals checked: p95 < 20 ms for a) on the demo clinic; the same number of queries on both sizes; the large
clinic under 10x the demo clinic's p50. A failed goal prints FAIL; the script still exits 0: it reports.

Run from the repository root:

    .venv/bin/python benchmarks/slot_search.py
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/navbat_bench .venv/bin/python benchmarks/slot_search.py

The database is wiped. Without DATABASE_URL it is a fresh SQLite file, var/bench/slot_search.sqlite3,
deleted first. With a PostgreSQL DATABASE_URL the named database is dropped if it exists, created empty
(through the server's `postgres` database), migrated, and dropped again at the end (--keep-db keeps
it). So the database's name must contain "bench": any other name is refused, never destroyed.

--now 2026-11-23T10:00+05:00 fixes the moment the searches start from (default: this minute). The naive
baseline's cost depends on it: at night or on a Sunday it steps through every minute nobody works.
"""

# Django must be set up before the models are imported: this is a script, so imports follow the set-up.
# ruff: noqa: E402

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SQLITE_PATH = ROOT / "var" / "bench" / "slot_search.sqlite3"

os.environ["DJANGO_SETTINGS_MODULE"] = "navbat.settings"
if not os.environ.get("DATABASE_URL"):
    os.environ["DATABASE_URL"] = f"sqlite:///{SQLITE_PATH}"
sys.path.insert(0, str(ROOT))

import django

django.setup()

import argparse
import platform
import statistics
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import psycopg
from django.conf import settings
from django.core.management import call_command
from django.db import connection, connections
from django.db.models import Max, Min, Q
from django.test.utils import CaptureQueriesContext, override_settings
from django.utils import timezone
from psycopg import sql

from navbat.booking.models import Appointment
from navbat.booking.selectors import find_free_slots, load_availability
from navbat.clinic.demo import DemoSpec, build_demo_clinic
from navbat.clinic.models import (
    Chair,
    Clinic,
    ClinicClosure,
    PlanInterval,
    PlanIntervalKind,
    ScheduleException,
    ScheduleExceptionKind,
    Service,
    StaffMember,
    StaffRole,
    WorkingPlan,
)
from navbat.clinic.selectors import national_holidays
from navbat.scheduling import Interval, Slot, intersect

SERVICE_CODE = "pain-relief"  # 30 minutes, a therapist, no equipment
LIMIT = 10
ONE_DENTIST_DAYS = 30
GOAL_P95_MS = 20.0
GOAL_SCALE_RATIO = 10.0
# Building ~130 staff logins with the default PBKDF2 would take minutes; no search checks a password.
FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
ONE_MINUTE = timedelta(minutes=1)
HEADER = (
    f"\n  {'clinic':<6} {'search':<32} {'p50 ms':>10} {'p95 ms':>10} {'queries':>9} {'slots':>6} {'runs':>5}"
)


# Set-up -------------------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--now", type=aware_datetime, help="ISO datetime with offset; default: now")
    parser.add_argument("--warmup", type=int, default=3, help="warm-up runs per search (3)")
    parser.add_argument("--runs", type=int, default=30, help="timed runs per search (30)")
    parser.add_argument("--naive-runs", type=int, default=5, help="timed runs of the naive baseline (5)")
    parser.add_argument(
        "--naive-budget", type=float, default=60.0, help="seconds the baseline may take per clinic (60)"
    )
    parser.add_argument("--keep-db", action="store_true", help="keep the PostgreSQL database afterwards")
    return parser.parse_args()


def aware_datetime(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} has no UTC offset")
    return moment


def database_name() -> str:
    name = str(settings.DATABASES["default"]["NAME"])
    if "bench" not in name:  # a PostgreSQL name or a SQLite path
        raise SystemExit(f"Refusing to wipe database {name!r}: a benchmark database's name contains 'bench'.")
    return name


def postgres_admin(statement: sql.Composed) -> None:
    """Run one statement on the server's maintenance database: CREATE/DROP DATABASE cannot run inside it."""
    db = settings.DATABASES["default"]
    params = {
        "host": db.get("HOST"),
        "port": db.get("PORT"),
        "user": db.get("USER"),
        "password": db.get("PASSWORD"),
    }
    with psycopg.connect(
        dbname="postgres", autocommit=True, **{k: v for k, v in params.items() if v}
    ) as admin:
        admin.execute(statement)


def create_fresh_database() -> None:
    name = database_name()
    if connection.vendor == "sqlite":
        SQLITE_PATH.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(name + suffix).unlink(missing_ok=True)
    elif connection.vendor == "postgresql":
        postgres_admin(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        postgres_admin(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    else:
        raise SystemExit(f"Unsupported database vendor {connection.vendor!r}: use SQLite or PostgreSQL.")
    call_command("migrate", verbosity=0, interactive=False)


def analyze() -> None:
    """Planner statistics as autovacuum would leave them after the bulk load; without them PostgreSQL
    takes the fresh tables for empty and picks a poor plan for the appointments query."""
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def drop_database(keep: bool) -> None:
    connections.close_all()
    if connection.vendor == "postgresql" and not keep:
        postgres_admin(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(database_name())))


# The clinics --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BenchClinic:
    label: str
    spec: DemoSpec
    clinic: Clinic
    service: Service
    therapist: StaffMember
    today: date
    build_seconds: float


def build_clinic(label: str, spec: DemoSpec, now: datetime) -> BenchClinic:
    started = time.perf_counter()
    with override_settings(PASSWORD_HASHERS=FAST_HASHERS):
        clinic, _logins = build_demo_clinic(spec, now=now)
    return BenchClinic(
        label=label,
        spec=spec,
        clinic=clinic,
        service=Service.objects.get(clinic=clinic, code=SERVICE_CODE),
        therapist=StaffMember.objects.get(user__username=f"{spec.username_prefix}therapist1"),
        today=now.astimezone(clinic.tz).date(),
        build_seconds=time.perf_counter() - started,
    )


def build_clinics(now: datetime) -> list[BenchClinic]:
    large = DemoSpec().scaled(10, name="Large clinic", username_prefix="large-", plan_days=60, booked_days=60)
    return [build_clinic("demo", DemoSpec(), now), build_clinic("large", large, now)]


def total(intervals: Sequence[Interval]) -> timedelta:
    return sum((interval.duration for interval in intervals), timedelta(0))


def booked_share(bench: BenchClinic) -> float:
    """Share of the dentists' working time taken by active appointments over the booked days."""
    last_day = bench.today + timedelta(days=bench.spec.booked_days - 1)
    availability = load_availability(clinic=bench.clinic, first_day=bench.today, last_day=last_day)
    working = sum((total(spans) for spans in availability.working.values()), timedelta(0))
    busy = sum(
        (
            total(intersect(spans, availability.dentist_busy.get(dentist_id, ())))
            for dentist_id, spans in availability.working.items()
        ),
        timedelta(0),
    )
    return busy / working if working else 0.0


def describe_clinic(bench: BenchClinic) -> str:
    clinic = bench.clinic
    dentists = StaffMember.objects.filter(clinic=clinic, role=StaffRole.DENTIST).count()
    chairs = Chair.objects.filter(department__clinic=clinic).count()
    appointments = Appointment.objects.filter(clinic=clinic)
    plans = WorkingPlan.objects.filter(staff__clinic=clinic).aggregate(
        first=Min("valid_from"), last=Max("valid_until")
    )
    plan_days = (plans["last"] - plans["first"]).days + 1
    return (
        f"{bench.label:<6} {dentists} dentists, {chairs} chairs, {appointments.count()} appointments "
        f"({appointments.active().count()} active); plans {plans['first']} … {plans['last']} "
        f"({plan_days} days); {booked_share(bench):.0%} of working time booked over the "
        f"{bench.spec.booked_days} booked days; built in {bench.build_seconds:.1f} s"
    )


# Our search ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Search:
    key: str
    title: str
    run: Callable[[], list[Slot]]


def searches(bench: BenchClinic, now: datetime) -> list[Search]:
    clinic, service, today = bench.clinic, bench.service, bench.today

    def earliest() -> list[Slot]:
        last_day = today + timedelta(days=clinic.horizon_days)
        return find_free_slots(
            clinic=clinic,
            service=service,
            first_day=today,
            last_day=last_day,
            now=now,
            limit=LIMIT,
            online=False,
        )

    def one_dentist() -> list[Slot]:
        last_day = today + timedelta(days=ONE_DENTIST_DAYS - 1)
        return find_free_slots(
            clinic=clinic,
            service=service,
            first_day=today,
            last_day=last_day,
            now=now,
            dentist=bench.therapist,
            limit=None,
            online=False,
        )

    return [
        Search("a", f"earliest {LIMIT}, any dentist", earliest),
        Search("b", f"{bench.therapist.user.username}, {ONE_DENTIST_DAYS} days", one_dentist),
    ]


@dataclass(frozen=True)
class Timing:
    samples_ms: tuple[float, ...]
    queries: int
    slots: int
    capped: bool = False

    @property
    def p50(self) -> float:
        return statistics.median(self.samples_ms)

    @property
    def p95(self) -> float:
        if len(self.samples_ms) == 1:
            return self.samples_ms[0]
        return statistics.quantiles(self.samples_ms, n=100, method="inclusive")[94]


def elapsed_ms(run: Callable[[], object]) -> float:
    started = time.perf_counter()
    run()
    return (time.perf_counter() - started) * 1000


def measure(search: Search, *, warmup: int, runs: int) -> Timing:
    for _ in range(warmup):
        search.run()
    with CaptureQueriesContext(connection) as captured:
        slots = len(search.run())
    samples = tuple(elapsed_ms(search.run) for _ in range(runs))
    return Timing(samples, len(captured.captured_queries), slots)


# The naive baseline -------------------------------------------------------------------------------------


class QueryCounter:
    """An execute wrapper that counts queries; CaptureQueriesContext keeps at most 9000 of them."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(
        self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]
    ) -> Any:
        self.count += 1
        return execute(sql, params, many, context)


def naive_works(clinic: Clinic, dentist_id: int, start: datetime, end: datetime) -> bool:
    """The dentist's plan covers [start, end) that day, outside breaks, leave and closures."""
    local_start, local_end = start.astimezone(clinic.tz), end.astimezone(clinic.tz)
    day = local_start.date()
    if local_end.date() != day:
        return False
    t0, t1 = local_start.time(), local_end.time()
    plans = WorkingPlan.objects.filter(staff_id=dentist_id, valid_from__lte=day).exclude(valid_until__lt=day)
    rules = PlanInterval.objects.filter(plan__in=plans, weekday=day.weekday())
    in_plan = (
        day not in national_holidays(clinic, day, day)
        and rules.filter(kind=PlanIntervalKind.WORK, start__lte=t0, end__gte=t1).exists()
        and not rules.filter(kind=PlanIntervalKind.BREAK, start__lt=t1, end__gt=t0).exists()
    )
    exceptions = ScheduleException.objects.filter(staff_id=dentist_id, date=day)
    extra = exceptions.filter(kind=ScheduleExceptionKind.EXTRA, start__lte=t0, end__gte=t1)
    if not in_plan and not extra.exists():
        return False
    touching = Q(start__isnull=True) | Q(start__lt=t1, end__gt=t0)
    off = exceptions.exclude(kind=ScheduleExceptionKind.EXTRA).filter(touching)
    return (
        not off.exists()
        and not ClinicClosure.objects.filter(clinic=clinic, date=day).filter(touching).exists()
    )


def naive_free_chair(clinic: Clinic, equipment_ids: Sequence[int], start: datetime, end: datetime) -> bool:
    chairs = Chair.objects.filter(department__clinic=clinic, is_active=True)
    for equipment_id in equipment_ids:
        chairs = chairs.filter(equipment=equipment_id)
    taken = Appointment.objects.active().overlapping(start, end).values("chair_id")
    return chairs.exclude(pk__in=taken).exists()


def naive_is_free(
    clinic: Clinic, dentist_id: int, start: datetime, end: datetime, equipment_ids: Sequence[int]
) -> bool:
    return (
        naive_works(clinic, dentist_id, start, end)
        and not Appointment.objects.active().filter(dentist_id=dentist_id).overlapping(start, end).exists()
        and naive_free_chair(clinic, equipment_ids, start, end)
    )


@dataclass(frozen=True)
class NaiveRun:
    found: list[tuple[datetime, int]]
    candidates: int
    capped: bool


def naive_earliest(bench: BenchClinic, now: datetime, deadline: float | None) -> NaiveRun:
    """Search a) minute by minute, asking the database about every candidate and dentist."""
    clinic, service = bench.clinic, bench.service
    duration = timedelta(minutes=service.duration_minutes)
    equipment_ids = list(service.equipment.values_list("pk", flat=True))
    dentists = StaffMember.objects.filter(
        clinic=clinic, role=StaffRole.DENTIST, is_active=True, specialties=service.specialty_id
    )
    dentist_ids = list(dentists.order_by("pk").values_list("pk", flat=True))
    start = now.replace(second=0, microsecond=0) + (
        ONE_MINUTE if now.second or now.microsecond else timedelta(0)
    )
    stop = now + timedelta(days=clinic.horizon_days)
    found: list[tuple[datetime, int]] = []
    candidates = 0
    while start < stop:
        for dentist_id in dentist_ids:
            candidates += 1
            if naive_is_free(clinic, dentist_id, start, start + duration, equipment_ids):
                found.append((start, dentist_id))
                if len(found) == LIMIT:
                    return NaiveRun(found, candidates, capped=False)
        if deadline is not None and time.perf_counter() > deadline:
            return NaiveRun(found, candidates, capped=True)
        start += ONE_MINUTE
    return NaiveRun(found, candidates, capped=False)


@dataclass(frozen=True)
class NaiveTiming(Timing):
    candidates: int = 0
    budget_s: float = 0.0
    first_start: datetime | None = None


def measure_naive(bench: BenchClinic, now: datetime, *, runs: int, budget_s: float) -> NaiveTiming:
    """Up to `runs` timed runs while they fit in budget_s; the first run is cut off at the budget."""
    samples: list[float] = []
    counter = QueryCounter()
    result = NaiveRun([], 0, capped=False)
    spent = 0.0
    while len(samples) < runs and (not samples or spent + samples[-1] / 1000 <= budget_s):
        counter.count = 0
        started = time.perf_counter()
        with connection.execute_wrapper(counter):
            result = naive_earliest(bench, now, deadline=started + budget_s if not samples else None)
        samples.append((time.perf_counter() - started) * 1000)
        spent += samples[-1] / 1000
        if result.capped:
            break
    first_start = result.found[0][0] if result.found else None
    return NaiveTiming(
        tuple(samples),
        counter.count,
        len(result.found),
        result.capped,
        result.candidates,
        budget_s,
        first_start,
    )


def cross_check(bench: BenchClinic, ours: list[Slot], naive: NaiveTiming) -> str:
    """Every slot we return must be free by the naive checks, and the minute scan cannot find it later."""
    equipment_ids = list(bench.service.equipment.values_list("pk", flat=True))
    wrong = [s for s in ours if not naive_is_free(bench.clinic, s.dentist_id, s.start, s.end, equipment_ids)]
    text = f"{len(ours) - len(wrong)}/{len(ours)} of our slots are free by the naive checks"
    if wrong:
        text += f" MISMATCH: {wrong[:3]}"
    if naive.first_start is not None and ours and not naive.capped:
        order = "OK" if naive.first_start <= ours[0].start else "MISMATCH"
        text += f"; first slot: naive {local(bench, naive.first_start)}, "
        text += f"ours {local(bench, ours[0].start)} {order}"
    return text


def local(bench: BenchClinic, moment: datetime) -> str:
    return moment.astimezone(bench.clinic.tz).strftime("%a %Y-%m-%d %H:%M")


# The report ---------------------------------------------------------------------------------------------


def database_version() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT sqlite_version()" if connection.vendor == "sqlite" else "SHOW server_version")
        (version,) = cursor.fetchone() or ("?",)
    return f"{connection.vendor} {version}"


def code_version() -> str:
    """The commit measured, "-dirty" if the tree has changes; read-only (no index refresh)."""
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


def print_context(now: datetime) -> None:
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    print("Slot search benchmark (navbat.booking.selectors.find_free_slots, database included)")
    print(f"  code       {code_version()}")
    print(f"  python     {platform.python_version()} ({platform.python_implementation()})")
    print(f"  django     {django.get_version()}")
    print(f"  database   {database_version()}  [{settings.DATABASES['default']['NAME']}]")
    print(f"  platform   {platform.platform()}, {os.cpu_count()} CPUs, load average {load}")
    print(f"  now        {now.isoformat()} ({timezone.localtime(now):%a %H:%M} {settings.TIME_ZONE})")


@dataclass(frozen=True)
class Measured:
    clinic: str
    search: str
    timing: Timing


@dataclass(frozen=True)
class Baseline:
    timing: NaiveTiming
    check: str


def progress(message: str) -> None:
    """To stderr, so that stdout is the report alone."""
    print(f"… {message}", file=sys.stderr, flush=True)


def measure_searches(
    clinics: list[BenchClinic], now: datetime, *, warmup: int, runs: int
) -> dict[tuple[str, str], Measured]:
    results = {}
    for bench in clinics:
        for search in searches(bench, now):
            progress(f"timing search {search.key}) on the {bench.label} clinic")
            timing = measure(search, warmup=warmup, runs=runs)
            results[bench.label, search.key] = Measured(bench.label, f"{search.key}) {search.title}", timing)
    return results


def measure_baselines(
    clinics: list[BenchClinic], now: datetime, *, runs: int, budget_s: float
) -> dict[str, Baseline]:
    baselines = {}
    for bench in clinics:
        progress(f"timing the naive baseline on the {bench.label} clinic (at most {budget_s:.0f} s)")
        timing = measure_naive(bench, now, runs=runs, budget_s=budget_s)
        baselines[bench.label] = Baseline(timing, cross_check(bench, searches(bench, now)[0].run(), timing))
    return baselines


def row(clinic: str, search: str, timing: Timing) -> str:
    p50 = f"{timing.p50:10.2f}"
    p95 = f"{timing.p95:10.2f}"
    if timing.capped:
        p50 = p95 = f"{'> ' + format(timing.p50, '.0f'):>10}"
    counts = f"{timing.queries:>9} {timing.slots:>6} {len(timing.samples_ms):>5}"
    return f"  {clinic:<6} {search:<32} {p50} {p95} {counts}"


def print_table(results: dict[tuple[str, str], Measured], baselines: dict[str, Baseline]) -> None:
    print(HEADER)
    for measured in results.values():
        print(row(measured.clinic, measured.search, measured.timing))
    for label, baseline in baselines.items():
        print(row(label, "a) NAIVE minute by minute", baseline.timing))


def print_baselines(results: dict[tuple[str, str], Measured], baselines: dict[str, Baseline]) -> None:
    print("\nBaseline (search a)")
    for label, baseline in baselines.items():
        naive, ours = baseline.timing, results[label, "a"].timing
        if naive.capped:
            print(
                f"  {label}: naive CAPPED at the {naive.budget_s:.0f} s budget after {naive.candidates} "
                f"(minute, dentist) candidates and {naive.queries} queries, {naive.slots}/{LIMIT} slots "
                f"found; naive/ours (p50) > {naive.p50 / ours.p50:.0f}x"
            )
        else:
            print(
                f"  {label}: naive/ours (p50) = {naive.p50:.1f} / {ours.p50:.2f} ms "
                f"= {naive.p50 / ours.p50:.0f}x; {naive.queries} vs {ours.queries} queries per search; "
                f"{naive.candidates} (minute, dentist) candidates scanned"
            )
        print(f"  {label}: cross-check: {baseline.check}")


def verdict(passed: bool) -> str:
    return "PASS" if passed else "FAIL"


def print_goals(results: dict[tuple[str, str], Measured]) -> None:
    timing = {key: measured.timing for key, measured in results.items()}
    demo_a = timing["demo", "a"]
    print("\nGoals")
    print(
        f"  [{verdict(demo_a.p95 < GOAL_P95_MS)}] p95 < {GOAL_P95_MS:.0f} ms on the demo clinic (search a): "
        f"{demo_a.p95:.2f} ms = {demo_a.p95 / GOAL_P95_MS:.2f}x the limit"
    )
    same = all(timing["demo", key].queries == timing["large", key].queries for key in "ab")
    counts = ", ".join(
        f"{key}) {timing['demo', key].queries} vs {timing['large', key].queries}" for key in "ab"
    )
    print(f"  [{verdict(same)}] constant queries across sizes (demo vs large): {counts}")
    ratios = {key: timing["large", key].p50 / timing["demo", key].p50 for key in "ab"}
    shown = ", ".join(f"{key}) {ratio:.2f}x" for key, ratio in ratios.items())
    passed = all(ratio < GOAL_SCALE_RATIO for ratio in ratios.values())
    goal = f"large clinic < {GOAL_SCALE_RATIO:.0f}x demo time (p50 large / p50 demo)"
    print(f"  [{verdict(passed)}] {goal}: {shown}")


def main() -> int:
    args = parse_args()
    now = args.now or timezone.now().replace(second=0, microsecond=0)
    create_fresh_database()
    try:
        print_context(now)
        progress("building the demo clinic and the large one")
        clinics = build_clinics(now)
        analyze()
        print("\nClinics")
        for bench in clinics:
            print("  " + describe_clinic(bench))
        results = measure_searches(clinics, now, warmup=args.warmup, runs=args.runs)
        baselines = measure_baselines(clinics, now, runs=args.naive_runs, budget_s=args.naive_budget)
        print_table(results, baselines)
        print_baselines(results, baselines)
        print_goals(results)
        print(f"\n  load average at the end: {', '.join(f'{v:.2f}' for v in os.getloadavg())}")
    finally:
        drop_database(args.keep_db)
    return 0


if __name__ == "__main__":
    sys.exit(main())
