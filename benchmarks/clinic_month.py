"""Proof of issue 6: a simulated month of a polyclinic, through the real services, under two policies.

The clinic (built here, like the demo's but sized for the call centre's ~290 visits a day): 15 dentists —
10 therapists for adults, 5 paediatric dentists —, one chair each, Monday–Saturday 08:00–17:00 with lunch
12:00–13:00; state-funded (free) services of 20–40 minutes (adults: consultation 20, caries 30, filling 40;
children: consultation 20, caries 30) and "pain-relief" (30, the urgent service, any dentist). Slot step 10
minutes, online notice 60 minutes, horizon 30 days, Asia/Tashkent. The registry (bulk-created): 24,000
adults (80% agreed to SMS; 5% missed two visits in the last months), 8,000 children linked to a parent,
and separate pools of emergency patients and of the scalpers' buyers.

A virtual clock (django.utils.timezone.now patched, and `now=` passed wherever a service takes it) steps
through events in time order. Every day (`--bookings-per-day` on Monday–Saturday, 30% of it on Sunday):
- ordinary requests (65% adults, 35% children booked by a parent; 60% online, 40% by the call centre),
  each wanting the earliest time from a first day (30% "as soon as possible", 40% within a week, 30% in
  one to three weeks) within a tolerance (7–10 days) and a time of day (morning, afternoon, any):
  find_free_slots, then book_appointment. Nothing within the tolerance: 60% take the first later time;
  under "defaults" they also join the waitlist for an earlier one (join_waitlist with earlier_than), and
  those who book nothing join it for their dates (80%). Under "none" they go away unserved;
- release seekers (5% of the online requests) want the day that opens in the morning (today + horizon);
  under "defaults" they enter the fair draw (enter_draw; the draw is run at the window's close with
  run_release_draw — what its task does), under "none" they book it first come when its times open;
- the scalper group (`--scalper-phones` SIM cards behind `--scalper-ips` addresses) tries to take
  `--scalper-share` of each morning's release: it registers invented adults online (request_code →
  verify_code → register_self, so phone verification, OTP rate limits and the per-phone patient limit
  apply), enters every free identity into the draw, and polls the new day hourly (it opens whole at 07:00)
  (a search counted by accounts.ratelimits with the search limits, then book_appointment: quotas, the
  no-show policy and the draw apply). 70% of its tickets are resold: 1.5–6 h before the visit the
  scalper cancels and the buyer books that very time at once; the rest are cancelled late or not used;
- cancellations: 8–20% of visits (more for long lead times), 45% days ahead, 30% 2–24 h ahead, 25% less
  than 2 h ahead; cancel_appointment (which offers the time to the waitlist under "defaults");
- no-shows: 5% + 0.25% per day of lead time (children 0.8x), +30% for the patients with past
  no-shows; they simply do not come, and run_capacity_rules (every 30 minutes 07:00–21:00, hourly at
  night) marks them. Everybody else arrives (change_status arrived, then fulfilled at the visit's end).
  A booking made "pending confirmation" (no-show policy) is confirmed by SMS by 80% of those who will
  come and 10% of the others, and by the operator's call task (remind_unconfirmed);
- waitlist offers (defaults) are answered: 70% accept within the offer time (accept_offer), 15% decline
  (decline_offer), 15% let it expire (expire_offer_now at its end, as the expire_offer task does);
- emergencies: 5 per working day, 08:30–15:00, through book_emergency (the emergency reserve competes
  with today's gaps; with no CapacityPolicy the reserve is empty);
- the outbox is dispatched hourly 08:00–21:00 (dispatch_due; every channel but calls is
  counted and delivered at once), and operators work the open call tasks (record_call_outcome: 70%
  answer — a question is answered "confirmed" by those who will come and by the scalpers, who keep
  every ticket until it is resold, else "cancelled").

Policies, same seed, same clinic, same demand:
- "none": first-come tickets, no waitlist, no reserve, no limits. No CapacityPolicy (no reserve, no
  no-show policy); BookingPolicy with 1,000 free bookings per specialty, 1,000 moves and a draw window of
  0 minutes (no draw); 20 patients per phone (the most the clinic's setting allows); OTP and search
  limits of 10^6. What configuration cannot switch off is not called: nobody joins the waitlist or the
  draw. cancel_appointment still records the freed time (FreedTime) and finds nobody waiting.
- "defaults": CapacityPolicy and BookingPolicy rows with their default values, the clinic's defaults (6
  patients per phone) and the settings' OTP and search limits.

`--warmup-days` (7) days are simulated first so that the book is not empty; the figures cover the
`--days` days that follow. Definitions:
- chair utilisation: minutes of visits fulfilled in the window / the dentists' working minutes in it
  (every dentist has his own chair);
- patients treated: fulfilled visits in the window (emergencies included);
- median days to appointment: over ordinary requests made in the window that got a visit, days from the
  request to the visit (to the earlier visit a waitlist offer moved it to);
- freed slots refilled: times freed by a cancellation or a move (FreedTime rows matching a cancelled
  appointment; reserve releases and no-shows not counted) in the window, at least 2 h before they start,
  that some later booking (not cancelled) of the same dentist overlaps;
- released slots taken by the scalper group: minutes booked by the group's identities for the days that
  opened in the window (today + horizon), booked on their day of release, / those days' working minutes;
- emergencies seen the same day: book_emergency found a time the same day;
- operator calls: inbound calls (the call centre's booking requests) + outbound call attempts (each
  record_call_outcome on a CallTask, which the outbox's call channel and remind_unconfirmed open).

Goals (issue 6 §6): ≥ 90% of the freed slots refilled; the scalper group < 1% of the released slots;
≥ 95% of the emergencies seen the same day. PASS/FAIL is printed per policy; the script exits 0.

Run from the repository root:

    .venv/bin/python benchmarks/clinic_month.py [--days 30] [--seed 1] [--bookings-per-day 290]
    .venv/bin/python benchmarks/clinic_month.py --database-url postgres://postgres@127.0.0.1:5432/navbat_bench

Without --database-url a fresh SQLite file in a temporary directory; with a PostgreSQL URL the named
database (its name must contain "bench") is dropped, created and migrated for each policy.
"""

# Django must be set up before the models are imported: this is a script, so imports follow the set-up.
# ruff: noqa: E402

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--days", type=int, default=30, help="simulated days measured (30)")
    parser.add_argument("--warmup-days", type=int, default=7, help="days simulated before them (7)")
    parser.add_argument("--seed", type=int, default=1, help="random seed, the same for both policies (1)")
    parser.add_argument("--bookings-per-day", type=int, default=290, help="requests per working day (290)")
    parser.add_argument("--start", default="2026-11-02", help="first measured day, a Monday (2026-11-02)")
    parser.add_argument("--scalper-phones", type=int, default=40, help="SIM cards of the group (40)")
    parser.add_argument("--scalper-ips", type=int, default=4, help="addresses the group uses (4)")
    parser.add_argument("--scalper-share", type=float, default=0.30, help="share of a release wanted (0.3)")
    parser.add_argument("--policy", choices=["none", "defaults", "both"], default="both")
    parser.add_argument("--database-url", default="", help="default: SQLite in a temporary directory")
    parser.add_argument("--keep-db", action="store_true", help="keep the PostgreSQL database afterwards")
    # Internal: on SQLite the two policies run at once, each in a process of its own writing its figures here.
    parser.add_argument("--result-file", default="", help=argparse.SUPPRESS)
    return parser.parse_args()


ARGS = parse_args()
TEMP_DIR = "" if ARGS.database_url else tempfile.mkdtemp(prefix="navbat-clinic-month-")
os.environ["DATABASE_URL"] = ARGS.database_url or f"sqlite:///{TEMP_DIR}/clinic_month_bench.sqlite3"
os.environ["DJANGO_SETTINGS_MODULE"] = "navbat.settings"
os.environ["NAVBAT_NOTIFY_BACKEND"] = "benchmarks.clinic_month_channel.CountingChannel"
sys.path.insert(0, str(ROOT))

import django

django.setup()

from django.conf import settings

# Tasks are not run by a worker here: the simulation calls what they would (the draw, offer expiry, the
# sweep, the outbox) at their virtual times. The dummy backend only records what was enqueued.
settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}

import heapq
import itertools
import json
import platform
import random
import re
import statistics
import subprocess
import time as wallclock
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta
from functools import partial
from unittest import mock
from zoneinfo import ZoneInfo

from django.contrib.auth.models import User
from django.core.cache import cache
from django.db import connections
from django.db.models import Max
from django.test.utils import override_settings
from django.utils import timezone
from django_tasks import default_task_backend

from benchmarks.clinic_month_channel import CountingChannel
from benchmarks.slot_search import code_version, create_fresh_database, database_version, drop_database
from navbat.accounts import ratelimits
from navbat.accounts.audit import Actor
from navbat.accounts.models import OtpPurpose
from navbat.accounts.otp import register_self, request_code, verify_code
from navbat.booking.models import (
    Appointment,
    BookingPolicy,
    FreedTime,
    OfferStatus,
    ReleaseDraw,
    Urgency,
    WaitlistOffer,
)
from navbat.booking.noshows import run_capacity_rules
from navbat.booking.release import enter_draw, run_release_draw
from navbat.booking.reserve import RESERVE_HIDDEN_CHANNELS
from navbat.booking.selectors import find_free_slots, load_availability
from navbat.booking.services import book_appointment, book_emergency, cancel_appointment, change_status
from navbat.booking.statuses import Channel, Status
from navbat.booking.waitlist import (
    accept_offer,
    decline_offer,
    expire_offer_now,
    join_waitlist,
    refill_stats,
)
from navbat.clinic.models import (
    CapacityPolicy,
    Chair,
    Clinic,
    Department,
    DepartmentKind,
    Funding,
    PlanInterval,
    PlanIntervalKind,
    Service,
    Specialty,
    StaffMember,
    StaffRole,
    WorkingPlan,
)
from navbat.errors import DomainError
from navbat.notify.calls import record_call_outcome
from navbat.notify.dispatch import dispatch_due
from navbat.notify.models import CallOutcome, CallTask, Kind
from navbat.patients.models import Consent, ConsentKind, Guardianship, Patient, PatientCounter
from navbat.patients.services import PatientData, patient_number, refresh_search_keys
from navbat.scheduling import Slot, TimeWindow, Wishes

TZ = ZoneInfo("Asia/Tashkent")
HORIZON_DAYS = 30
WORK = (time(8), time(17))
LUNCH = (time(12), time(13))
WORKING_WEEKDAYS = range(6)  # Monday–Saturday
SUNDAY_DEMAND = 0.3
THERAPISTS = 10
PAEDIATRIC = 5
ADULT_SERVICES = (("consult", 20, 0.35), ("caries", 30, 0.40), ("filling", 40, 0.25))
CHILD_SERVICES = (("child-consult", 20, 0.5), ("child-caries", 30, 0.5))
URGENT_CODE = "pain-relief"
TICKET_CODE = "consult"  # what the scalpers book: the shortest free adult visit
ADULTS, CHILDREN, EMERGENCY_PATIENTS, BUYERS = 24_000, 8_000, 600, 4_000
CHILD_SHARE = 0.35
ONLINE_SHARE = 0.60
SEEKER_SHARE = 0.05
FLAKY_SHARE = 0.05
SMS_CONSENT_SHARE = 0.80
EMERGENCIES_PER_DAY = 5
ACCEPTS_LATER = 0.60
JOINS_WAITLIST = 0.80
RESOLD = 0.70
SCALPER_POLLS = 9  # hourly, 08:05–16:05, for what the draw and the first hours left of the new day
ANSWERS_CALL = 0.70
REFILL_LEAD = timedelta(hours=2)
GOAL_REFILL, GOAL_SCALPER, GOAL_EMERGENCY = 0.90, 0.01, 0.95
UNLIMITED = 1_000_000
CONSENT_VERSION = "bench-1"
MORNING = TimeWindow(time(8), time(12))
AFTERNOON = TimeWindow(time(13), time(17))
HELD = (Status.BOOKED, Status.PENDING)
USED = (Status.ARRIVED, Status.CHECKED_IN, Status.FULFILLED)
SYLLABLES = ("ka", "ri", "mo", "zu", "la", "te", "bo", "xa", "ni", "sho", "da", "gu", "ye", "fi", "ru")


# The virtual clock ------------------------------------------------------------------------------------


class Clock:
    def __init__(self, start: datetime) -> None:
        self.at = start

    def now(self) -> datetime:
        return self.at


@contextmanager
def virtual_time(clock: Clock) -> Iterator[None]:
    with mock.patch("django.utils.timezone.now", clock.now):
        yield


def local(day: date, at: time) -> datetime:
    return datetime.combine(day, at, tzinfo=TZ)


def rng_for(seed: int, *parts: object) -> random.Random:
    """An independent stream per purpose and day: both policies draw the same demand."""
    return random.Random(":".join(str(part) for part in (seed, *parts)))


# The clinic and its registry ----------------------------------------------------------------------------


@dataclass
class World:
    clinic: Clinic
    services: dict[str, Service]
    dentists: dict[int, StaffMember]
    chairs: dict[int, Chair]
    registrar: User
    operator: User


def build_world(first_day: date) -> World:
    clinic = Clinic.objects.create(
        name="Polyclinic (simulated)",
        slot_step_minutes=10,
        min_notice_minutes=60,
        horizon_days=HORIZON_DAYS,
        time_zone="Asia/Tashkent",
    )
    adult = Department.objects.create(clinic=clinic, name="Adults", kind=DepartmentKind.ADULT)
    children = Department.objects.create(clinic=clinic, name="Children", kind=DepartmentKind.CHILDREN)
    therapist, paediatric, urgent = (specialty(code) for code in ("therapist", "paediatric", "urgent-care"))
    services = {
        code: make_service(clinic, code, minutes, therapist, min_age=18)
        for code, minutes, _ in ADULT_SERVICES
    }
    services |= {
        code: make_service(clinic, code, minutes, paediatric, max_age=17)
        for code, minutes, _ in CHILD_SERVICES
    }
    services[URGENT_CODE] = make_service(clinic, URGENT_CODE, 30, urgent)
    dentists: dict[int, StaffMember] = {}
    chairs: dict[int, Chair] = {}
    for index in range(THERAPISTS + PAEDIATRIC):
        kids = index >= THERAPISTS
        chair = Chair.objects.create(department=children if kids else adult, name=f"Chair {index + 1}")
        dentist = staff(clinic, f"dentist{index + 1}", StaffRole.DENTIST)
        dentist.specialties.set([paediatric if kids else therapist, urgent])
        working_plan(dentist, chair, valid_from=first_day - timedelta(days=1))
        dentists[dentist.pk] = dentist
        chairs[chair.pk] = chair
    return World(
        clinic=clinic,
        services=services,
        dentists=dentists,
        chairs=chairs,
        registrar=staff(clinic, "registrar", StaffRole.REGISTRAR).user,
        operator=staff(clinic, "operator", StaffRole.OPERATOR).user,
    )


def specialty(code: str) -> Specialty:
    found, _created = Specialty.objects.get_or_create(
        code=code, defaults={"name_uz": code, "name_ru": code, "name_en": code}
    )
    return found


def make_service(
    clinic: Clinic,
    code: str,
    minutes: int,
    of: Specialty,
    *,
    min_age: int | None = None,
    max_age: int | None = None,
) -> Service:
    service = Service.objects.create(
        clinic=clinic,
        code=code,
        name_uz=code,
        name_ru=code,
        name_en=code,
        duration_minutes=minutes,
        specialty=of,
        funding=Funding.STATE,
        min_age=min_age,
        max_age=max_age,
    )
    service.clinic = clinic
    return service


def staff(clinic: Clinic, username: str, role: StaffRole) -> StaffMember:
    user = User.objects.create(username=username)
    member = StaffMember.objects.create(user=user, clinic=clinic, role=role)
    member.clinic = clinic
    return member


def working_plan(dentist: StaffMember, chair: Chair, *, valid_from: date) -> None:
    plan = WorkingPlan.objects.create(staff=dentist, valid_from=valid_from, default_chair=chair)
    intervals = []
    for weekday in WORKING_WEEKDAYS:
        intervals.append(PlanInterval(plan=plan, weekday=weekday, start=WORK[0], end=WORK[1]))
        intervals.append(
            PlanInterval(
                plan=plan, weekday=weekday, kind=PlanIntervalKind.BREAK, start=LUNCH[0], end=LUNCH[1]
            )
        )
    PlanInterval.objects.bulk_create(intervals)


@dataclass
class Registry:
    adults: list[int]
    children: list[int]
    flaky: set[int]
    emergency: list[int]
    buyers: list[int]


def invented_name(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))).capitalize()


def new_patients(
    clinic: Clinic, rng: random.Random, count: int, *, first: int, child: bool, today: date
) -> list[Patient]:
    rows = []
    for index in range(first, first + count):
        years = rng.randint(2, 16) if child else rng.randint(18, 80)
        patient = Patient(
            clinic=clinic,
            number=patient_number(clinic.patient_prefix, index + 1),
            surname=invented_name(rng) + "ov",
            name=invented_name(rng),
            birth_date=today - timedelta(days=365 * years + rng.randint(0, 364)),
            sex=rng.choice(["male", "female"]),
            phone="" if child else f"+99890{1_000_000 + index}",
            is_verified=True,
        )
        refresh_search_keys(patient)
        rows.append(patient)
    return Patient.objects.bulk_create(rows, batch_size=2000)


def build_registry(world: World, seed: int, today: date) -> Registry:
    """Bulk-created, as an import would leave them: the registry is not what is measured."""
    rng = rng_for(seed, "registry")
    clinic = world.clinic
    sizes = [(ADULTS, False), (CHILDREN, True), (EMERGENCY_PATIENTS, False), (BUYERS, False)]
    groups, first = [], 0
    for count, child in sizes:
        groups.append([p.pk for p in new_patients(clinic, rng, count, first=first, child=child, today=today)])
        first += count
    PatientCounter.objects.update_or_create(clinic=clinic, defaults={"last": first})
    adults, children, emergency, buyers = groups
    parents = rng.sample(adults, len(children))
    Guardianship.objects.bulk_create(
        Guardianship(guardian_id=parent, child_id=child, relation=Guardianship.Relation.MOTHER)
        for parent, child in zip(parents, children, strict=True)
    )
    grown = adults + emergency + buyers
    Consent.objects.bulk_create(
        (
            Consent(patient_id=pk, kind=ConsentKind.SMS, granted=True, text_version=CONSENT_VERSION)
            for pk in grown
            if rng.random() < SMS_CONSENT_SHARE
        ),
        batch_size=2000,
    )
    flaky = set(rng.sample(adults, int(FLAKY_SHARE * len(adults))))
    past_no_shows(world, sorted(flaky), today)
    for pool in (adults, children, emergency, buyers):
        rng.shuffle(pool)
    return Registry(adults=adults, children=children, flaky=flaky, emergency=emergency, buyers=buyers)


def past_no_shows(world: World, patients: list[int], today: date) -> None:
    """Two missed visits each in the last months: what the no-show policy counts (K=2 in 6 months)."""
    service = world.services["consult"]
    dentist_id, chair_id = next(iter(world.dentists)), next(iter(world.chairs))
    rows = []
    for index, patient_id in enumerate(patients):
        for months_ago in (2, 4):
            start = local(today - timedelta(days=30 * months_ago + index % 20), time(8)) + timedelta(
                minutes=20 * (index // 20 % 24)
            )
            rows.append(
                Appointment(
                    clinic=world.clinic,
                    patient_id=patient_id,
                    service=service,
                    dentist_id=dentist_id,
                    chair_id=chair_id,
                    starts_at=start,
                    ends_at=start + timedelta(minutes=20),
                    status=Status.NOSHOW,
                    channel=Channel.PHONE,
                )
            )
    Appointment.objects.bulk_create(rows, batch_size=2000)


# Policies ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Policy:
    name: str

    @property
    def defaults(self) -> bool:
        return self.name == "defaults"


def configure(world: World, policy: Policy) -> None:
    clinic = world.clinic
    if policy.defaults:
        CapacityPolicy.objects.create(clinic=clinic)
        BookingPolicy.objects.create(clinic=clinic)
        return
    clinic.max_patients_per_phone = 20  # the most Clinic's validators allow
    clinic.save(update_fields=["max_patients_per_phone"])
    BookingPolicy.objects.create(
        clinic=clinic, free_bookings_per_specialty=1000, max_reschedules=1000, release_window_minutes=0
    )


def policy_settings(policy: Policy) -> override_settings:
    if policy.defaults:
        return override_settings()
    otp = {"phone_per_hour": UNLIMITED, "phone_per_day": UNLIMITED, "ip_per_hour": UNLIMITED}
    search = {"period_seconds": 900, "ip": UNLIMITED, "phone": UNLIMITED, "staff": UNLIMITED}
    return override_settings(NAVBAT_OTP_LIMITS={**otp, "ip_per_day": UNLIMITED}, NAVBAT_SEARCH_LIMITS=search)


# Demand: the same under both policies ---------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    at: datetime
    child: bool
    service_code: str
    channel: Channel
    earliest_days: int
    tolerance_days: int
    window: TimeWindow | None
    accepts_later: bool
    seeker: bool
    draws: tuple[float, ...]  # fate, cancel timing (2), confirmation, waitlist


def daily_requests(day: date, seed: int, per_day: int) -> list[Request]:
    rng = rng_for(seed, "requests", day)
    count = per_day if day.weekday() in WORKING_WEEKDAYS else round(per_day * SUNDAY_DEMAND)
    return [one_request(day, rng) for _ in range(count)]


def one_request(day: date, rng: random.Random) -> Request:
    child = rng.random() < CHILD_SHARE
    menu = CHILD_SERVICES if child else ADULT_SERVICES
    code = rng.choices([c for c, _, _ in menu], weights=[w for _, _, w in menu])[0]
    online = rng.random() < ONLINE_SHARE
    seeker = online and rng.random() < SEEKER_SHARE / ONLINE_SHARE
    kind = rng.random()
    earliest = 0 if kind < 0.3 else rng.randint(1, 7) if kind < 0.7 else rng.randint(7, 21)
    hour = rng.uniform(7, 23) if online else rng.uniform(8, 18)
    at = local(day, time(7)) + timedelta(minutes=rng.uniform(0, 9.9)) if seeker else local(day, time(0))
    if not seeker:
        at += timedelta(hours=hour)
    pick = rng.random()
    return Request(
        at=at,
        child=child,
        service_code=code,
        channel=Channel.WEB if online else Channel.PHONE,
        earliest_days=earliest,
        tolerance_days=7 if earliest == 0 else 10,
        window=MORNING if pick < 0.4 else AFTERNOON if pick < 0.65 else None,
        accepts_later=rng.random() < ACCEPTS_LATER,
        seeker=seeker,
        draws=tuple(rng.random() for _ in range(5)),
    )


@dataclass(frozen=True)
class Fate:
    kind: str  # "come", "noshow", "cancel"
    cancel_at: datetime | None = None


def fate_of(
    draws: tuple[float, ...], *, booked_at: datetime, starts_at: datetime, flaky: bool, child: bool
) -> Fate:
    lead_days = max(0.0, (starts_at - booked_at) / timedelta(days=1))
    p_cancel = 0.08 + 0.004 * min(lead_days, 30)
    p_noshow = (0.05 + 0.0025 * lead_days) * (0.8 if child else 1.0) + (0.30 if flaky else 0.0)
    u = draws[0]
    if u < p_cancel:
        return Fate("cancel", cancel_time(draws[1], draws[2], booked_at=booked_at, starts_at=starts_at))
    return Fate("noshow" if u < p_cancel + p_noshow else "come")


def cancel_time(u: float, v: float, *, booked_at: datetime, starts_at: datetime) -> datetime:
    """45% days ahead, 30% 2–24 h ahead, 25% less than 2 h ahead (never before the booking)."""
    hour = timedelta(hours=1)
    if u < 0.45 and starts_at - booked_at > 25 * hour:
        at = booked_at + hour + v * (starts_at - 24 * hour - booked_at - hour)
    elif u < 0.75:
        at = starts_at - (2 + 22 * v) * hour
    else:
        at = starts_at - (20 + 100 * v) * timedelta(minutes=1)
    return max(at, booked_at + timedelta(minutes=5))


# The simulation ----------------------------------------------------------------------------------------


@dataclass(order=True)
class Event:
    at: datetime
    order: int
    action: Callable[[], None] = field(compare=False)


@dataclass
class Tally:
    counts: Counter[str] = field(default_factory=Counter)
    # (patient, requested at) → days from the request to his visit
    leads: dict[tuple[int, datetime], float] = field(default_factory=dict)


class Simulation:
    def __init__(
        self, world: World, registry: Registry, policy: Policy, args: argparse.Namespace, clock: Clock
    ) -> None:
        self.world, self.registry, self.policy, self.args = world, registry, policy, args
        self.clinic = world.clinic
        self.first_day = date.fromisoformat(args.start) - timedelta(days=args.warmup_days)
        self.window_start = local(date.fromisoformat(args.start), time(0))
        self.window_end = self.window_start + timedelta(days=args.days)
        self.clock = clock  # the one django.utils.timezone.now answers from
        self.events: list[Event] = []
        self.sequence = itertools.count()
        self.tally = Tally()
        self.rng = rng_for(args.seed, "simulation", policy.name)
        self.patients: dict[int, Patient] = {}
        self.busy_until: dict[int, datetime] = {}
        self.requested_at: dict[int, datetime] = {}  # patient → his open request (for days to the visit)
        self.cursor = {"adult": 0, "child": 0, "emergency": 0, "buyer": 0}
        self.scalpers = Scalpers(args)
        self.fates: dict[int, str] = {}
        self.seekers: dict[int, tuple[Request, int]] = {}  # draw entry → the request behind it
        self.last_offer = 0
        self.first_call_task = 0

    # The event queue

    def at(self, moment: datetime, action: Callable[[], None]) -> None:
        heapq.heappush(self.events, Event(moment, next(self.sequence), action))

    def now(self) -> datetime:
        return self.clock.at

    def count(self, key: str, by: int = 1) -> None:
        if self.now() >= self.window_start:
            self.tally.counts[key] += by

    def run(self) -> None:
        days = self.args.warmup_days + self.args.days
        for offset in range(days):
            day = self.first_day + timedelta(days=offset)
            self.at(local(day, time(0)), partial(self.plan_day, day))
        end = self.window_end
        while self.events and self.events[0].at < end:
            event = heapq.heappop(self.events)
            self.clock.at = max(self.clock.at, event.at)
            if timezone.now() != self.clock.at:
                raise RuntimeError("django.utils.timezone.now does not answer from the virtual clock")
            if event.at >= self.window_start and not self.first_call_task:
                self.first_call_task = (CallTask.objects.aggregate(last=Max("pk"))["last"] or 0) + 1
            event.action()
            if self.policy.defaults:
                self.watch_offers()

    def plan_day(self, day: date) -> None:
        default_task_backend.clear()  # type: ignore[attr-defined]
        self.progress(day)
        for request in daily_requests(day, self.args.seed, self.args.bookings_per_day):
            self.at(request.at, partial(self.request, request))
        self.plan_release(day)
        self.plan_emergencies(day)
        self.plan_rounds(day)

    def progress(self, day: date) -> None:
        if day.weekday() == 0 or day == self.first_day:
            print(
                f"… {self.policy.name}: {day} ({self.tally.counts['booked']} booked so far)", file=sys.stderr
            )

    def plan_rounds(self, day: date) -> None:
        """The worker's rounds: the capacity sweep every 30 minutes 07:00–21:00 (hourly at night), the outbox
        and the operators' calls hourly 08:00–21:00."""
        for minutes in range(0, 24 * 60, 30):
            moment = local(day, time(0)) + timedelta(minutes=minutes)
            if 7 * 60 <= minutes <= 21 * 60 or minutes % 60 == 0:
                self.at(moment, self.sweep)
            if 8 * 60 <= minutes <= 21 * 60 and minutes % 60 == 0:
                self.at(moment + timedelta(minutes=1), self.outbox)

    # Patients

    def patient(self, pk: int) -> Patient:
        if pk not in self.patients:
            found = Patient.objects.get(pk=pk)
            found.clinic = self.clinic
            self.patients[pk] = found
        return self.patients[pk]

    def next_free(self, pool_name: str, pool: list[int]) -> int:
        """The next patient of the pool who has no visit or request of his own pending."""
        for _ in range(len(pool)):
            pk = pool[self.cursor[pool_name] % len(pool)]
            self.cursor[pool_name] += 1
            if self.busy_until.get(pk, self.now()) <= self.now():
                return pk
        raise RuntimeError(f"the {pool_name} pool is exhausted: enlarge the registry")

    # Ordinary requests

    def request(self, request: Request) -> None:
        child = request.child
        patient_id = self.next_free(
            "child" if child else "adult", self.registry.children if child else self.registry.adults
        )
        self.busy_until[patient_id] = self.now() + timedelta(days=1)
        self.requested_at[patient_id] = self.now()
        self.count("requests")
        self.count(f"requests:{request.channel}")
        if request.seeker:
            self.seek_release(request, patient_id)
            return
        self.find_and_book(request, patient_id)

    def find_and_book(self, request: Request, patient_id: int) -> None:
        today = self.now().astimezone(TZ).date()
        first = today + timedelta(days=request.earliest_days)
        last_wished = first + timedelta(days=request.tolerance_days)
        horizon = today + timedelta(days=HORIZON_DAYS)
        slot = self.search(request, patient_id, first, min(last_wished, horizon))
        later = None
        if slot is None and request.accepts_later and last_wished < horizon:
            later = self.search(request, patient_id, last_wished + timedelta(days=1), horizon)
        chosen = slot or later
        booked = self.book_request(request, patient_id, chosen) if chosen else None
        if booked is not None and booked.starts_at.astimezone(TZ).date() <= last_wished:
            return
        if self.policy.defaults and (booked is not None or request.draws[4] < JOINS_WAITLIST):
            self.join(request, patient_id, first, last_wished, earlier_than=booked)
        elif booked is None:
            self.count("unserved")
            self.busy_until[patient_id] = self.now()

    def search(self, request: Request, patient_id: int, first: date, last: date) -> Slot | None:
        if last < first:
            return None
        slots = find_free_slots(
            clinic=self.clinic,
            service=self.world.services[request.service_code],
            first_day=first,
            last_day=last,
            now=self.now(),
            patient_id=patient_id,
            wishes=Wishes(windows=(request.window,)) if request.window else None,
            limit=1,
            online=request.channel == Channel.WEB,
            hide_reserve=request.channel in RESERVE_HIDDEN_CHANNELS,  # as the console does
        )
        return slots[0] if slots else None

    def book_request(self, request: Request, patient_id: int, slot: Slot) -> Appointment | None:
        appointment = self.book(
            patient_id, self.world.services[request.service_code], slot, request.channel, group="ordinary"
        )
        if appointment is not None:
            self.track(appointment, request.draws, group="ordinary")
        return appointment

    def book(
        self, patient_id: int, service: Service, slot: Slot, channel: Channel, *, group: str
    ) -> Appointment | None:
        try:
            appointment = book_appointment(
                patient=self.patient(patient_id),
                service=service,
                starts_at=slot.start,
                channel=channel,
                dentist=self.world.dentists[slot.dentist_id],
                chair=self.world.chairs[slot.chair_id],
                created_by=self.world.operator if channel == Channel.PHONE else None,
                now=self.now(),
            )
        except DomainError as error:
            self.count(f"refused:{group}:{error.code}")
            return None
        self.count("booked")
        self.count(f"booked:{group}")
        if appointment.status == Status.PENDING:
            self.count("booked pending confirmation")
        return appointment

    def join(
        self, request: Request, patient_id: int, first: date, last: date, *, earlier_than: Appointment | None
    ) -> None:
        window = request.window
        try:
            join_waitlist(
                patient=self.patient(patient_id),
                service=self.world.services[request.service_code],
                date_from=first,
                date_to=last,
                time_from=window.start if window else None,
                time_to=window.end if window else None,
                urgency=Urgency.ROUTINE,
                earlier_than=earlier_than,
                created_by=self.world.operator if request.channel == Channel.PHONE else None,
                now=self.now(),
            )
        except DomainError as error:
            self.count(f"refused:waitlist:{error.code}")
            return
        self.count("waitlist joined" + (" (for an earlier time)" if earlier_than else ""))
        if earlier_than is None:
            self.busy_until[patient_id] = local(last + timedelta(days=1), time(0))

    # Visits: what each booked patient will do

    def track(self, appointment: Appointment, draws: tuple[float, ...], *, group: str) -> None:
        patient_id = appointment.patient_id
        self.busy_until[patient_id] = max(self.busy_until.get(patient_id, self.now()), appointment.ends_at)
        if group in ("ordinary", "seeker", "waitlist") and patient_id in self.requested_at:
            requested = self.requested_at[patient_id]
            self.tally.leads[patient_id, requested] = (appointment.starts_at - requested) / timedelta(days=1)
        fate = fate_of(
            draws,
            booked_at=self.now(),
            starts_at=appointment.starts_at,
            flaky=patient_id in self.registry.flaky,
            child=group == "ordinary" and appointment.service.code.startswith("child"),
        )
        pk = appointment.pk
        self.fates[pk] = fate.kind
        if fate.kind == "cancel" and fate.cancel_at is not None:
            self.at(fate.cancel_at, partial(self.patient_cancels, pk))
        elif fate.kind == "come":
            self.at(appointment.starts_at - timedelta(minutes=5), partial(self.arrive, pk))
        if appointment.status == Status.PENDING:
            self.plan_confirmation(appointment, fate, draws[3])

    def plan_confirmation(self, appointment: Appointment, fate: Fate, u: float) -> None:
        if u >= (0.8 if fate.kind == "come" else 0.1):
            return
        pk = appointment.pk
        moment = max(self.now() + timedelta(minutes=10), appointment.starts_at - timedelta(hours=40))
        self.at(moment, partial(self.confirm, pk))

    def confirm(self, pk: int) -> None:
        from navbat.booking.services import confirm_appointment

        appointment = Appointment.objects.get(pk=pk)
        if appointment.status in HELD:
            confirm_appointment(appointment=appointment, via="sms", now=self.now())
            self.count("confirmed by SMS")

    def patient_cancels(self, pk: int) -> None:
        appointment = Appointment.objects.get(pk=pk)
        if appointment.status not in HELD:
            return
        cancel_appointment(appointment=appointment, reason="patient cancelled")
        self.count("cancelled by the patient")
        self.busy_until[appointment.patient_id] = self.now()

    def arrive(self, pk: int) -> None:
        appointment = Appointment.objects.get(pk=pk)
        if appointment.status not in HELD:
            self.count("came but the visit was gone")
            return
        change_status(appointment=appointment, to=Status.ARRIVED, actor=self.world.registrar)
        self.at(appointment.ends_at, partial(self.fulfil, pk))

    def fulfil(self, pk: int) -> None:
        appointment = Appointment.objects.get(pk=pk)
        if appointment.status == Status.ARRIVED:
            change_status(appointment=appointment, to=Status.FULFILLED, actor=self.world.registrar)

    # The waitlist's offers, answered by the patients

    def watch_offers(self) -> None:
        for offer in WaitlistOffer.objects.filter(pk__gt=self.last_offer).order_by("pk"):
            self.last_offer = offer.pk
            self.count("offers made")
            pk, minutes = offer.pk, (offer.expires_at - self.now()) / timedelta(minutes=1)
            u = self.rng.random()
            if u < 0.70:
                self.at(
                    self.now() + timedelta(minutes=self.rng.uniform(1, max(1.5, minutes - 1))),
                    partial(self.accept, pk),
                )
            elif u < 0.85:
                self.at(
                    self.now() + timedelta(minutes=self.rng.uniform(1, max(1.5, minutes - 1))),
                    partial(self.decline, pk),
                )
            self.at(offer.expires_at, partial(self.expire, pk))

    def accept(self, pk: int) -> None:
        offer = WaitlistOffer.objects.get(pk=pk)
        try:
            booked = accept_offer(offer=offer, now=self.now())
        except DomainError as error:
            self.count(f"refused:offer:{error.code}")
            return
        self.count("offers accepted")
        self.track(booked, tuple(self.rng.random() for _ in range(5)), group="waitlist")

    def decline(self, pk: int) -> None:
        offer = WaitlistOffer.objects.get(pk=pk)
        if offer.status != OfferStatus.OFFERED:
            return
        try:
            decline_offer(offer=offer, now=self.now())
        except DomainError as error:
            self.count(f"refused:offer:{error.code}")
            return
        self.count("offers declined")

    def expire(self, pk: int) -> None:
        offer = WaitlistOffer.objects.get(pk=pk)
        if offer.status == OfferStatus.OFFERED:
            expire_offer_now(offer=offer, now=self.now())
            self.count("offers expired")

    # Time-driven rules and the outbox

    def sweep(self) -> None:
        run_capacity_rules(now=self.now())

    def outbox(self) -> None:
        while dispatch_due(now=self.now(), limit=200):
            pass
        due = CallTask.objects.filter(outcome=CallOutcome.OPEN, call_after__lte=self.now()).select_related(
            "delivery__notification__appointment"
        )
        for task in list(due):
            self.call(task)

    def call(self, task: CallTask) -> None:
        notification = task.delivery.notification
        appointment = notification.appointment
        outcome = CallOutcome.DONE
        if self.rng.random() >= ANSWERS_CALL:
            outcome = CallOutcome.NO_ANSWER
        elif notification.kind in (Kind.REMINDER, Kind.CONFIRMATION) and appointment is not None:
            # The scalpers confirm every ticket they hold: they want it until it is resold.
            keeps = self.comes(appointment) or appointment.patient_id in self.scalpers.identity_set
            will_come = appointment.status in HELD and keeps
            outcome = CallOutcome.CONFIRMED if will_come else CallOutcome.CANCELLED
        try:
            record_call_outcome(
                task=task, outcome=outcome, actor=Actor(user=self.world.operator), now=self.now()
            )
        except DomainError as error:
            self.count(f"refused:call:{error.code}")
            return
        self.count("outbound calls")

    def comes(self, appointment: Appointment) -> bool:
        """Whether the patient means to come to this visit (his planned fate)."""
        return self.fates.get(appointment.pk) == "come"

    # The morning release: the day at the end of the horizon opens

    def plan_release(self, day: date) -> None:
        opened = day + timedelta(days=HORIZON_DAYS)
        self.at(local(day, time(6, 30)), partial(self.scalpers_prepare, opened))
        if self.policy.defaults:
            self.at(local(day, time(7, 0, 30)), partial(self.scalpers_enter_draw, opened))
            self.at(local(day, time(7, 10)), partial(self.run_draw, opened))
        for index in range(SCALPER_POLLS):
            moment = local(day, time(8, 5)) + timedelta(hours=index)
            self.at(moment, partial(self.scalpers_poll, opened, index))

    def seek_release(self, request: Request, patient_id: int) -> None:
        """A patient who wants the day that opens this morning."""
        opened = self.now().astimezone(TZ).date() + timedelta(days=HORIZON_DAYS)
        if not self.policy.defaults:
            index = int(request.draws[4] * SCALPER_POLLS)
            moment = local(opened - timedelta(days=HORIZON_DAYS), time(8, 6)) + timedelta(hours=index)
            self.at(moment, partial(self.seek_opened, request, patient_id, opened))
            return
        try:
            entry = enter_draw(
                patient=self.patient(patient_id),
                service=self.world.services[request.service_code],
                now=self.now(),
            )
        except DomainError as error:
            self.count(f"refused:seeker:{error.code}")
            self.find_and_book(request, patient_id)
            return
        self.count("draw entries (patients)")
        self.seekers[entry.pk] = (request, patient_id)

    def seek_opened(self, request: Request, patient_id: int, opened: date) -> None:
        """First come: the new day's times open as the online horizon reaches them."""
        slot = self.search(request, patient_id, opened, opened)
        booked = (
            self.book(
                patient_id, self.world.services[request.service_code], slot, request.channel, group="seeker"
            )
            if slot
            else None
        )
        if booked is None:
            self.find_and_book(request, patient_id)
            return
        self.track(booked, request.draws, group="seeker")

    def run_draw(self, opened: date) -> None:
        """What the release draw's task does when the window closes (the seed from the simulation's)."""
        draw = ReleaseDraw.objects.filter(clinic=self.clinic, day=opened, ran_at__isnull=True).first()
        if draw is None:
            return
        done = run_release_draw(draw=draw, now=self.now(), seed=self.rng.getrandbits(62))
        for entry in done.entries.select_related("appointment__service").order_by("pk"):
            if entry.patient_id in self.scalpers.identity_set:
                self.count("draw won (scalpers)" if entry.appointment else "draw lost (scalpers)")
                if entry.appointment is not None:
                    self.scalper_booked(entry.appointment)
                continue
            request, patient_id = self.seekers.pop(entry.pk)
            if entry.appointment is None:
                self.count("draw lost (patients)")
                self.at(
                    self.now() + timedelta(minutes=5),
                    partial(self.find_and_book, request, patient_id),
                )
                continue
            self.count("draw won (patients)")
            self.track(entry.appointment, request.draws, group="seeker")

    # The scalper group

    def scalpers_prepare(self, opened: date) -> None:
        group = self.scalpers
        minutes = working_minutes(self.clinic, opened, opened)
        group.targets[opened] = round(
            group.share * minutes / self.world.services[TICKET_CODE].duration_minutes
        )
        wanted = group.targets[opened] if self.policy.defaults else group.pool_size
        self.register_identities(max(0, wanted - len(self.free_identities())))

    def register_identities(self, needed: int) -> None:
        group = self.scalpers
        for _attempt in range(3 * needed):
            if needed <= 0:
                return
            phone = group.next_phone(self.now())
            if phone is None:
                self.count("scalper: no phone left to register on")
                return
            if self.register_identity(phone, group.next_ip()):
                needed -= 1

    def register_identity(self, phone: str, ip: str) -> bool:
        """Invent an adult and register him online with a code sent to one of the group's phones."""
        group = self.scalpers
        try:
            challenge = request_code(
                phone=phone, purpose=OtpPurpose.REGISTER, ip=ip, clinic=self.clinic, now=self.now()
            )
            code = re.search(r"\d{6}", CountingChannel.inbox.get(phone, ""))
            assert code is not None, "the sign-in code did not reach the phone"
            verified = verify_code(challenge_id=challenge.id, code=code.group(0), ip=ip, now=self.now())
            patient, _user = register_self(
                verified=verified,
                data=group.invented_adult(self.now().date(), phone),
                consent_version=CONSENT_VERSION,
                actor=Actor(user=None, ip=ip),
                now=self.now(),
            )
        except DomainError as error:
            self.count(f"refused:scalper registration:{error.code}")
            group.refused(phone, error, self.now())
            return False
        self.count("scalper identities registered")
        group.add(patient.pk)
        return True

    def free_identities(self) -> list[int]:
        """The group's patients who may book a ticket now: under the quota, those without one ahead."""
        ids = list(self.scalpers.identities)
        if self.policy.defaults:
            holding = Appointment.objects.filter(
                patient_id__in=ids,
                status__in=HELD,
                starts_at__gt=self.now(),
                service__specialty_id=self.world.services[TICKET_CODE].specialty_id,
            )
            busy = set(holding.values_list("patient_id", flat=True))
            ids = [pk for pk in ids if pk not in busy]
        self.rng.shuffle(ids)
        return ids

    def scalpers_enter_draw(self, opened: date) -> None:
        wanted = self.scalpers.targets.get(opened, 0)
        for patient_id in self.free_identities()[:wanted]:
            try:
                enter_draw(
                    patient=self.patient(patient_id), service=self.world.services[TICKET_CODE], now=self.now()
                )
            except DomainError as error:
                self.count(f"refused:scalper draw:{error.code}")
                continue
            self.count("draw entries (scalpers)")

    def scalpers_poll(self, opened: date, index: int) -> None:
        group = self.scalpers
        want = round(group.targets.get(opened, 0) * (index + 1) / SCALPER_POLLS) - group.got[opened]
        if want <= 0:
            return
        try:
            ratelimits.take(action="search", limits=group.search_limits(index), now=self.now())
        except DomainError as error:
            self.count(f"refused:scalper search:{error.code}")
            return
        slots = find_free_slots(
            clinic=self.clinic,
            service=self.world.services[TICKET_CODE],
            first_day=opened,
            last_day=opened,
            now=self.now(),
            limit=None,
            online=True,
        )
        free = self.free_identities()
        for slot in non_overlapping(slots):
            if want <= 0 or not free:
                return
            booked = self.book(
                free.pop(), self.world.services[TICKET_CODE], slot, Channel.WEB, group="scalper"
            )
            if booked is not None:
                self.scalper_booked(booked)
                want -= 1

    def scalper_booked(self, appointment: Appointment) -> None:
        """A ticket: 70% resold (cancelled 1.5–6 h before and booked at once by the buyer), the rest
        cancelled late or left unused."""
        opened = appointment.starts_at.astimezone(TZ).date()
        self.scalpers.got[opened] += 1
        self.count("scalper tickets")
        self.count(
            "scalper minutes (released days)",
            int((appointment.ends_at - appointment.starts_at) / timedelta(minutes=1)),
        )
        pk, u, v = appointment.pk, self.rng.random(), self.rng.random()
        if u < RESOLD:
            self.at(appointment.starts_at - timedelta(hours=1.5 + 4.5 * v), partial(self.resell, pk))
        elif u < (1 + RESOLD) / 2:
            self.at(appointment.starts_at - timedelta(minutes=20 + 70 * v), partial(self.scalper_cancels, pk))

    def resell(self, pk: int) -> None:
        ticket = Appointment.objects.select_related("service").get(pk=pk)
        if ticket.status not in HELD:
            return
        cancel_appointment(appointment=ticket, reason="patient cancelled")
        buyer = self.next_free("buyer", self.registry.buyers)
        slot = Slot(ticket.starts_at, ticket.ends_at, ticket.dentist_id, ticket.chair_id)
        booked = self.book(buyer, ticket.service, slot, Channel.WEB, group="buyer")
        if booked is None:
            self.count("resales failed (the buyer could not book the time)")
            return
        self.count("resales done")
        self.track(booked, (1.0, 0.0, 0.0, 1.0, 1.0), group="buyer")

    def scalper_cancels(self, pk: int) -> None:
        ticket = Appointment.objects.get(pk=pk)
        if ticket.status in HELD:
            cancel_appointment(appointment=ticket, reason="patient cancelled")
            self.count("scalper tickets cancelled unsold")

    # Emergencies

    def plan_emergencies(self, day: date) -> None:
        if day.weekday() not in WORKING_WEEKDAYS:
            return
        rng = rng_for(self.args.seed, "emergencies", day)
        for _ in range(EMERGENCIES_PER_DAY):
            self.at(local(day, time(8, 30)) + timedelta(minutes=rng.uniform(0, 390)), self.emergency)

    def emergency(self) -> None:
        patient_id = self.next_free("emergency", self.registry.emergency)
        self.count("emergencies")
        try:
            booked = book_emergency(
                patient=self.patient(patient_id),
                service=self.world.services[URGENT_CODE],
                created_by=self.world.registrar,
                now=self.now(),
            )
        except DomainError as error:
            self.count(f"refused:emergency:{error.code}")
            return
        self.count("emergencies seen the same day")
        self.track(booked, (1.0, 0.0, 0.0, 1.0, 1.0), group="emergency")


def non_overlapping(slots: list[Slot]) -> list[Slot]:
    """One slot per free stretch of a dentist: the rest would overlap the one just booked."""
    ends: dict[int, datetime] = {}
    kept = []
    for slot in slots:
        if slot.start >= ends.get(slot.dentist_id, slot.start):
            kept.append(slot)
            ends[slot.dentist_id] = slot.end
    return kept


class Scalpers:
    """The group: SIM cards, a few addresses, the invented patients it registered and its tickets."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.phones = [f"+99899{2_000_000 + index}" for index in range(args.scalper_phones)]
        self.ips = [f"198.51.100.{index + 1}" for index in range(args.scalper_ips)]
        self.share: float = args.scalper_share
        self.pool_size = 60  # identities kept when nothing limits how many tickets each may hold
        self.identities: list[int] = []
        self.identity_set: set[int] = set()
        self.full: set[str] = set()
        self.resting: dict[str, datetime] = {}
        self.targets: dict[date, int] = {}
        self.got: Counter[date] = Counter()
        self.turn = 0
        self.rng = random.Random(args.seed)

    def next_phone(self, now: datetime) -> str | None:
        for _ in range(len(self.phones)):
            phone = self.phones[self.turn % len(self.phones)]
            self.turn += 1
            if phone not in self.full and self.resting.get(phone, now) <= now:
                return phone
        return None

    def next_ip(self) -> str:
        return self.ips[self.turn % len(self.ips)]

    def refused(self, phone: str, error: DomainError, now: datetime) -> None:
        if error.code == "phone_limit":
            self.full.add(phone)
        retry_after = error.details.get("retry_after")
        if isinstance(retry_after, int):
            self.resting[phone] = now + timedelta(seconds=retry_after)

    def add(self, patient_id: int) -> None:
        self.identities.append(patient_id)
        self.identity_set.add(patient_id)

    def invented_adult(self, today: date, phone: str) -> PatientData:
        return PatientData(
            surname=invented_name(self.rng) + "ova",
            name=invented_name(self.rng),
            birth_date=today - timedelta(days=365 * self.rng.randint(20, 60) + self.rng.randint(0, 364)),
            phone=phone,
        )

    def search_limits(self, index: int) -> list[ratelimits.Limit]:
        """A signed-in patient's search for free times, from one of the group's addresses and phones."""
        configured = {**ratelimits.SEARCH_LIMITS, **settings.NAVBAT_SEARCH_LIMITS}
        period = configured["period_seconds"]
        return [
            ratelimits.Limit("ip", self.ips[index % len(self.ips)], period, configured["ip"]),
            ratelimits.Limit("phone", self.phones[index % len(self.phones)], period, configured["phone"]),
        ]


# Figures -----------------------------------------------------------------------------------------------


@dataclass
class Result:
    policy: str
    seconds: float
    figures: dict[str, str]
    goals: dict[str, tuple[bool, str]]
    counts: dict[str, int]


def working_minutes(clinic: Clinic, first: date, last: date) -> float:
    availability = load_availability(clinic=clinic, first_day=first, last_day=last)
    total = sum((span.duration for spans in availability.working.values() for span in spans), timedelta(0))
    return total / timedelta(minutes=1)


def minutes_of(appointment: Appointment) -> float:
    return (appointment.ends_at - appointment.starts_at) / timedelta(minutes=1)


def refill(sim: Simulation) -> tuple[int, int]:
    """Freed by a cancellation or a move in the window, ≥ 2 h ahead, starting before the window's end:
    (how many, how many some later booking of the same dentist took)."""
    freed = FreedTime.objects.filter(
        clinic=sim.clinic,
        freed_at__gte=sim.window_start,
        freed_at__lt=sim.window_end,
        starts_at__lt=sim.window_end,
    )
    total = refilled = 0
    kept = [Status.PENDING, Status.BOOKED, *USED, Status.NOSHOW]
    for row in freed:
        if row.starts_at - row.freed_at < REFILL_LEAD:
            continue
        cancelled = Appointment.objects.filter(
            dentist_id=row.dentist_id,
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            status=Status.CANCELLED,
            created_at__lt=row.freed_at,
        )
        if not cancelled.exists():
            continue
        total += 1
        taken = Appointment.objects.filter(
            dentist_id=row.dentist_id,
            starts_at__lt=row.ends_at,
            ends_at__gt=row.starts_at,
            created_at__gte=row.freed_at,
            status__in=kept,
        )
        refilled += taken.exists()
    return total, refilled


def share(part: float, whole: float) -> float:
    return part / whole if whole else 0.0


def measure(sim: Simulation, seconds: float) -> Result:
    counts = sim.tally.counts
    first, last = sim.window_start.date(), (sim.window_end - timedelta(days=1)).date()
    visits = Appointment.objects.filter(
        clinic=sim.clinic, starts_at__gte=sim.window_start, starts_at__lt=sim.window_end
    )
    fulfilled = list(visits.filter(status=Status.FULFILLED))
    no_shows = visits.filter(status=Status.NOSHOW).count()
    working = working_minutes(sim.clinic, first, last)
    released = working_minutes(
        sim.clinic, first + timedelta(days=HORIZON_DAYS), last + timedelta(days=HORIZON_DAYS)
    )
    leads = [days for (at, days) in sim.tally.leads.items() if sim.window_start <= at[1] < sim.window_end]
    freed, refilled = refill(sim)
    product = refill_stats(
        clinic=sim.clinic, since=sim.window_start, until=sim.window_end, min_lead=REFILL_LEAD
    )
    scalper = share(counts["scalper minutes (released days)"], released)
    emergencies = share(counts["emergencies seen the same day"], counts["emergencies"])
    inbound, outbound = counts["requests:phone"], counts["outbound calls"]
    tasks = CallTask.objects.filter(pk__gte=sim.first_call_task).count()
    refill_share = share(refilled, freed)
    c = counts.__getitem__
    no_show_share = share(no_shows, no_shows + len(fulfilled))
    seen, emergency_count = c("emergencies seen the same day"), c("emergencies")
    booked = c("booked:ordinary") + c("booked:seeker")
    joined = c("waitlist joined") + c("waitlist joined (for an earlier time)")
    failed_resales = c("resales failed (the buyer could not book the time)")
    figures = {
        "chair utilisation": f"{share(sum(map(minutes_of, fulfilled)), working):.1%}",
        "patients treated (fulfilled visits)": f"{len(fulfilled):,}",
        "median days to appointment": f"{statistics.median(leads):.1f}" if leads else "–",
        "freed ≥ 2 h ahead → refilled": f"{refill_share:.1%} ({refilled:,} / {freed:,})",
        "  of which by the waitlist (refill_stats)": f"{product.refilled:,} of {product.freed:,} freed",
        "released slots taken by the scalper group": f"{scalper:.1%} ({c('scalper tickets'):,} tickets)",
        "emergencies seen the same day": f"{emergencies:.1%} ({seen} / {emergency_count})",
        "operator calls (inbound + outbound)": f"{inbound + outbound:,} ({inbound:,} + {outbound:,})",
        "  call tasks opened": f"{tasks:,}",
        "requests / booked / unserved": f"{c('requests'):,} / {booked:,} / {c('unserved'):,}",
        "no-shows (share of visits decided)": f"{no_show_share:.1%} ({no_shows:,})",
        "cancelled by patients": f"{c('cancelled by the patient'):,}",
        "waitlist joins / offers / accepted": f"{joined:,} / {c('offers made'):,} / {c('offers accepted'):,}",
        "scalper identities registered": f"{c('scalper identities registered'):,}",
        "scalper resales done / failed": f"{c('resales done'):,} / {failed_resales:,}",
        "simulation run time": f"{seconds / 60:.1f} min",
    }
    goals = {
        f"≥ {GOAL_REFILL:.0%} of slots freed ≥ 2 h ahead refilled": (
            refill_share >= GOAL_REFILL,
            f"{refill_share:.1%}",
        ),
        f"scalper group < {GOAL_SCALPER:.0%} of released slots": (scalper < GOAL_SCALPER, f"{scalper:.1%}"),
        f"≥ {GOAL_EMERGENCY:.0%} of emergencies seen the same day": (
            emergencies >= GOAL_EMERGENCY,
            f"{emergencies:.1%}",
        ),
    }
    return Result(sim.policy.name, seconds, figures, goals, dict(counts))


# Running and printing --------------------------------------------------------------------------------------


def run_policy(policy: Policy) -> Result:
    connections.close_all()
    create_fresh_database()
    cache.clear()
    CountingChannel.reset()
    first_day = date.fromisoformat(ARGS.start) - timedelta(days=ARGS.warmup_days)
    clock = Clock(local(first_day - timedelta(days=1), time(12)))
    started = wallclock.perf_counter()
    with virtual_time(clock), policy_settings(policy):
        world = build_world(first_day)
        registry = build_registry(world, ARGS.seed, first_day)
        configure(world, policy)
        print(
            f"… {policy.name}: clinic and registry built in {wallclock.perf_counter() - started:.0f} s",
            file=sys.stderr,
        )
        simulation = Simulation(world, registry, policy, ARGS, clock)
        began = wallclock.perf_counter()
        simulation.run()
        result = measure(simulation, wallclock.perf_counter() - began)
    print(f"… {policy.name}: done in {(wallclock.perf_counter() - started) / 60:.1f} min", file=sys.stderr)
    return result


def print_context() -> None:
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    print("Clinic month: issue 6 policies through the real services, on a virtual clock")
    print(f"  code       {code_version()}")
    print(f"  python     {platform.python_version()}, django {django.get_version()}")
    print(f"  database   {database_version()}")
    print(f"  platform   {platform.platform()}, {os.cpu_count()} CPUs, load {load}")
    print(
        f"  run        {ARGS.days} days from {ARGS.start} after {ARGS.warmup_days} warm-up days, "
        f"seed {ARGS.seed}, "
        f"{ARGS.bookings_per_day} requests per working day; scalpers: {ARGS.scalper_phones} phones, "
        f"{ARGS.scalper_ips} addresses, want {ARGS.scalper_share:.0%} of each release"
    )


def print_table(results: list[Result]) -> None:
    names = [result.policy for result in results]
    print("\n| metric | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for key in results[0].figures:
        print(f"| {key} | " + " | ".join(result.figures[key] for result in results) + " |")
    print("\n| goal | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for key in results[0].goals:
        cells = [
            f"{'PASS' if result.goals[key][0] else 'FAIL'} ({result.goals[key][1]})" for result in results
        ]
        print(f"| {key} | " + " | ".join(cells) + " |")
    print(
        "\nOperator calls: inbound = booking requests made through the call centre; outbound = call attempts "
        "on call tasks (record_call_outcome), opened by the outbox's call channel and remind_unconfirmed."
    )


def print_refusals(results: list[Result]) -> None:
    print("\nRefusals by the services (code: count)")
    for result in results:
        refused = sorted(
            (key.removeprefix("refused:"), n)
            for key, n in result.counts.items()
            if key.startswith("refused:")
        )
        print(f"  {result.policy}: " + ("; ".join(f"{key} {n}" for key, n in refused) or "none"))


def run_here(names: list[str]) -> list[Result]:
    results = []
    try:
        for name in names:
            results.append(run_policy(Policy(name)))
    finally:
        connections.close_all()
        drop_database(ARGS.keep_db)
        if TEMP_DIR:
            shutil.rmtree(TEMP_DIR, ignore_errors=True)
    return results


def run_side_by_side(names: list[str]) -> list[Result]:
    """SQLite: one process per policy, at once (each with its own temporary database)."""
    out = Path(tempfile.mkdtemp(prefix="navbat-clinic-month-results-"))
    argv = [arg for arg in sys.argv[1:] if not arg.startswith("--policy")]
    children = [
        subprocess.Popen(
            [sys.executable, __file__, *argv, f"--policy={name}", f"--result-file={out / name}.json"]
        )
        for name in names
    ]
    if any(child.wait() for child in children):
        raise SystemExit("a policy's simulation failed (see above)")
    results = [Result(**json.loads((out / f"{name}.json").read_text())) for name in names]
    shutil.rmtree(out, ignore_errors=True)
    if TEMP_DIR:
        shutil.rmtree(TEMP_DIR, ignore_errors=True)
    return results


def main() -> int:
    names = ["none", "defaults"] if ARGS.policy == "both" else [ARGS.policy]
    if ARGS.result_file:
        (result,) = run_here(names)
        Path(ARGS.result_file).write_text(json.dumps(asdict(result)))
        return 0
    print_context()
    started = wallclock.perf_counter()
    results = run_side_by_side(names) if len(names) > 1 and not ARGS.database_url else run_here(names)
    print_table(results)
    print_refusals(results)
    print(
        f"\n  wall time {(wallclock.perf_counter() - started) / 60:.1f} min; load average at the end: "
        f"{', '.join(f'{v:.2f}' for v in os.getloadavg())}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
