"""The call-centre console: one page where an operator finds the caller, opens his card, finds the best
options for his wishes, and books, moves or cancels — with the keyboard alone (static/console.js adds the
shortcuts the page lists).

Thin: every view first asks access.can_use_console (403), then looks the caller or the visit up among those
the user may see (404), calls one selector or service, and renders booking/console/console.html: the whole
page, or for htmx only the part that changed. Every card shown and every search is put on record. Bad input
re-renders with 400; a time somebody took meanwhile, or a possible duplicate, with 409.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.formats import date_format
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import push_url
from django_htmx.middleware import HtmxDetails

from navbat.accounts import ratelimits
from navbat.accounts.access import (
    AnyUser,
    appointment_or_404,
    booking_channel,
    can_register,
    can_see_clinical,
    can_take_step,
    can_use_console,
    clinic_of,
    patient_or_404,
    require,
    visible_patients,
)
from navbat.accounts.audit import Actor
from navbat.booking.console_forms import CallerForm, CancelForm, OptionsForm, SearchForm, SlotForm
from navbat.booking.errors import BookingErrorCode
from navbat.booking.models import Appointment
from navbat.booking.reserve import RESERVE_HIDDEN_CHANNELS
from navbat.booking.selectors import best_options, no_show_count, upcoming_visits
from navbat.booking.services import book_appointment, cancel_appointment, reschedule_appointment
from navbat.booking.statuses import Channel
from navbat.clinic.models import Chair, Clinic, Service, StaffMember, StaffRole
from navbat.errors import DomainError
from navbat.patients.errors import PatientErrorCode
from navbat.patients.models import Guardianship, Patient
from navbat.patients.selectors import children_of, search_patients
from navbat.patients.services import record_patient_view, record_search, register_patient

TEMPLATE = "booking/console/console.html"
SEARCH_LIMIT = 10
# Options are looked for this many days after the caller's earliest date.
OPTIONS_SPAN_DAYS = 92
# What each part shows, as the audit log names it.
SEARCH_FIELDS = ("number", "surname", "name", "patronymic", "birth_date", "phone")
CARD_FIELDS = (*SEARCH_FIELDS, "appointments", "no_shows", "guardians")
# A taken time or a time nobody works is a conflict with the schedule, not bad input.
CONFLICTS = frozenset({BookingErrorCode.SLOT_TAKEN, BookingErrorCode.SLOT_UNAVAILABLE})


@dataclass(frozen=True)
class Option:
    number: int
    start: datetime
    end: datetime
    dentist: StaffMember
    chair: Chair


@dataclass(frozen=True)
class Visit:
    appointment: Appointment
    may_move: bool
    may_cancel: bool


# Helpers ----------------------------------------------------------------------------------------------------


def _clinic(user: AnyUser) -> Clinic:
    """The clinic the console books in: the user's own. Whoever may not use the console gets 403."""
    require(can_use_console(user))
    clinic = clinic_of(user)
    assert clinic is not None  # can_use_console says so
    return clinic


def _today(clinic: Clinic) -> date:
    return timezone.now().astimezone(clinic.tz).date()


def _partial(request: HttpRequest) -> bool:
    htmx: HtmxDetails | None = getattr(request, "htmx", None)
    return htmx is not None and bool(htmx) and not htmx.history_restore_request


def _show(request: HttpRequest, context: dict[str, Any], part: str, status: int = 200) -> HttpResponse:
    """The whole console, or for htmx only `part` of it."""
    template = f"{TEMPLATE}#{part}" if _partial(request) else TEMPLATE
    response = render(request, template, context, status=status)
    patch_vary_headers(response, ("HX-Request",))
    return response


def _done(request: HttpRequest, context: dict[str, Any], patient: Patient) -> HttpResponse:
    """After a change: htmx gets the refreshed card (with the message); a plain form post is redirected."""
    if not _partial(request):
        return redirect("console:card", pk=patient.pk)
    response = _show(request, context, "caller")
    return push_url(response, reverse("console:card", kwargs={"pk": patient.pk}))


def _services(clinic: Clinic, patient: Patient, today: date) -> QuerySet[Service]:
    """The clinic's services offered at the caller's age."""
    age = patient.age_on(today)
    services = Service.objects.filter(clinic=clinic, is_active=True)
    return services.exclude(min_age__gt=age).exclude(max_age__lt=age)


def _dentists(clinic: Clinic) -> QuerySet[StaffMember]:
    return (
        StaffMember.objects.filter(clinic=clinic, role=StaffRole.DENTIST, is_active=True)
        .select_related("user")
        .prefetch_related("specialties")
    )


def _options_form(
    data: QueryDict | None,
    *,
    clinic: Clinic,
    patient: Patient,
    moving: Appointment | None = None,
    chosen: bool = False,
) -> OptionsForm:
    """The wishes form (with `chosen`: the form of the option chosen). Moving keeps the visit's service."""
    today = _today(clinic)
    if moving is not None:
        services = Service.objects.filter(pk=moving.service_id)
    else:
        services = _services(clinic, patient, today)
    kwargs: dict[str, Any] = {"services": services, "dentists": _dentists(clinic), "today": today}
    if moving is not None:
        kwargs["initial"] = {"move": moving.pk, "service": moving.service_id}
    if chosen:
        return SlotForm(data, clinic=clinic, **kwargs)
    return OptionsForm(data, **kwargs)


def _carry(data: QueryDict) -> list[tuple[str, str]]:
    """The wishes as hidden fields of each option's form, to search again with them after a conflict."""
    return [(name, value) for name in OptionsForm.base_fields for value in data.getlist(name) if value]


def _find(request: HttpRequest, clinic: Clinic, patient: Patient, form: OptionsForm) -> list[Option]:
    """The best options for the wishes of a valid form."""
    data = form.cleaned_data
    first_day = form.first_day()
    slots = best_options(
        clinic=clinic,
        service=data["service"],
        now=timezone.now(),
        first_day=first_day,
        last_day=first_day + timedelta(days=OPTIONS_SPAN_DAYS),
        wishes=form.wishes(),
        dentist=data["dentist"],
        patient_id=patient.pk,
        online=booking_channel(request.user) == Channel.WEB,
        hide_reserve=booking_channel(request.user) in RESERVE_HIDDEN_CHANNELS,
    )
    dentists = StaffMember.objects.select_related("user").in_bulk({s.dentist_id for s in slots})
    chairs = Chair.objects.in_bulk({s.chair_id for s in slots})
    return [
        Option(number, slot.start, slot.end, dentists[slot.dentist_id], chairs[slot.chair_id])
        for number, slot in enumerate(slots, start=1)
    ]


def _context(clinic: Clinic, **parts: Any) -> dict[str, Any]:
    return {"clinic": clinic, **parts}


def _caller(request: HttpRequest, clinic: Clinic, patient: Patient, **parts: Any) -> dict[str, Any]:
    """The page with the caller's card (put on record as read) and, unless `parts` say otherwise, the form
    to find options for a new visit."""
    user = request.user
    clinical = can_see_clinical(user, patient)
    record_patient_view(
        patient=patient, actor=Actor.of(request), fields=(*CARD_FIELDS, "alerts") if clinical else CARD_FIELDS
    )
    visits = [
        Visit(a, can_take_step(user, a, "reschedule"), can_take_step(user, a, "cancel"))
        for a in upcoming_visits(patient.pk, now=timezone.now())
    ]
    visible = visible_patients(user).values("pk")
    guardians = Guardianship.objects.filter(child=patient, guardian__in=visible).select_related("guardian")
    card = {
        "patient": patient,
        "age": patient.age_on(_today(clinic)),
        "visits": visits,
        "no_shows": no_show_count(patient.pk),
        "clinical": clinical,
        "alerts": list(patient.alerts.all()) if clinical else [],
        "has_alerts": patient.alerts.exists(),
        "children": list(children_of(patient).filter(pk__in=visible)),
        "guardians": list(guardians),
        "may_register": can_register(user),
        "options_form": _options_form(None, clinic=clinic, patient=patient),
    }
    return _context(clinic, **(card | parts))


def _confirmation(pk: int, *, moved: bool) -> str:
    """What the operator reads back to the caller: when, with whom, in which chair."""
    appointment = Appointment.objects.select_related("clinic", "dentist__user", "chair").get(pk=pk)
    text = (
        _("Moved to %(when)s, %(dentist)s, %(chair)s.")
        if moved
        else _("Booked: %(when)s, %(dentist)s, %(chair)s.")
    )
    names = {"dentist": appointment.dentist.display_name, "chair": appointment.chair.name}
    return text % {"when": _when(appointment), **names}


def _when(appointment: Appointment) -> str:
    local = appointment.starts_at.astimezone(appointment.clinic.tz)
    return date_format(local, "l, j E Y, H:i")


# Search -----------------------------------------------------------------------------------------------------


@login_required
@never_cache
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    clinic = _clinic(request.user)
    return _show(request, _context(clinic), "caller")


@login_required
@never_cache
@require_GET
def search(request: HttpRequest) -> HttpResponse:
    """The one box: a phone in any format, a name in either script, a patient number; answered as he types."""
    clinic = _clinic(request.user)
    form = SearchForm(request.GET)
    if not form.is_valid():
        return _show(request, _context(clinic, query="", rows=[]), "results", status=400)
    query = form.cleaned_data["q"]
    rows = search_patients(
        patients=visible_patients(request.user), query=query, region=clinic.phone_region, limit=SEARCH_LIMIT
    )
    if query:
        record_search(actor=Actor.of(request), shown=len(rows), fields=SEARCH_FIELDS)
    context = _context(clinic, query=query, rows=rows, limit=SEARCH_LIMIT, today=_today(clinic))
    return _show(request, context, "results")


# The caller's card and the options ----------------------------------------------------------------------


@login_required
@never_cache
@require_GET
def card(request: HttpRequest, pk: int) -> HttpResponse:
    clinic = _clinic(request.user)
    patient = patient_or_404(request.user, pk)
    return _show(request, _caller(request, clinic, patient), "caller")


@login_required
@never_cache
@require_GET
def options(request: HttpRequest, pk: int) -> HttpResponse:
    """The best five options for the caller's wishes (for a new visit, or for moving one: `move`)."""
    clinic = _clinic(request.user)
    patient = patient_or_404(request.user, pk)
    moving = _moving(request, patient)
    form = _options_form(request.GET, clinic=clinic, patient=patient, moving=moving)
    parts: dict[str, Any] = {"options_form": form, "moving": moving, "searched": True}
    if not form.is_valid():
        return _show_options(request, clinic, patient, parts, status=400)
    try:
        ratelimits.take_search(request)
    except DomainError as error:
        form.add_error(None, str(error.message))
        response = _show_options(request, clinic, patient, parts, status=429)
        response["Retry-After"] = str(error.details["retry_after"])
        return response
    parts.update(options=_find(request, clinic, patient, form), carry=_carry(request.GET))
    return _show_options(request, clinic, patient, parts)


def _show_options(
    request: HttpRequest, clinic: Clinic, patient: Patient, parts: dict[str, Any], status: int = 200
) -> HttpResponse:
    """The options part; without htmx, the whole page around it (the card included, so put on record)."""
    if _partial(request):
        return _show(request, _context(clinic, patient=patient, **parts), "options", status)
    return _show(request, _caller(request, clinic, patient, **parts), "options", status)


def _moving(request: HttpRequest, patient: Patient) -> Appointment | None:
    """The caller's visit being moved, named by the `move` parameter; another patient's is not found."""
    raw = request.GET.get("move", "")
    if not raw.isdigit():
        return None
    appointment = appointment_or_404(request.user, int(raw))
    if appointment.patient_id != patient.pk:
        raise Http404(_("No such appointment."))  # as for an appointment he may not see
    require(can_take_step(request.user, appointment, "reschedule"))
    return appointment


# Book, move, cancel -----------------------------------------------------------------------------------------


@login_required
@never_cache
@require_POST
def book(request: HttpRequest, pk: int) -> HttpResponse:
    clinic = _clinic(request.user)
    patient = patient_or_404(request.user, pk)
    form = _options_form(request.POST, clinic=clinic, patient=patient, chosen=True)
    return _take(request, clinic, patient, form, moving=None)


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def move(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: the wishes form for moving this visit; POST: move it to the option chosen."""
    clinic = _clinic(request.user)
    appointment = appointment_or_404(request.user, pk)
    require(can_take_step(request.user, appointment, "reschedule"))
    patient = appointment.patient
    if request.method != "POST":
        form = _options_form(None, clinic=clinic, patient=patient, moving=appointment)
        context = _caller(request, clinic, patient, options_form=form, moving=appointment)
        return _show(request, context, "caller")
    form = _options_form(request.POST, clinic=clinic, patient=patient, moving=appointment, chosen=True)
    return _take(request, clinic, patient, form, moving=appointment)


def _take(
    request: HttpRequest, clinic: Clinic, patient: Patient, form: OptionsForm, *, moving: Appointment | None
) -> HttpResponse:
    """Book the option chosen (or move `moving` to it). A refusal shows why, with fresh options."""
    parts: dict[str, Any] = {"options_form": form, "moving": moving, "searched": True}
    if not form.is_valid():
        return _show(request, _caller(request, clinic, patient, **parts), "caller", 400)
    data = form.cleaned_data
    user = request.user
    try:
        if moving is None:
            appointment = book_appointment(
                patient=patient,
                service=data["service"],
                starts_at=data["slot_start"],
                channel=booking_channel(user),
                dentist=data["slot_dentist"],
                chair=data["slot_chair"],
                created_by=Actor.of(request).user,
            )
        else:
            appointment = reschedule_appointment(
                appointment=moving,
                starts_at=data["slot_start"],
                channel=booking_channel(user),
                dentist=data["slot_dentist"],
                chair=data["slot_chair"],
                actor=Actor.of(request).user,
            )
    except DomainError as error:
        parts.update(
            refusal=error.message, options=_find(request, clinic, patient, form), carry=_carry(request.POST)
        )
        status = 409 if error.code in CONFLICTS else 400
        return _show(request, _caller(request, clinic, patient, **parts), "caller", status)
    messages.success(request, _confirmation(appointment.pk, moved=moving is not None))
    context = _caller(request, clinic, patient, booked=appointment.pk, focus_message=True)
    return _done(request, context, patient)


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def cancel(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: ask why; POST: cancel the visit with that reason (the time is free again at once)."""
    clinic = _clinic(request.user)
    appointment = appointment_or_404(request.user, pk)
    require(can_take_step(request.user, appointment, "cancel"))
    patient = appointment.patient
    form = CancelForm(request.POST if request.method == "POST" else None)
    parts: dict[str, Any] = {"cancel_form": form, "cancelling": appointment}
    if request.method != "POST":
        return _show(request, _caller(request, clinic, patient, **parts), "caller")
    if not form.is_valid():
        return _show(request, _caller(request, clinic, patient, **parts), "caller", 400)
    try:
        cancel_appointment(
            appointment=appointment, actor=Actor.of(request).user, reason=form.cleaned_data["reason"]
        )
    except DomainError as error:
        parts["refusal"] = error.message
        return _show(request, _caller(request, clinic, patient, **parts), "caller", 409)
    messages.success(request, _("Cancelled the visit of %(when)s.") % {"when": _when(appointment)})
    return _done(request, _caller(request, clinic, patient, focus_message=True), patient)


# Registering a new caller -----------------------------------------------------------------------------------


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def register(request: HttpRequest) -> HttpResponse:
    """A caller the search did not find, registered while on the line (a child from his parent's card)."""
    clinic = _clinic(request.user)
    require(can_register(request.user))
    today = _today(clinic)
    if request.method != "POST":
        raw = request.GET.get("guardian", "")
        guardian = patient_or_404(request.user, int(raw)) if raw.isdigit() else None
        form = CallerForm(initial=_typed_in(request.GET), today=today)
        return _register_page(request, clinic, form, guardian)
    form = CallerForm(request.POST, today=today)
    guardian = _guardian(request, form) if form.is_valid() else None
    if not form.is_valid():
        return _register_page(request, clinic, form, guardian, status=400)
    cleaned = form.cleaned_data
    try:
        patient = register_patient(
            clinic=clinic,
            data=form.patient_data(),
            actor=Actor.of(request),
            guardian=guardian,
            relation=cleaned["relation"] or Guardianship.Relation.GUARDIAN,
            allow_duplicates=cleaned["allow_duplicates"],
        )
    except DomainError as error:
        if error.code != PatientErrorCode.POSSIBLE_DUPLICATE:
            form.show_domain_error(error)
            return _register_page(request, clinic, form, guardian, status=400)
        duplicates = list(visible_patients(request.user).filter(pk__in=error.details.get("candidates", [])))
        record_search(actor=Actor.of(request), shown=len(duplicates), fields=SEARCH_FIELDS)
        return _register_page(request, clinic, form, guardian, status=409, duplicates=duplicates)
    messages.success(request, _("Registered with number %(number)s.") % {"number": patient.number})
    return _done(request, _caller(request, clinic, patient), patient)


def _register_page(
    request: HttpRequest,
    clinic: Clinic,
    form: CallerForm,
    guardian: Patient | None,
    *,
    status: int = 200,
    duplicates: list[Patient] | None = None,
) -> HttpResponse:
    context = _context(clinic, register_form=form.autofocus(), guardian=guardian, duplicates=duplicates or [])
    return _show(request, context, "caller", status)


def _typed_in(query: QueryDict) -> dict[str, str]:
    """What the operator typed in the search box, put where it belongs: a phone, or a surname and name."""
    initial = {"preferred_language": get_language() or "uz", "guardian": query.get("guardian", "")[:20]}
    typed = query.get("q", "").strip()[:100]
    if typed and not any(ch.isalpha() for ch in typed):
        initial["phone"] = typed
    elif typed:
        surname, _space, name = typed.partition(" ")
        initial.update(surname=surname, name=name.strip())
    return initial


def _guardian(request: HttpRequest, form: CallerForm) -> Patient | None:
    """The parent named by the valid form's hidden `guardian` field; one the user may not see is an error."""
    pk = form.cleaned_data.get("guardian")
    if pk is None:
        return None
    guardian = visible_patients(request.user).filter(pk=pk).first()
    if guardian is None:
        form.add_error(None, _("No such patient."))
    return guardian
