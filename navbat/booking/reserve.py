"""The emergency reserve (issue 6 §3): time kept back each day for urgent cases (pain, swelling, trauma).

Per clinic (clinic.CapacityPolicy): a share of each dentist's working day — the last slots of his day, so a
department keeps its share (default 10%) — or, for a dentist with named ReserveBlocks, those blocks. A clinic
without a policy keeps no reserve.

Who sees it: `hidden_reserve` is busy time in booking.selectors.load_availability for ordinary services
booked online or by the call centre (RESERVE_HIDDEN_CHANNELS): held back for urgent cases, it must not fill
up with next month's check-ups. The urgent services (the "I am in pain" flow after its triage questions) see
and book it on every channel, the desk (reception, walk-ins, emergencies) sees it, and book_emergency books
it through `DepartmentReserve`.

Release, in two steps (issue 6 §3): the evening before its day (policy `reserve_release_evening_at`, default
18:00) what is still free is offered to the waitlist (booking.waitlist.offer_freed_time), whose offer holds
it for the best waiting patient; the rest stays kept for emergencies. `reserve_release_hours` (default 2)
before it starts it opens to everyone, and what is still free is offered to the waitlist once more. The
release task (`release_due_reserve`) is run by booking.noshows.sweep_capacity.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta

from django.db import transaction
from django.utils import timezone

from navbat.booking.models import SlotHold
from navbat.booking.selectors import load_availability, local_window, slot_request
from navbat.booking.statuses import Channel
from navbat.clinic.models import CapacityPolicy, Clinic, ReserveBlock, Service
from navbat.clinic.selectors import urgent_codes
from navbat.patients.models import Patient
from navbat.scheduling import Interval, Slot, find_slots, intersect, normalize, subtract
from navbat.scheduling.intervals import clip
from navbat.scheduling.reserve import day_tail

# Channels whose ordinary bookings do not see the reserve until it opens to everyone.
RESERVE_HIDDEN_CHANNELS = frozenset({Channel.WEB, Channel.PHONE})


def capacity_policy(clinic: Clinic) -> CapacityPolicy | None:
    return CapacityPolicy.objects.filter(clinic=clinic).first()


def is_urgent(service: Service) -> bool:
    return service.code in urgent_codes()


def reserve_time(
    *,
    clinic: Clinic,
    working: Mapping[int, Sequence[Interval]],
    first_day: date,
    last_day: date,
    policy: CapacityPolicy | None,
) -> dict[int, tuple[Interval, ...]]:
    """Each dentist's reserve over [first_day, last_day], from his working time (normalized)."""
    if policy is None or not working:
        return {}
    blocks: dict[int, list[ReserveBlock]] = defaultdict(list)
    for block in ReserveBlock.objects.filter(dentist_id__in=list(working)):
        blocks[block.dentist_id].append(block)
    tz = clinic.tz
    step = timedelta(minutes=clinic.slot_step_minutes)
    reserve: dict[int, tuple[Interval, ...]] = {}
    for dentist_id, spans in working.items():
        kept: list[Interval] = []
        day = first_day
        while day <= last_day:
            today = clip(normalize(spans), local_window(clinic, day, day))
            if dentist_id in blocks:
                named = [
                    Interval(
                        datetime.combine(day, b.start, tzinfo=tz), datetime.combine(day, b.end, tzinfo=tz)
                    )
                    for b in blocks[dentist_id]
                    if b.date == day or (b.date is None and b.weekday == day.weekday())
                ]
                kept.extend(intersect(today, normalize(named)))
            else:
                kept.extend(day_tail(today, percent=policy.reserve_percent, step=step))
            day += timedelta(days=1)
        if kept:
            reserve[dentist_id] = normalize(kept)
    return reserve


def opens_at(span: Interval, *, policy: CapacityPolicy) -> datetime:
    """When a part of the reserve opens to everyone: some hours before it starts."""
    return span.start - timedelta(hours=policy.reserve_release_hours)


def offered_at(span: Interval, *, clinic: Clinic, policy: CapacityPolicy) -> datetime | None:
    """When a part of the reserve is first offered to the waitlist: the evening before its day, if at all."""
    if policy.reserve_release_evening_at is None:
        return None
    day = span.start.astimezone(clinic.tz).date() - timedelta(days=1)
    return datetime.combine(day, policy.reserve_release_evening_at, tzinfo=clinic.tz)


def hidden_reserve(
    *,
    clinic: Clinic,
    working: Mapping[int, Sequence[Interval]],
    first_day: date,
    last_day: date,
    now: datetime,
    hold_patient_id: int | None = None,
) -> dict[int, tuple[Interval, ...]]:
    """The reserve an ordinary booking online or by the call centre must not see at `now`: not yet open to
    everyone, and not held for the booking patient himself (a waitlist offer holds a released part for
    him)."""
    policy = capacity_policy(clinic)
    if policy is None:
        return {}
    reserve = reserve_time(
        clinic=clinic, working=working, first_day=first_day, last_day=last_day, policy=policy
    )
    own: tuple[Interval, ...] = ()
    if hold_patient_id is not None:
        own = normalize(
            Interval(s, e)
            for s, e in SlotHold.objects.filter(
                patient_id=hold_patient_id, clinic=clinic, expires_at__gt=now
            ).values_list("starts_at", "ends_at")
        )
    hidden = {}
    for dentist_id, spans in reserve.items():
        kept = subtract([s for s in spans if now < opens_at(s, policy=policy)], own)
        if kept:
            hidden[dentist_id] = kept
    return hidden


class DepartmentReserve:
    """booking.services.EmergencyReserve: the reserve's free slots of today for an urgent service."""

    def slots(self, *, service: Service, patient: Patient, now: datetime) -> Sequence[Slot]:
        clinic = service.clinic
        policy = capacity_policy(clinic)
        if policy is None:
            return ()
        today = now.astimezone(clinic.tz).date()
        availability = load_availability(
            clinic=clinic,
            first_day=today,
            last_day=today,
            specialty_id=service.specialty_id,
            patient_id=patient.pk,
            hold_patient_id=patient.pk,
            now=now,
        )
        reserve = reserve_time(
            clinic=clinic, working=availability.working, first_day=today, last_day=today, policy=policy
        )
        dentists = [
            replace(schedule, free=intersect(schedule.free, reserve.get(schedule.dentist_id, ())))
            for schedule in availability.dentists()
        ]
        request = slot_request(
            clinic=clinic, service=service, now=now, online=False, patient_busy=availability.patient_busy
        )
        return find_slots(request, dentists, availability.chairs())


def free_reserve(*, clinic: Clinic, day: date, now: datetime) -> list[tuple[int, int, Interval]]:
    """The parts of `day`'s reserve nobody has booked: (dentist, chair, time), the chair his own if free."""
    policy = capacity_policy(clinic)
    if policy is None:
        return []
    availability = load_availability(clinic=clinic, first_day=day, last_day=day, now=now)
    reserve = reserve_time(
        clinic=clinic, working=availability.working, first_day=day, last_day=day, policy=policy
    )
    chairs = {chair.chair_id: chair.free for chair in availability.chairs()}
    found = []
    for schedule in availability.dentists():
        for span in intersect(schedule.free, reserve.get(schedule.dentist_id, ())):
            if span.end <= now:
                continue
            span = Interval(max(span.start, now), span.end)
            own = schedule.default_chair_id
            order = ([own] if own in chairs else []) + sorted(c for c in chairs if c != own)
            chair = next((c for c in order if intersect(chairs[c], (span,)) == (span,)), None)
            if chair is not None:
                found.append((schedule.dentist_id, chair, span))
    return found


def release_due_reserve(*, now: datetime | None = None) -> int:
    """Offer to the waitlist every free part of the reserve whose lead time (the evening before, and some
    hours before its start) came since the last run. Returns how many parts were offered."""
    from navbat.booking.waitlist import offer_freed_time
    from navbat.clinic.models import Chair, StaffMember

    now = now or timezone.now()
    offered = 0
    for policy in CapacityPolicy.objects.select_related("clinic"):
        clinic = policy.clinic
        since = policy.reserve_released_until or now - timedelta(days=1)
        today = now.astimezone(clinic.tz).date()
        for day in (today, today + timedelta(days=1)):
            for dentist_id, chair_id, span in free_reserve(clinic=clinic, day=day, now=now):
                lead_times = {offered_at(span, clinic=clinic, policy=policy), opens_at(span, policy=policy)}
                if any(moment is not None and since < moment <= now for moment in lead_times):
                    offer_freed_time(
                        clinic=clinic,
                        dentist=StaffMember.objects.get(pk=dentist_id),
                        chair=Chair.objects.get(pk=chair_id),
                        start=span.start,
                        end=span.end,
                        now=now,
                    )
                    offered += 1
        with transaction.atomic():
            CapacityPolicy.objects.filter(pk=policy.pk).update(reserve_released_until=now)
    return offered
