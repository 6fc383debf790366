"""Patient search benchmark: does the registry answer while a person types, on 100,000 patients?

Measured in-process through `navbat.patients.selectors.search_patients` (the selector the registry page
calls), database included: what registrars and operators type — a surname's first letters in Latin or
Cyrillic ("Yuld", "Юлд"), surname and name, a full phone in any format, the last digits of a phone, a
patient number. Each query runs 3 times to warm up and 40 times timed; p50 and p95 in ms per query and
over all of them. Goal: p95 < 100 ms.

Baseline in the same run: the same name queries answered without the stored cross-script keys — every
patient's names read from the database and matched in Python with `translit.matches` — the way one would
have to do it if the keys were not kept. The ratio baseline/ours is reported.

Run from the repository root (the database is wiped; a PostgreSQL database name must contain "bench"):

    .venv/bin/python benchmarks/patient_search.py [--patients 100000]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/navbat_bench .venv/bin/python benchmarks/patient_search.py
"""

# Django must be set up before the models are imported: this is a script, so imports follow the set-up.
# ruff: noqa: E402

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SQLITE_PATH = ROOT / "var" / "bench" / "patient_search.sqlite3"
os.environ["DJANGO_SETTINGS_MODULE"] = "navbat.settings"
if not os.environ.get("DATABASE_URL"):
    os.environ["DATABASE_URL"] = f"sqlite:///{SQLITE_PATH}"
sys.path.insert(0, str(ROOT))

import django

django.setup()

import argparse
import platform
import random
import statistics
import time
from collections.abc import Callable
from datetime import date, timedelta
from functools import partial

import psycopg
from django.conf import settings
from django.core.management import call_command
from django.db import connection, connections
from django.db.models import QuerySet
from psycopg import sql

from navbat.clinic.demo import FEMALE_NAMES, MALE_NAMES, SURNAMES
from navbat.clinic.models import Clinic
from navbat.patients.models import Patient, PatientCounter
from navbat.patients.selectors import search_patients
from navbat.patients.services import patient_number, refresh_search_keys
from navbat.patients.translit import matches

GOAL_P95_MS = 100.0
# Names as registrars type them in Cyrillic: a third of the registry is kept in that script.
CYRILLIC_SURNAMES = [
    "Юлдашев",
    "Ёкубов",
    "Каримов",
    "Алиев",
    "Хасанов",
    "Рахимов",
    "Эргашев",
    "Усмонов",
    "Ғаниев",
    "Ўринбоев",
    "Назаров",
    "Иванов",
    "Петров",
    "Кузнецов",
]
CYRILLIC_NAMES = ["Азиз", "Дильноза", "Мадина", "Шерзод", "Нодира", "Тимур", "Ольга", "Фаррух"]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--seed", type=int, default=2026)
    return parser.parse_args()


def database_name() -> str:
    name = str(settings.DATABASES["default"]["NAME"])
    if connection.vendor == "postgresql" and "bench" not in name:
        raise SystemExit(f"Refusing to wipe database {name!r}: its name must contain 'bench'.")
    return name


def fresh_database() -> None:
    name = database_name()
    if connection.vendor == "sqlite":
        SQLITE_PATH.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(name + suffix).unlink(missing_ok=True)
    else:
        admin = {**connection.get_connection_params(), "dbname": "postgres", "autocommit": True}
        admin.pop("cursor_factory", None)
        with psycopg.connect(**admin) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    call_command("migrate", verbosity=0, interactive=False)


def build_registry(count: int, seed: int) -> Clinic:
    """`count` generated patients (nobody real): Latin and Cyrillic names, families sharing phones."""
    rng = random.Random(seed)
    clinic = Clinic.objects.create(name="Bench clinic", country="UZ", time_zone="Asia/Tashkent")
    today = date(2026, 11, 22)
    batch: list[Patient] = []
    phone = ""
    for sequence in range(1, count + 1):
        cyrillic = rng.random() < 0.33
        surname = rng.choice(CYRILLIC_SURNAMES if cyrillic else SURNAMES)
        name = rng.choice(CYRILLIC_NAMES if cyrillic else MALE_NAMES + FEMALE_NAMES)
        if not phone or rng.random() < 0.7:  # about three patients per family phone
            phone = f"+99890{rng.randint(1_000_000, 9_999_999)}"
        patient = Patient(
            clinic=clinic,
            number=patient_number(clinic.patient_prefix, sequence),
            surname=surname,
            name=name,
            birth_date=today - timedelta(days=rng.randint(365, 90 * 365)),
            phone=phone,
        )
        refresh_search_keys(patient)
        batch.append(patient)
        if len(batch) == 5000:
            Patient.objects.bulk_create(batch)
            batch = []
    Patient.objects.bulk_create(batch)
    PatientCounter.objects.create(clinic=clinic, last=count)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return clinic


def queries(clinic: Clinic) -> list[tuple[str, str]]:
    sample = Patient.objects.filter(clinic=clinic).order_by("pk")[1234]
    digits = sample.phone.as_e164[-9:]
    return [
        ("surname prefix, Latin", "Yuld"),
        ("surname prefix, Cyrillic", "Юлд"),
        ("Latin finds Cyrillic", "Yoqub"),
        ("surname and name", "Karimov Dil"),
        ("full surname, Cyrillic", "Хасанов"),
        ("phone, national format", f"{digits[:2]} {digits[2:5]} {digits[5:7]} {digits[7:]}"),
        ("phone, E.164", sample.phone.as_e164),
        ("last four digits", digits[-4:]),
        ("patient number", sample.number or ""),
    ]


def timed_ms(run: Callable[[], object]) -> float:
    start = time.perf_counter()
    run()
    return (time.perf_counter() - start) * 1000


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def search(patients: QuerySet[Patient], typed: str) -> list[Patient]:
    return search_patients(patients=patients, query=typed, region="UZ")


def naive_search(query: str, limit: int = 20) -> list[int]:
    """Without stored keys: read every patient's names and match them in Python."""
    found = []
    for pk, surname, name in Patient.objects.values_list("pk", "surname", "name").iterator(chunk_size=5000):
        if matches(query, surname, name):
            found.append(pk)
            if len(found) >= limit:
                break
    return found


def main() -> int:
    args = parse_args()
    fresh_database()
    try:
        started = time.perf_counter()
        clinic = build_registry(args.patients, args.seed)
        built = time.perf_counter() - started
        load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
        print("Patient search benchmark (navbat.patients.selectors.search_patients, database included)")
        print(f"  python     {platform.python_version()}, django {django.get_version()}")
        print(f"  database   {connection.vendor} [{settings.DATABASES['default']['NAME']}]")
        print(f"  platform   {platform.platform()}, {os.cpu_count()} CPUs, load average {load}")
        print(f"  registry   {Patient.objects.count():,} generated patients, built in {built:.1f} s\n")
        patients = Patient.objects.filter(clinic=clinic)
        every: list[float] = []
        print(f"  {'query':<28} {'typed':<18} {'found':>5} {'p50 ms':>8} {'p95 ms':>8}")
        for label, typed in queries(clinic):

            def run(typed: str = typed) -> list[Patient]:
                return search(patients, typed)

            for _ in range(3):
                run()
            times = [timed_ms(run) for _ in range(args.runs)]
            every.extend(times)
            print(
                f"  {label:<28} {typed:<18} {len(run()):>5} {statistics.median(times):>8.2f} "
                f"{percentile(times, 0.95):>8.2f}"
            )
        p95 = percentile(every, 0.95)
        print(f"\n  all queries: p50 {statistics.median(every):.2f} ms, p95 {p95:.2f} ms")
        print("\nBaseline (name queries without stored keys: every patient read and matched in Python)")
        for typed in ("Юлд", "Zzyzx"):
            ours = [timed_ms(partial(search, patients, typed)) for _ in range(5)]
            naive = [timed_ms(partial(naive_search, typed)) for _ in range(3)]
            ours_ms, naive_ms = statistics.median(ours), statistics.median(naive)
            print(
                f"  {typed!r:<8} naive {naive_ms:8.1f} ms, ours {ours_ms:6.2f} ms: {naive_ms / ours_ms:.0f}x"
            )
        verdict = "PASS" if p95 < GOAL_P95_MS else "FAIL"
        print(f"\nGoal\n  [{verdict}] p95 < {GOAL_P95_MS:.0f} ms on {args.patients:,} patients: {p95:.2f} ms")
    finally:
        connections.close_all()
    return 0


if __name__ == "__main__":
    sys.exit(main())
