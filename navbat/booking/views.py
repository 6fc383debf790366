"""Pages of the booking app. Thin: parse, authorise, call a selector or service, render."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from navbat.accounts.access import clinic_for_schedule
from navbat.booking.desk_views import board_page
from navbat.clinic.models import Clinic


@never_cache
def home(request: HttpRequest) -> HttpResponse:
    """Staff see their clinic's day board — at the desk with its tools (walk-ins, emergencies, moving and
    marking appointments); everyone else sees the clinics and a sign-in link."""
    if clinic_for_schedule(request.user) is None:
        return render(request, "booking/welcome.html", {"clinics": Clinic.objects.all()})
    return board_page(request)
