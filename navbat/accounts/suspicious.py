"""The suspicious-activity report for managers (issue 6 §4): patterns of ticket scalping, each finding with
its evidence.

Managers and administrators see no patient data (accounts.roles), so the evidence is pseudonymous: patient
numbers, appointment numbers, counts and times, staff accounts by name; phones and addresses as a keyed hash
(the same phone always gives the same short code, so two findings about one phone can be told apart, but
the code cannot be turned back into the number). Whoever follows a finding up opens the registry with his
own rights, which the audit log records.

What is looked for, over the last `days` (30 by default):
1. one phone behind many patients (more than a family: PATIENTS_PER_PHONE), and one address asking for
   sign-in codes for many phones (PHONES_PER_ADDRESS);
2. patients created in a burst (BURST_SIZE within one clock hour) who never came to any visit they had;
3. a patient who repeatedly cancels shortly before the visit (CANCEL_NOTICE) while someone else books the
   very same time within minutes (REBOOK_WITHIN) — a ticket handed over;
4. staff accounts whose bookings end as no-shows far more often than the clinic's (at least MIN_BOOKINGS
   visits decided, a rate at least NO_SHOW_FACTOR times the clinic's and at least NO_SHOW_FLOOR);
5. patients whose identity did not match at arrival (patients.arrival), from the audit log.
There is no device fingerprint in navbat: "device" is the address the requests came from.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.db import models
from django.db.models import Count
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _

from navbat.accounts.models import AuditEntry, OneTimeCode
from navbat.booking.models import Appointment, AppointmentEvent
from navbat.booking.statuses import Status
from navbat.clinic.models import Clinic
from navbat.patients.arrival import MISMATCH_NOTE
from navbat.patients.models import Patient

PATIENTS_PER_PHONE = 7  # a family of six is allowed by default (Clinic.max_patients_per_phone)
PHONES_PER_ADDRESS = 10
BURST_SIZE = 5
CANCEL_NOTICE = timedelta(hours=24)
REBOOK_WITHIN = timedelta(minutes=30)
HANDOVERS = 2
MIN_BOOKINGS = 10
NO_SHOW_FACTOR = 2.0
NO_SHOW_FLOOR = 0.25

CAME = frozenset({Status.ARRIVED, Status.CHECKED_IN, Status.FULFILLED})


class FindingKind(models.TextChoices):
    SHARED_PHONE = "shared_phone", _("One phone behind many patients")
    SHARED_ADDRESS = "shared_address", _("One address asking codes for many phones")
    BURST_NEVER_CAME = "burst_never_came", _("Patients created in a burst who never came")
    CANCEL_REBOOK = "cancel_rebook", _("Cancelled shortly before the visit, rebooked by someone else")
    OPERATOR_NO_SHOWS = "operator_no_shows", _("Staff account with unusually many no-shows")
    IDENTITY_MISMATCH = "identity_mismatch", _("Identity did not match at arrival")


@dataclass(frozen=True)
class Finding:
    kind: FindingKind
    subject: str  # pseudonymous: "phone 3fa2c1d9", "address 9c1d…", "patient K-000123", a staff account
    count: int
    evidence: tuple[str, ...]

    @property
    def label(self) -> str:
        return str(self.kind.label)


def pseudonym(kind: str, value: str) -> str:
    """A short keyed hash: stable for one value, not reversible without the server's secret."""
    return salted_hmac(f"navbat.accounts.suspicious.{kind}", value, algorithm="sha256").hexdigest()[:10]


def patient_ref(patient_id: int, number: str | None) -> str:
    return number or f"#{patient_id}"


def suspicious_activity(*, clinic: Clinic, now: datetime | None = None, days: int = 30) -> list[Finding]:
    """Every finding of the clinic over the last `days`, the kinds in the order above."""
    now = now or timezone.now()
    since = now - timedelta(days=days)
    return [
        *shared_phones(clinic=clinic),
        *shared_addresses(clinic=clinic, since=since),
        *bursts_that_never_came(clinic=clinic, since=since, now=now),
        *cancelled_and_rebooked(clinic=clinic, since=since),
        *operators_with_no_shows(clinic=clinic, since=since, now=now),
        *identity_mismatches(clinic=clinic, since=since),
    ]


def shared_phones(*, clinic: Clinic) -> list[Finding]:
    crowded = (
        Patient.objects.filter(clinic=clinic, merged_into__isnull=True)
        .exclude(phone="")
        .values("phone")
        .annotate(patients=Count("pk"))
        .filter(patients__gte=PATIENTS_PER_PHONE)
        .order_by("-patients")
    )
    counts = {str(row["phone"]): row["patients"] for row in crowded}
    refs: dict[str, list[str]] = defaultdict(list)
    sharing = Patient.objects.filter(clinic=clinic, phone__in=list(counts), merged_into__isnull=True)
    for pk, number, phone in sharing.values_list("pk", "number", "phone"):
        refs[str(phone)].append(patient_ref(pk, number))
    findings = [
        Finding(
            FindingKind.SHARED_PHONE, f"phone {pseudonym('phone', phone)}", count, tuple(sorted(refs[phone]))
        )
        for phone, count in counts.items()
    ]
    return findings


def shared_addresses(*, clinic: Clinic, since: datetime) -> list[Finding]:
    rows = (
        OneTimeCode.objects.filter(clinic=clinic, created_at__gte=since, requested_from__isnull=False)
        .values("requested_from")
        .annotate(phones=Count("phone", distinct=True), codes=Count("pk"))
        .filter(phones__gte=PHONES_PER_ADDRESS)
        .order_by("-phones")
    )
    return [
        Finding(
            FindingKind.SHARED_ADDRESS,
            f"address {pseudonym('ip', str(row['requested_from']))}",
            row["phones"],
            (f"{row['phones']} phones", f"{row['codes']} codes"),
        )
        for row in rows
    ]


def bursts_that_never_came(*, clinic: Clinic, since: datetime, now: datetime) -> list[Finding]:
    """Patients created since `since` with at least one visit that is past, none of which they came to,
    grouped by the clock hour they were created in."""
    past = Appointment.objects.filter(
        starts_at__lt=now, patient__clinic=clinic, patient__created_at__gte=since
    )
    visits: dict[int, list[str]] = defaultdict(list)
    for patient_id, status in past.values_list("patient_id", "status"):
        visits[patient_id].append(status)
    never_came = [pk for pk, statuses in visits.items() if not CAME & set(statuses)]
    by_hour: dict[datetime, list[str]] = defaultdict(list)
    patients = Patient.objects.filter(pk__in=never_came).values_list("pk", "number", "created_at")
    for pk, number, created_at in patients:
        hour = created_at.astimezone(clinic.tz).replace(minute=0, second=0, microsecond=0)
        by_hour[hour].append(patient_ref(pk, number))
    return [
        Finding(
            FindingKind.BURST_NEVER_CAME,
            f"{hour:%Y-%m-%d %H}:00–{hour + timedelta(hours=1):%H}:00",
            len(refs),
            tuple(sorted(refs)),
        )
        for hour, refs in sorted(by_hour.items())
        if len(refs) >= BURST_SIZE
    ]


def cancelled_and_rebooked(*, clinic: Clinic, since: datetime) -> list[Finding]:
    """Per patient who cancelled: the cancellations less than CANCEL_NOTICE before the visit after which
    another patient booked the same dentist at the same time within REBOOK_WITHIN."""
    cancellations = AppointmentEvent.objects.filter(
        appointment__clinic=clinic, to_status=Status.CANCELLED, at__gte=since
    ).select_related("appointment__patient")
    late = [
        event
        for event in cancellations
        if event.appointment.starts_at - event.at <= CANCEL_NOTICE and event.appointment.starts_at >= event.at
    ]
    # The bookings that could have taken those times, in one query: same dentist, same start.
    takers: dict[tuple[int, datetime], list[Appointment]] = defaultdict(list)
    if late:
        candidates = (
            Appointment.objects.filter(
                dentist_id__in={event.appointment.dentist_id for event in late},
                starts_at__in={event.appointment.starts_at for event in late},
                created_at__gte=min(event.at for event in late),
            )
            .select_related("patient")
            .order_by("pk")
        )
        for candidate in candidates:
            takers[(candidate.dentist_id, candidate.starts_at)].append(candidate)
    handovers: dict[tuple[int, str | None], list[str]] = defaultdict(list)
    for event in late:
        cancelled = event.appointment
        taker = next(
            (
                other
                for other in takers[(cancelled.dentist_id, cancelled.starts_at)]
                if other.patient_id != cancelled.patient_id
                and event.at <= other.created_at <= event.at + REBOOK_WITHIN
            ),
            None,
        )
        if taker is None:
            continue
        key = (cancelled.patient_id, cancelled.patient.number)
        handovers[key].append(
            f"#{cancelled.pk} → #{taker.pk} ({patient_ref(taker.patient_id, taker.patient.number)})"
        )
    return [
        Finding(
            FindingKind.CANCEL_REBOOK, f"patient {patient_ref(pk, number)}", len(evidence), tuple(evidence)
        )
        for (pk, number), evidence in sorted(handovers.items())
        if len(evidence) >= HANDOVERS
    ]


def operators_with_no_shows(*, clinic: Clinic, since: datetime, now: datetime) -> list[Finding]:
    decided = Appointment.objects.filter(
        clinic=clinic, starts_at__gte=since, starts_at__lt=now, status__in=[Status.NOSHOW, *CAME]
    )
    # Staff of the clinic only: a patient booking online is `created_by` himself.
    rows = list(decided.filter(created_by__staff__clinic=clinic).values_list("created_by", "status"))
    all_statuses = list(decided.values_list("status", flat=True))
    if not all_statuses:
        return []
    clinic_rate = _no_show_rate(all_statuses)
    per_user: dict[int, list[str]] = defaultdict(list)
    for user_id, status in rows:
        per_user[user_id].append(status)
    users = User.objects.in_bulk(list(per_user))
    findings = []
    for user_id, statuses in sorted(per_user.items()):
        rate = _no_show_rate(statuses)
        if len(statuses) >= MIN_BOOKINGS and rate >= NO_SHOW_FLOOR and rate >= NO_SHOW_FACTOR * clinic_rate:
            no_shows = statuses.count(Status.NOSHOW)
            findings.append(
                Finding(
                    FindingKind.OPERATOR_NO_SHOWS,
                    users[user_id].get_username(),
                    no_shows,
                    (
                        f"{no_shows} / {len(statuses)} = {rate:.0%}",
                        f"clinic {clinic_rate:.0%}",
                    ),
                )
            )
    return findings


def identity_mismatches(*, clinic: Clinic, since: datetime) -> list[Finding]:
    """The registrars' "does not match" at arrival (patients.arrival), from the audit log: one finding."""
    entries = AuditEntry.objects.filter(
        note__startswith=MISMATCH_NOTE,
        at__gte=since,
        patient_id__in=Patient.objects.filter(clinic=clinic).values("pk"),
    ).order_by("at", "pk")
    rows = list(entries.values_list("patient_id", "note"))
    if not rows:
        return []
    numbers = dict(Patient.objects.filter(pk__in={pk for pk, _note in rows}).values_list("pk", "number"))
    evidence = tuple(
        f"{patient_ref(pk, numbers.get(pk))} (#{note.rsplit(' ', 1)[-1]})"
        for pk, note in rows
        if pk is not None
    )
    return [Finding(FindingKind.IDENTITY_MISMATCH, str(_("at the desk")), len(evidence), evidence)]


def _no_show_rate(statuses: Iterable[str]) -> float:
    listed = list(statuses)
    return listed.count(Status.NOSHOW) / len(listed) if listed else 0.0
