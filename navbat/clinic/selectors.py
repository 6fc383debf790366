"""Reads of the clinic's calendar: public holidays and working plans in the core's terms."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from functools import lru_cache

import holidays as holidays_lib
from django.conf import settings
from django.db.models import QuerySet

from navbat.clinic.models import (
    Clinic,
    ClinicClosure,
    PlanIntervalKind,
    ScheduleException,
    ScheduleExceptionKind,
    Service,
    WorkingPlan,
)
from navbat.scheduling import DateException, ExceptionKind, WeeklyPlan, WeeklyRule


@lru_cache(maxsize=64)
def _holidays_of_year(country: str, year: int) -> frozenset[date]:
    return frozenset(holidays_lib.country_holidays(country, years=year).keys())


def national_holidays(clinic: Clinic, first_day: date, last_day: date) -> frozenset[date]:
    """The clinic country's public holidays in [first_day, last_day], if the clinic closes on them."""
    if not clinic.observes_national_holidays:
        return frozenset()
    days: set[date] = set()
    for year in range(first_day.year, last_day.year + 1):
        days.update(d for d in _holidays_of_year(clinic.country, year) if first_day <= d <= last_day)
    return frozenset(days)


def weekly_plans(
    staff_ids: Iterable[int], first_day: date, last_day: date
) -> tuple[dict[int, list[WeeklyPlan]], dict[int, int]]:
    """Each staff member's plans that touch the range, and his default chair: one query (a LEFT JOIN of
    plans and their intervals, read as plain values — this runs on every slot search)."""
    rows = (
        WorkingPlan.objects.filter(staff_id__in=list(staff_ids), valid_from__lte=last_day)
        .exclude(valid_until__lt=first_day)
        .order_by("staff_id", "valid_from", "pk")
        .values_list(
            "pk",
            "staff_id",
            "valid_from",
            "valid_until",
            "default_chair_id",
            "intervals__kind",
            "intervals__weekday",
            "intervals__start",
            "intervals__end",
        )
    )
    plans: dict[int, tuple[int, date, date | None, int | None]] = {}
    rules: dict[int, dict[str, list[WeeklyRule]]] = defaultdict(lambda: defaultdict(list))
    for plan_id, staff_id, valid_from, valid_until, chair_id, kind, weekday, start, end in rows:
        plans.setdefault(plan_id, (staff_id, valid_from, valid_until, chair_id))
        if kind is not None:
            rules[plan_id][kind].append(WeeklyRule(weekday, start, end))
    by_staff: dict[int, list[WeeklyPlan]] = defaultdict(list)
    default_chairs: dict[int, int] = {}
    for plan_id, (staff_id, valid_from, valid_until, plan_chair) in plans.items():
        by_staff[staff_id].append(
            WeeklyPlan(
                working=tuple(rules[plan_id][PlanIntervalKind.WORK]),
                breaks=tuple(rules[plan_id][PlanIntervalKind.BREAK]),
                valid_from=valid_from,
                valid_until=valid_until,
            )
        )
        valid_first_day = valid_from <= first_day and (valid_until is None or first_day <= valid_until)
        if plan_chair is not None and (staff_id not in default_chairs or valid_first_day):
            default_chairs[staff_id] = plan_chair
    return by_staff, default_chairs


def date_exceptions(
    clinic: Clinic, staff_ids: Iterable[int], first_day: date, last_day: date
) -> tuple[dict[int, list[DateException]], list[DateException]]:
    """Per-staff exceptions (extra hours, leave, sick days) and the clinic's closures (2 queries)."""
    per_staff: dict[int, list[DateException]] = defaultdict(list)
    rows = ScheduleException.objects.filter(
        staff_id__in=list(staff_ids), date__gte=first_day, date__lte=last_day
    ).values_list("staff_id", "date", "kind", "start", "end")
    for staff_id, day, kind, start, end in rows:
        per_staff[staff_id].append(DateException(day, ScheduleExceptionKind(kind).core_kind, start, end))
    closures = [
        DateException(day, ExceptionKind.OFF, start, end)
        for day, start, end in ClinicClosure.objects.filter(
            clinic=clinic, date__gte=first_day, date__lte=last_day
        ).values_list("date", "start", "end")
    ]
    return per_staff, closures


# The clinic's urgent services, by code, in order of preference: the patient's "I am in pain" leads to the
# first his age allows, the desk's emergency button offers them all. settings.NAVBAT_URGENT_SERVICE_CODES
# replaces the list. A clinic without any of them offers no emergency booking.
URGENT_SERVICE_CODES = ("pain-relief", "abscess", "urgent", "emergency")


def urgent_codes() -> tuple[str, ...]:
    return tuple(getattr(settings, "NAVBAT_URGENT_SERVICE_CODES", URGENT_SERVICE_CODES))


def urgent_services(clinic: Clinic) -> QuerySet[Service]:
    return Service.objects.filter(clinic=clinic, is_active=True, code__in=urgent_codes()).order_by("code")
