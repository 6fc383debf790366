"""The waitlist's pages. Thin: each calls one service or selector of booking.waitlist.

- `offer`: the link in an offer message. Anybody with the link sees the offered time and accepts or declines
  it, without signing in (the link's token is a random secret of 192 bits, one per offer). An offer that
  has ended answers 410, one answered already 409, an unknown link 404 — each with a page that says so.
- `offers`: the operators' list of offers in flight and of who waits, for the console's roles.
- `join` (a signed-in patient, for himself or his child), `join_for` (an operator, for a caller): the wishes
  form; `earlier`: "earlier if possible" on a patient's booked visit.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from navbat.accounts.access import (
    can_change_online,
    can_use_console,
    clinic_of,
    family_appointment_or_404,
    own_patient,
    patient_or_404,
    require,
    visible_patients,
)
from navbat.accounts.audit import Actor
from navbat.booking import waitlist
from navbat.booking.models import Urgency
from navbat.booking.patient_views import patient_pages
from navbat.booking.services import record_board_view
from navbat.booking.waitlist_forms import JoinForm
from navbat.clinic.models import Clinic, Service, StaffMember, StaffRole
from navbat.errors import DomainError
from navbat.patients.models import Patient

STATUS_OF: dict[str, int] = {
    waitlist.WaitlistErrorCode.OFFER_INVALID: 404,
    waitlist.WaitlistErrorCode.OFFER_EXPIRED: 410,
    waitlist.WaitlistErrorCode.OFFER_CLOSED: 409,
}


@never_cache
@require_http_methods(["GET", "POST"])
def offer(request: HttpRequest, token: str) -> HttpResponse:
    try:
        found = waitlist.offer_from_token(token)
    except DomainError as error:
        return _problem(request, error)
    now = timezone.now()
    if request.method == "POST":
        try:
            if request.POST.get("answer") == "accept":
                booked = waitlist.accept_offer(offer=found, now=now)
                return render(request, "booking/waitlist/offer.html", {"offer": found, "booked": booked})
            if request.POST.get("answer") == "decline":
                waitlist.decline_offer(offer=found, now=now)
                return render(request, "booking/waitlist/offer.html", {"offer": found, "declined": True})
        except DomainError as error:
            return _problem(request, error)
        return render(request, "booking/waitlist/offer.html", {"offer": found, "live": True}, status=400)
    try:
        waitlist.check_live(found, now)
    except DomainError as error:
        return _problem(request, error)
    minutes_left = max(0, int((found.expires_at - now).total_seconds()) // 60)
    return render(
        request, "booking/waitlist/offer.html", {"offer": found, "live": True, "minutes_left": minutes_left}
    )


@login_required
@require_GET
def offers(request: HttpRequest) -> HttpResponse:
    require(can_use_console(request.user))
    clinic = clinic_of(request.user)
    assert clinic is not None  # can_use_console says so
    in_flight = list(waitlist.offers_in_flight(clinic=clinic))
    entries = list(waitlist.waiting_entries(clinic=clinic))
    record_board_view(
        actor=Actor.of(request),
        patient_ids=[entry.patient_id for entry in entries],
        fields=["surname", "name", "patronymic"],
        note="waitlist",
    )
    context = {"offers": in_flight, "entries": entries, "clinic": clinic}
    return render(request, "booking/waitlist/offers.html", context)


def _problem(request: HttpRequest, error: DomainError) -> HttpResponse:
    status = STATUS_OF.get(str(error.code), 409)
    return render(request, "booking/waitlist/problem.html", {"message": error.message}, status=status)


@require_http_methods(["GET", "POST"])
@patient_pages
def join(request: HttpRequest) -> HttpResponse:
    """No time suits: the signed-in patient asks to be offered one, for himself or his child."""
    me = own_patient(request.user)
    if me is None:
        return render(
            request, "booking/waitlist/problem.html", {"message": _("No such patient.")}, status=404
        )
    return _join_page(request, clinic=me.clinic, patients=visible_patients(request.user), staff=False)


@login_required
@require_http_methods(["GET", "POST"])
def join_for(request: HttpRequest, patient: int) -> HttpResponse:
    """An operator puts a caller on the waitlist, with how urgent it is."""
    require(can_use_console(request.user))
    caller = patient_or_404(request.user, patient)
    clinic = clinic_of(request.user)
    assert clinic is not None  # can_use_console says so
    return _join_page(request, clinic=clinic, patients=Patient.objects.filter(pk=caller.pk), staff=True)


@require_http_methods(["POST"])
@patient_pages
def earlier(request: HttpRequest, pk: int) -> HttpResponse:
    """Earlier if possible, on a booked visit: any dentist who does the service, any time until the visit."""
    found = family_appointment_or_404(request.user, pk)
    now = timezone.now()
    require(can_change_online(request.user, found, now=now))
    today = now.astimezone(found.clinic.tz).date()
    try:
        waitlist.join_waitlist(
            patient=found.patient,
            service=found.service,
            date_from=today,
            date_to=max(today, found.starts_at.astimezone(found.clinic.tz).date()),
            earlier_than=found,
            created_by=None,
            now=now,
        )
    except DomainError as error:
        return _problem(request, error)
    return render(request, "booking/waitlist/joined.html", {"earlier": True, "appointment": found})


def _initial(request: HttpRequest, patients: Any) -> dict[str, Any]:
    """The booking flow's person and service (?p=…&s=…) when it sends him here; else his own record."""
    initial: dict[str, Any] = {"patient": patients.first()}
    person, service = request.GET.get("p", ""), request.GET.get("s", "")
    if person.isdigit() and len(person) < 16:
        initial["patient"] = patients.filter(pk=int(person)).first() or initial["patient"]
    if service.isdigit() and len(service) < 16:
        initial["service"] = int(service)
    return initial


def _join_page(request: HttpRequest, *, clinic: Clinic, patients: Any, staff: bool) -> HttpResponse:
    now = timezone.now()
    today = now.astimezone(clinic.tz).date()
    form = JoinForm(
        request.POST if request.method == "POST" else None,
        patients=patients,
        services=Service.objects.filter(clinic=clinic, is_active=True),
        dentists=StaffMember.objects.filter(clinic=clinic, role=StaffRole.DENTIST, is_active=True),
        staff=staff,
        today=today,
        initial=_initial(request, patients),
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            entry = waitlist.join_waitlist(
                patient=data["patient"],
                service=data["service"],
                date_from=data["date_from"],
                date_to=data["date_to"],
                dentists=data["dentists"],
                weekdays=data["weekdays"],
                time_from=data["time_from"],
                time_to=data["time_to"],
                urgency=Urgency(data.get("urgency", Urgency.ROUTINE)),
                created_by=request.user if staff else None,  # type: ignore[arg-type]
                now=now,
            )
        except DomainError as error:
            form.add_error(None, str(error.message))
        else:
            if staff:
                return redirect("waitlist:offers")
            return render(request, "booking/waitlist/joined.html", {"entry": entry})
    status = 400 if request.method == "POST" else 200
    return render(request, "booking/waitlist/join.html", {"form": form, "staff": staff}, status=status)
