"""Pages of the booking app. Thin: parse, authorise, call a selector or service, render."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from navbat.accounts.access import clinic_for_schedule
from navbat.booking.selectors import day_board
from navbat.clinic.models import Clinic


def home(request: HttpRequest) -> HttpResponse:
    """Staff see today's schedule per dentist; everyone else sees the clinics and a sign-in link."""
    clinic = clinic_for_schedule(request.user)
    if clinic is None:
        return render(request, "booking/welcome.html", {"clinics": Clinic.objects.all()})
    today = timezone.now().astimezone(clinic.tz).date()
    raw = request.GET.get("date")
    day = today
    if raw:
        try:
            day = date.fromisoformat(raw)
        except ValueError:
            return render(
                request,
                "booking/bad_request.html",
                {"message": _("“%(value)s” is not a date. Use the form YYYY-MM-DD.") % {"value": raw[:20]}},
                status=400,
            )
    context = {
        "clinic": clinic,
        "day": day,
        "today": today,
        "previous_day": day - timedelta(days=1),
        "next_day": day + timedelta(days=1),
        "columns": day_board(clinic=clinic, day=day),
        "now": timezone.now().astimezone(clinic.tz),
        "day_start": datetime.combine(day, datetime.min.time(), tzinfo=clinic.tz),
    }
    return render(request, "booking/day.html", context)
