"""The patients' own booking pages: who → what (or "I am in pain") → which dentist → when → hold → confirm;
"My appointments"; and the signed links that show, cancel or move one appointment without signing in.

Thin: parse (patient_forms), authorise (accounts.access), call one service (booking.holds, booking.services)
or read, render. The flow's choices travel in the query string, so the back button and a reload keep them;
the chosen time is held (booking.holds) while the patient confirms. Bad input is answered 400, an object
the visitor may not see 404, a dead link 410; nothing is changed by any of them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.models import User
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.middleware import HtmxDetails

from navbat.accounts import ratelimits
from navbat.accounts.access import (
    can_book_online,
    can_change_online,
    can_take_step,
    family_appointment_or_404,
    family_patient_or_404,
    own_patient,
    require,
    visible_holds,
    visible_patients,
)
from navbat.booking import links
from navbat.booking import release as draws
from navbat.booking.calendar import CONTENT_TYPE, appointment_ics
from navbat.booking.holds import book_held, move_held, place_hold, release_hold
from navbat.booking.models import Appointment, SlotHold
from navbat.booking.patient_forms import (
    ANY,
    TRIAGE,
    ConfirmForm,
    DayForm,
    FlowForm,
    TimeForm,
    TriageForm,
    bookable_service,
    bookable_services,
    dentists_for,
    family_appointments,
    strip_days,
    triage_notes,
    urgent_service,
)
from navbat.booking.selectors import find_free_slots
from navbat.booking.services import cancel_appointment
from navbat.clinic.models import Clinic, Service, StaffMember
from navbat.errors import DomainError
from navbat.patients.models import Language, Patient
from navbat.patients.selectors import children_of

View = Callable[..., HttpResponse]


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


class Refused(Exception):
    """Input the page cannot use: answered with the problem page and `status`, nothing changed."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


LINK_STATUS = {links.LinkErrorCode.INVALID: 404, links.LinkErrorCode.EXPIRED: 410}
LANGUAGE_NAMES = dict(Language.choices)
PARTS_OF_DAY = ((12, "morning"), (17, "afternoon"), (24, "evening"))


def patient_pages(view: View) -> View:
    """Signed-in patients only: others go to the patient sign-in, staff get 403. Never cached (a family's
    shared phone)."""

    @wraps(view)
    @never_cache
    def wrapper(request: HtmxHttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), reverse("me:login"))
        require(can_book_online(request.user))
        try:
            return view(request, *args, **kwargs)
        except Refused as refusal:
            return _problem(request, refusal.message, refusal.status)

    return wrapper


def link_pages(view: View) -> View:
    """The signed links: anybody with the link; a bad or dead one gets the problem page."""

    @wraps(view)
    @never_cache
    def wrapper(request: HtmxHttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except Refused as refusal:
            return _problem(request, refusal.message, refusal.status)

    return wrapper


# --- The flow's state --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Flow:
    """The choices so far: the person, the service (or urgent, with the triage answers), dentist, day."""

    patient: Patient
    service: Service | None
    triage: dict[str, str] | None
    dentist_choice: str  # "" not chosen yet, "any", or the dentist's id
    dentist: StaffMember | None
    day: date | None

    def params(self, **changes: object) -> dict[str, str]:
        values: dict[str, object] = {"p": self.patient.pk}
        if self.triage:
            values.update(self.triage)
        elif self.service:
            values["s"] = self.service.code
        values["d"] = self.dentist_choice
        values["day"] = self.day.isoformat() if self.day else ""
        values.update(changes)
        return {key: str(value) for key, value in values.items() if value not in (None, "")}

    def query(self, **changes: object) -> str:
        return urlencode(self.params(**changes))

    @property
    def clinic(self) -> Clinic:
        return self.patient.clinic


def _flow(request: HttpRequest, data: QueryDict) -> Flow:
    form = FlowForm(data)
    if not form.is_valid():
        raise Refused(_("This page's address is not complete. Please start again."))
    patient = family_patient_or_404(request.user, form.cleaned_data["p"])
    today = _today(patient.clinic)
    triage = form.triage()
    service: Service | None = None
    if triage is not None:
        service = urgent_service(patient, today=today)
    elif form.cleaned_data["s"]:
        service = bookable_service(patient, form.cleaned_data["s"], today=today)
    if service is None and (triage is not None or form.cleaned_data["s"]):
        raise Http404(_("This service cannot be booked online for this person."))
    choice = form.cleaned_data["d"] or ""
    dentist = None
    if choice and choice != ANY:
        dentist = dentists_for(service).filter(pk=int(choice)).first() if service else None
        if dentist is None:
            raise Http404(_("No such dentist."))
    return Flow(patient, service, triage, choice, dentist, form.cleaned_data["day"])


def _today(clinic: Clinic) -> date:
    return timezone.now().astimezone(clinic.tz).date()


# --- Booking: who, what, which dentist, when ---------------------------------------------------------------


@require_GET
@patient_pages
def start(request: HtmxHttpRequest) -> HttpResponse:
    """Who: me or one of my children. Without children there is nothing to choose."""
    me = own_patient(request.user)
    assert me is not None  # can_book_online
    people = [me, *children_of(me).order_by("birth_date")]
    if len(people) == 1:
        return redirect(f"{reverse('book:what')}?p={me.pk}")
    choices = [(person, f"{reverse('book:what')}?p={person.pk}") for person in people]
    return render(request, "booking/patient/start.html", {"choices": choices, "me": me})


@require_GET
@patient_pages
def what(request: HtmxHttpRequest) -> HttpResponse:
    flow = _flow(request, request.GET)
    today = _today(flow.clinic)
    services = [
        (service, f"{reverse('book:dentist')}?{flow.query(s=service.code)}")
        for service in bookable_services(flow.patient, today=today)
    ]
    context = {
        "flow": flow,
        "services": services,
        "urgent": urgent_service(flow.patient, today=today) is not None,
        "pain_url": f"{reverse('book:pain')}?{flow.query()}",
        "back_url": reverse("book:start"),
    }
    return render(request, "booking/patient/what.html", context)


@require_GET
@patient_pages
def pain(request: HtmxHttpRequest) -> HttpResponse:
    """ "I am in pain": the triage questions; their answers lead to the urgent service's dentists."""
    flow = _flow(request, request.GET)
    if urgent_service(flow.patient, today=_today(flow.clinic)) is None:
        raise Http404(_("This clinic does not take urgent cases online. Please call the clinic."))
    return _pain_page(request, flow, TriageForm())


def _pain_page(request: HttpRequest, flow: Flow, form: TriageForm, status: int = 200) -> HttpResponse:
    context = {"flow": flow, "form": form, "back_url": f"{reverse('book:what')}?{flow.query()}"}
    return render(request, "booking/patient/pain.html", context, status=status)


@require_GET
@patient_pages
def dentist(request: HtmxHttpRequest) -> HttpResponse:
    """Which dentist: "first available", or one who does the service (photo, specialties, languages)."""
    answered = [key for key in TRIAGE if key in request.GET]
    flow = _flow(request, request.GET)
    if answered and flow.triage is None:
        return _pain_page(request, flow, TriageForm(request.GET), status=400)
    if flow.service is None:
        return redirect(f"{reverse('book:what')}?{flow.query()}")
    cards = [
        DentistCard.of(member, f"{reverse('book:when')}?{flow.query(d=member.pk)}")
        for member in dentists_for(flow.service)
    ]
    back = "book:pain" if flow.triage else "book:what"
    context = {
        "flow": flow,
        "cards": cards,
        "any_url": f"{reverse('book:when')}?{flow.query(d=ANY)}",
        "back_url": f"{reverse(back)}?{flow.query(s=None) if not flow.triage else flow.query()}",
    }
    return render(request, "booking/patient/dentist.html", context)


@dataclass(frozen=True)
class DentistCard:
    dentist: StaffMember
    initials: str
    specialties: list[str]
    languages: list[str]
    url: str

    @classmethod
    def of(cls, member: StaffMember, url: str) -> DentistCard:
        first, last = member.user.first_name, member.user.last_name
        return cls(
            dentist=member,
            initials=(first[:1] + last[:1]).upper() or member.display_name[:1].upper(),
            specialties=sorted(s.name for s in member.specialties.all()),
            languages=[str(LANGUAGE_NAMES[code]) for code in member.language_list if code in LANGUAGE_NAMES],
            url=url,
        )


@require_GET
@patient_pages
def when(request: HtmxHttpRequest) -> HttpResponse:
    """The date strip and the free times of the chosen day; choosing the day again loads the times alone."""
    flow = _flow(request, request.GET)
    if flow.service is None:
        return redirect(f"{reverse('book:what')}?{flow.query()}")
    if not flow.dentist_choice:
        return redirect(f"{reverse('book:dentist')}?{flow.query()}")
    hidden = flow.params(day=None)
    context = {
        "flow": flow,
        "title": _("Choose a day and a time"),
        "back_url": f"{reverse('book:dentist')}?{flow.query(d=None, day=None)}",
        "strip_action": reverse("book:when"),
        "strip_hidden": sorted(hidden.items()),
        "hold_action": reverse("book:hold"),
        "hold_hidden": sorted(hidden.items()),
    }
    return _when_page(
        request,
        context,
        clinic=flow.clinic,
        service=flow.service,
        patient=flow.patient,
        dentist=flow.dentist,
        day=flow.day,
    )


def _when_page(
    request: HtmxHttpRequest,
    context: dict[str, Any],
    *,
    clinic: Clinic,
    service: Service,
    patient: Patient,
    dentist: StaffMember | None,
    day: date | None,
) -> HttpResponse:
    try:
        ratelimits.take_search(request)
    except DomainError as error:
        return ratelimits.too_many_requests(request, error, template="booking/patient/problem.html")
    now = timezone.now()
    days = strip_days(clinic, now=now)
    if day is None:
        first = find_free_slots(
            clinic=clinic,
            service=service,
            first_day=days[0],
            last_day=days[-1],
            now=now,
            dentist=dentist,
            patient_id=patient.pk,
            limit=1,
            online=True,
        )
        day = first[0].start.astimezone(clinic.tz).date() if first else days[0]
    if day not in days:
        raise Refused(_("Please choose a day from the strip: online booking is open for these days only."))
    slots = find_free_slots(
        clinic=clinic,
        service=service,
        first_day=day,
        last_day=day,
        now=now,
        dentist=dentist,
        patient_id=patient.pk,
        limit=None,
        online=True,
    )
    starts = sorted({slot.start.astimezone(clinic.tz) for slot in slots})
    context |= {
        "clinic": clinic,
        "service": service,
        "patient": patient,
        "days": days,
        "day": day,
        "parts": _parts_of_day(starts),
        "any_times": bool(starts),
    }
    partial = bool(request.htmx) and not request.htmx.history_restore_request
    template = "booking/patient/when.html#times" if partial else "booking/patient/when.html"
    response = render(request, template, context)
    patch_vary_headers(response, ("HX-Request",))
    return response


def _parts_of_day(starts: Iterable[datetime]) -> list[tuple[str, list[datetime]]]:
    parts: dict[str, list[datetime]] = {name: [] for _hour, name in PARTS_OF_DAY}
    for start in starts:
        name = next(name for hour, name in PARTS_OF_DAY if start.hour < hour)
        parts[name].append(start)
    return [(name, times) for name, times in parts.items() if times]


# --- Hold and confirm --------------------------------------------------------------------------------------


@require_POST
@patient_pages
def hold(request: HtmxHttpRequest) -> HttpResponse:
    """Choosing a time holds it for a few minutes while the patient confirms."""
    flow = _flow(request, request.POST)
    form = TimeForm(request.POST)
    if flow.service is None or not form.is_valid():
        raise Refused(_("Please choose a time from the list."))
    try:
        held = place_hold(
            patient=flow.patient,
            service=flow.service,
            starts_at=form.cleaned_data["start"],
            dentist=flow.dentist,
            created_by=_user(request),
            urgent=flow.triage is not None,
            notes=triage_notes(flow.triage) if flow.triage else "",
        )
    except DomainError as error:
        if error.code == draws.ReleaseErrorCode.DRAW_OPEN:
            return _enter_draw(request, flow, form.cleaned_data["start"])
        messages.error(request, str(error.message))
        return redirect(f"{reverse('book:when')}?{flow.query()}")
    return redirect(f"{reverse('book:confirm', kwargs={'pk': held.pk})}?{flow.query()}")


def _enter_draw(request: HtmxHttpRequest, flow: Flow, start: datetime) -> HttpResponse:
    """A time of the day being released: the request goes into that day's draw (booking.release), with the
    chosen time as the wish; the patient is told when the outcome comes."""
    assert flow.service is not None  # hold() checked
    clinic = flow.clinic
    try:
        entry = draws.enter_draw(
            patient=flow.patient,
            service=flow.service,
            wishes=[start.astimezone(clinic.tz).time()],
            dentist=flow.dentist,
            created_by=_user(request),
        )
    except DomainError as error:
        messages.error(request, str(error.message))
        return redirect(f"{reverse('book:when')}?{flow.query()}")
    messages.success(
        request,
        _(
            "Your request is in the draw for %(day)s. At %(time)s the times are given out in a random order "
            "and you will be told the outcome."
        )
        % {
            "day": formats.date_format(entry.draw.day, "SHORT_DATE_FORMAT"),
            "time": formats.time_format(entry.draw.closes_at.astimezone(clinic.tz).time(), "TIME_FORMAT"),
        },
    )
    return redirect(reverse("book:mine"))


@require_http_methods(["GET", "POST"])
@patient_pages
def confirm(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """The held time, the time left, and the button that books it."""
    query = _flow_query(request)
    times_url = f"{reverse('book:when')}?{query}" if query else reverse("book:start")
    held = visible_holds(request.user).filter(pk=pk).first()
    if held is None:
        messages.error(request, _("Your hold on this time has ended. Please choose a time again."))
        return redirect(times_url)
    form = ConfirmForm(request.POST or None)
    context = {
        "hold": held,
        "form": form,
        **_time_left(held),
        "back_url": times_url,
        "release_url": f"{reverse('book:release', kwargs={'pk': held.pk})}?{query}",
    }
    if request.method != "POST":
        return render(request, "booking/patient/hold.html", context)
    if not form.is_valid():
        return render(request, "booking/patient/hold.html", context, status=400)
    try:
        appointment = book_held(hold=held, created_by=_user(request), note=form.cleaned_data["note"])
    except DomainError as error:
        messages.error(request, str(error.message))
        return redirect(times_url)
    messages.success(request, _("Booked. We look forward to seeing you."))
    return redirect("book:appointment", pk=appointment.pk)


@require_POST
@patient_pages
def release(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Let the held time go at once and choose another."""
    query = _flow_query(request)
    held = visible_holds(request.user).filter(pk=pk).first()
    if held is not None:
        release_hold(hold=held)
    return redirect(f"{reverse('book:when')}?{query}" if query else reverse("book:start"))


def _flow_query(request: HtmxHttpRequest) -> str:
    """The hold pages carry the flow only to lead back to the times: without it, back to the start."""
    if not FlowForm(request.GET).is_valid():
        return ""
    return _flow(request, request.GET).query()


# --- My appointments, and one appointment (signed in) ----------------------------------------------------


@dataclass(frozen=True)
class Links:
    """Where the pages of one appointment are: by its number when signed in, else by signed links."""

    appointment: Appointment
    signed_in: bool

    def _token(self, purpose: links.Purpose) -> str:
        return links.appointment_token(self.appointment, purpose)

    def _url(self, signed: str, link: str, purpose: links.Purpose, **kwargs: int) -> str:
        if self.signed_in:
            return reverse(f"book:{signed}", kwargs={"pk": self.appointment.pk, **kwargs})
        return reverse(f"book:{link}", kwargs={"token": self._token(purpose), **kwargs})

    @property
    def view(self) -> str:
        return self._url("appointment", "link", links.Purpose.VIEW)

    @property
    def ics(self) -> str:
        return self._url("ics", "link_ics", links.Purpose.VIEW)

    @property
    def cancel(self) -> str:
        return self._url("cancel", "link_cancel", links.Purpose.CANCEL)

    @property
    def move(self) -> str:
        return self._url("move", "link_move", links.Purpose.MOVE)

    def move_confirm(self, hold_pk: int) -> str:
        return self._url("move_confirm", "link_move_confirm", links.Purpose.MOVE, hold=hold_pk)

    @property
    def shareable(self) -> dict[str, str]:
        """The signed links to keep (they work without signing in), whatever way the page was opened."""
        signed = Links(self.appointment, signed_in=False)
        return {"view": signed.view, "cancel": signed.cancel, "move": signed.move}


@require_GET
@patient_pages
def mine(request: HtmxHttpRequest) -> HttpResponse:
    """My appointments: my family's upcoming ones (with .ics, move and cancel) and those of recent months."""
    now = timezone.now()
    upcoming, past = family_appointments(visible_patients(request.user), now=now)
    rows = [
        (
            appointment,
            Links(appointment, signed_in=True),
            can_change_online(request.user, appointment, now=now),
        )
        for appointment in upcoming
    ]
    me = own_patient(request.user)
    draw_entries = draws.family_draw_entries(visible_patients(request.user), now=now)
    context = {"upcoming": rows, "past": past, "me": me, "draw_entries": draw_entries}
    return render(request, "booking/patient/mine.html", context)


@require_GET
@patient_pages
def appointment(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """One appointment: the confirmation after booking, with its .ics and its move and cancel links."""
    found = family_appointment_or_404(request.user, pk)
    return _appointment_page(request, found, Links(found, signed_in=True))


@require_GET
@patient_pages
def ics(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    return _ics(family_appointment_or_404(request.user, pk))


@require_http_methods(["GET", "POST"])
@patient_pages
def cancel(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    found = family_appointment_or_404(request.user, pk)
    require(can_take_step(request.user, found, "cancel"))
    _changeable(request, found)
    return _cancel_page(request, found, Links(found, signed_in=True))


@require_http_methods(["GET", "POST"])
@patient_pages
def move(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    found = family_appointment_or_404(request.user, pk)
    require(can_take_step(request.user, found, "reschedule"))
    _changeable(request, found)
    return _move_page(request, found, Links(found, signed_in=True))


@require_http_methods(["GET", "POST"])
@patient_pages
def move_confirm(request: HtmxHttpRequest, pk: int, hold: int) -> HttpResponse:
    found = family_appointment_or_404(request.user, pk)
    require(can_take_step(request.user, found, "reschedule"))
    _changeable(request, found)
    held = visible_holds(request.user).filter(pk=hold).first()
    return _move_confirm_page(request, found, held, Links(found, signed_in=True))


def _changeable(request: HttpRequest, found: Appointment) -> None:
    if not can_change_online(request.user, found, now=timezone.now()):
        raise Refused(_("This appointment can no longer be changed online. Please contact the clinic."), 409)


# --- The signed links (no sign-in) -----------------------------------------------------------------------


def _by_token(token: str, purpose: links.Purpose) -> Appointment:
    try:
        return links.appointment_from_token(token, purpose)
    except DomainError as error:
        raise Refused(str(error.message), LINK_STATUS[links.LinkErrorCode(error.code)]) from None


@require_GET
@link_pages
def link(request: HtmxHttpRequest, token: str) -> HttpResponse:
    found = _by_token(token, links.Purpose.VIEW)
    return _appointment_page(request, found, Links(found, signed_in=False))


@require_GET
@link_pages
def link_ics(request: HtmxHttpRequest, token: str) -> HttpResponse:
    return _ics(_by_token(token, links.Purpose.VIEW))


@require_http_methods(["GET", "POST"])
@link_pages
def link_cancel(request: HtmxHttpRequest, token: str) -> HttpResponse:
    found = _by_token(token, links.Purpose.CANCEL)
    return _cancel_page(request, found, Links(found, signed_in=False))


@require_http_methods(["GET", "POST"])
@link_pages
def link_move(request: HtmxHttpRequest, token: str) -> HttpResponse:
    found = _by_token(token, links.Purpose.MOVE)
    return _move_page(request, found, Links(found, signed_in=False))


@require_http_methods(["GET", "POST"])
@link_pages
def link_move_confirm(request: HtmxHttpRequest, token: str, hold: int) -> HttpResponse:
    found = _by_token(token, links.Purpose.MOVE)
    held = SlotHold.objects.filter(pk=hold, patient_id=found.patient_id, service_id=found.service_id).first()
    return _move_confirm_page(request, found, held, Links(found, signed_in=False))


# --- What the two kinds of pages share -----------------------------------------------------------------


def _appointment_page(request: HttpRequest, found: Appointment, where: Links) -> HttpResponse:
    now = timezone.now()
    changeable = found.ends_at > now and (
        can_change_online(request.user, found, now=now) if where.signed_in else True
    )
    context = {"appointment": found, "links": where, "changeable": changeable and found.is_active}
    return render(request, "booking/patient/appointment.html", context)


def _ics(found: Appointment) -> HttpResponse:
    response = HttpResponse(appointment_ics(found), content_type=CONTENT_TYPE)
    local = found.starts_at.astimezone(found.clinic.tz)
    response["Content-Disposition"] = f'attachment; filename="navbat-{local:%Y-%m-%d-%H%M}.ics"'
    return response


def _cancel_page(request: HttpRequest, found: Appointment, where: Links) -> HttpResponse:
    context = {"appointment": found, "links": where}
    if request.method != "POST":
        return render(request, "booking/patient/cancel.html", context)
    try:
        cancel_appointment(
            appointment=found, actor=_user(request), reason=_("Cancelled online by the patient")
        )
    except DomainError as error:
        raise Refused(str(error.message), 409) from None
    if where.signed_in:
        messages.success(request, _("The appointment is cancelled. The time is free for others again."))
        return redirect("book:mine")
    return render(request, "booking/patient/cancel.html", context | {"cancelled": True})


def _move_page(request: HtmxHttpRequest, found: Appointment, where: Links) -> HttpResponse:
    """The date strip and times for the same service, with the same dentist or the first available one."""
    choice = DayForm(request.GET)
    if not choice.is_valid():
        raise Refused(_("Please choose a day from the strip: online booking is open for these days only."))
    any_dentist = choice.cleaned_data["d"] == ANY
    dentist = None if any_dentist else found.dentist
    if request.method == "POST":
        form = TimeForm(request.POST)
        if not form.is_valid():
            raise Refused(_("Please choose a time from the list."))
        try:
            held = place_hold(
                patient=found.patient,
                service=found.service,
                starts_at=form.cleaned_data["start"],
                dentist=dentist,
                created_by=_user(request),
                ignore_appointment_id=found.pk,
            )
        except DomainError as error:
            messages.error(request, str(error.message))
            return redirect(request.get_full_path())
        return redirect(where.move_confirm(held.pk))
    hidden = [("d", ANY)] if any_dentist else []
    context = {
        "title": _("Move the appointment"),
        "appointment": found,
        "links": where,
        "moving": True,
        "any_dentist": any_dentist,
        "same_url": request.path,
        "any_url": f"{request.path}?d={ANY}",
        "back_url": where.view,
        "strip_action": request.path,
        "strip_hidden": hidden,
        "hold_action": f"{request.path}?{urlencode(hidden)}" if hidden else request.path,
        "hold_hidden": [],
    }
    return _when_page(
        request,
        context,
        clinic=found.clinic,
        service=found.service,
        patient=found.patient,
        dentist=dentist,
        day=choice.cleaned_data["day"],
    )


def _move_confirm_page(
    request: HttpRequest, found: Appointment, held: SlotHold | None, where: Links
) -> HttpResponse:
    if held is None:
        messages.error(request, _("Your hold on this time has ended. Please choose a time again."))
        return redirect(where.move)
    form = ConfirmForm()
    context = {
        "hold": held,
        "appointment": found,
        "form": form,
        "moving": True,
        **_time_left(held),
        "back_url": where.move,
    }
    if request.method != "POST":
        return render(request, "booking/patient/hold.html", context)
    try:
        moved = move_held(
            hold=held, appointment=found, actor=_user(request), reason=_("Moved online by the patient")
        )
    except DomainError as error:
        messages.error(request, str(error.message))
        return redirect(where.move)
    messages.success(request, _("Moved. Your new time is below."))
    return redirect(Links(moved, signed_in=where.signed_in).view)


def _time_left(held: SlotHold) -> dict[str, object]:
    seconds = held.seconds_left(timezone.now())
    return {"seconds_left": seconds, "time_left": f"{seconds // 60}:{seconds % 60:02d}"}


def _problem(request: HttpRequest, message: str, status: int) -> HttpResponse:
    return render(request, "booking/patient/problem.html", {"message": message}, status=status)


def _user(request: HttpRequest) -> User | None:
    return request.user if isinstance(request.user, User) else None
