"""The reception desk — the day board per dentist or per chair, walk-ins, emergencies, moving and marking
appointments — and the dentist's own day.

Thin: parse (desk_forms), authorise (accounts.access), call one selector or service, render. An htmx request
gets back only what changed: the column of the appointment marked, or the board after a booking or a move.
A plain POST is redirected back to the board (post/redirect/get). Bad input is a 400 with the message and
changes nothing; a refusal by the schedule (the time is taken, today is full) a 409. Every patient a page
shows is put on the audit log, with the fields it shows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import push_url, reswap, retarget

from navbat.accounts.access import (
    DESK_STEP_TARGETS,
    AnyUser,
    booking_channel,
    can_book_at_desk,
    can_open_my_day,
    can_see_board,
    can_see_clinical,
    can_take_step,
    can_transfer,
    clinic_of,
    desk_appointment_or_404,
    desk_steps,
    my_day_appointment_or_404,
    my_day_dentist_ids,
    patient_or_404,
    require,
    visible_patients,
)
from navbat.accounts.audit import Actor
from navbat.booking.boards import (
    Board,
    BoardBy,
    day_board,
    dentist_day,
    desk_services,
    local_day,
)
from navbat.booking.desk_forms import (
    CANCEL_REASONS,
    NOSHOW_REASONS,
    ArriveForm,
    BoardFields,
    BoardForm,
    DeskBookingForm,
    EmergencyForm,
    FindForm,
    MoveForm,
    OverbookForm,
    ReasonForm,
    StepForm,
    TransferForm,
)
from navbat.booking.errors import BookingErrorCode, TransferErrorCode
from navbat.booking.models import Appointment
from navbat.booking.overbooking import (
    ADULT_AGE,
    DayOutlook,
    OverbookingErrorCode,
    day_outlooks,
    overbook_appointment,
    overbooking_policy,
)
from navbat.booking.services import (
    DeskErrorCode,
    arrive_checked,
    book_emergency,
    book_walk_in,
    cancel_appointment,
    change_status,
    record_board_view,
    reschedule_appointment,
)
from navbat.booking.statuses import Status, can_transition
from navbat.booking.transfer import transfer_appointment
from navbat.clinic.models import Chair, Clinic, Service, StaffMember
from navbat.clinic.selectors import urgent_services
from navbat.errors import DomainError
from navbat.patients.arrival import IdentityCheck
from navbat.patients.models import MedicalAlert, Patient
from navbat.patients.selectors import search_patients
from navbat.patients.services import record_patient_view, record_search

FIND_LIMIT = 10
# What each page shows of a patient, as the audit log names it.
BOARD_FIELDS = ("surname", "name", "appointments")  # the short name on a visit
DESK_PATIENT_FIELDS = ("number", "surname", "name", "patronymic", "birth_date")
FOUND_FIELDS = ("number", "surname", "name", "patronymic", "birth_date")
MY_DAY_FIELDS = ("surname", "name", "patronymic", "birth_date", "appointments")
# A refusal by the schedule is a conflict (409); any other refusal is about what was asked (400).
CONFLICTS = frozenset(
    {
        BookingErrorCode.SLOT_TAKEN,
        BookingErrorCode.SLOT_UNAVAILABLE,
        BookingErrorCode.INVALID_TRANSITION,
        TransferErrorCode.PATIENT_BUSY,
        DeskErrorCode.NO_TIME_TODAY,
        DeskErrorCode.NO_FREE_TIME,
        OverbookingErrorCode.NOT_WORKING,
        OverbookingErrorCode.NOT_EXPECTED,
        OverbookingErrorCode.LIMIT_REACHED,
        OverbookingErrorCode.NO_OVERTIME,
    }
)
MAIN = "booking/desk/board.html#main"
COLUMN = "booking/desk/board.html#column"
BookingFormT = TypeVar("BookingFormT", bound=DeskBookingForm)


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # login_required let nobody else through
    return user


def _staff_clinic(user: AnyUser) -> Clinic:
    require(can_see_board(user))
    clinic = clinic_of(user)
    assert clinic is not None
    return clinic


def _htmx(request: HttpRequest) -> bool:
    """An htmx request that wants a part of the page (restoring history wants the whole page)."""
    details = getattr(request, "htmx", None)
    return details is not None and bool(details) and not details.history_restore_request


def _status(error: DomainError) -> int:
    return 409 if error.code in CONFLICTS else 400


def board_url(day: date, by: BoardBy, **extra: object) -> str:
    query = {"date": day.isoformat(), "by": by.value, **{k: v for k, v in extra.items() if v}}
    return f"{reverse('desk:board')}?{urlencode(query)}"


def _bad_request(request: HttpRequest, form: Form) -> HttpResponse:
    message = next(iter(form.errors.values()))[0]
    return render(request, "booking/bad_request.html", {"message": message}, status=400)


def _first_error(form: Form) -> str:
    return next((str(error) for errors in form.errors.values() for error in errors), "")


# The board --------------------------------------------------------------------------------------------------


@dataclass
class Desk:
    """One answer with the board: what it shows, built and put on the audit log once."""

    request: HttpRequest
    clinic: Clinic
    day: date
    by: BoardBy
    now: datetime = field(default_factory=lambda: timezone.now())  # the clock when asked, not when defined
    _outlooks: dict[int, DayOutlook] | None = field(default=None, init=False, repr=False)

    def board(self, moving: Appointment | None = None) -> Board:
        user = self.request.user
        board = day_board(clinic=self.clinic, day=self.day, by=self.by, now=self.now, moving=moving)
        board = board.with_steps(lambda appointment: desk_steps(user, appointment, now=self.now))
        if can_book_at_desk(user):
            board = board.with_overbooking(self.outlooks())
        record_board_view(
            actor=Actor.of(self.request),
            patient_ids=board.patient_ids(),
            fields=BOARD_FIELDS,
            note=f"day board {self.day.isoformat()}",
        )
        return board

    def outlooks(self) -> dict[int, DayOutlook]:
        """Each dentist's day as overbooking sees it (empty where the clinic does not overbook)."""
        if self._outlooks is None:
            self._outlooks = day_outlooks(clinic=self.clinic, day=self.day, now=self.now)
        return self._outlooks

    def context(self, board: Board, **extra: Any) -> dict[str, Any]:
        today = local_day(self.clinic, self.now)
        movable = any("reschedule" in entry.steps for column in board.columns for entry in column.entries)
        return {
            "clinic": self.clinic,
            "board": board,
            "day": self.day,
            "today": today,
            "previous_day": self.day - timedelta(days=1),
            "next_day": self.day + timedelta(days=1),
            "movable": movable,
            "cancel_reasons": CANCEL_REASONS,
            "noshow_reasons": NOSHOW_REASONS,
            "identity_checks": IdentityCheck.choices,
            "by": self.by,
            **extra,
        }

    def page(
        self,
        *,
        moving: Appointment | None = None,
        tools: dict[str, Any] | None = None,
        status: int = 200,
        **extra: Any,
    ) -> HttpResponse:
        """The whole page, or for htmx the board alone (with its head: the date, the navigation)."""
        context = self.context(self.board(moving), **extra)
        if _htmx(self.request):
            response = render(self.request, MAIN, context, status=status)
        else:
            context["tools"] = tools if tools is not None else self.tools()
            response = render(self.request, "booking/day.html", context, status=status)
        patch_vary_headers(response, ("HX-Request",))
        return response

    def column(self, appointment: Appointment, *, status: int = 200, **extra: Any) -> HttpResponse:
        board = self.board()
        key = f"{self.by}-{appointment.dentist_id if self.by == BoardBy.DENTIST else appointment.chair_id}"
        context = self.context(board, column=board.column(key), alone=True, **extra)
        return render(self.request, COLUMN, context, status=status)

    def tools(
        self,
        *,
        patient: Patient | None = None,
        query: str = "",
        walk_in: DeskBookingForm | None = None,
        emergency: EmergencyForm | None = None,
        overbook: OverbookForm | None = None,
        error: str = "",
    ) -> dict[str, Any] | None:
        """The walk-in and emergency panel, for who may book at the desk: a search for the patient, then
        for the patient chosen, the two forms."""
        request, clinic = self.request, self.clinic
        if not can_book_at_desk(request.user):
            return None
        tools: dict[str, Any] = {"query": query, "urgent": urgent_services(clinic).exists(), "error": error}
        if patient is None:
            tools["found"] = _find(request, clinic, query)
            return tools
        clinical = can_see_clinical(request.user, patient)
        shown = (*DESK_PATIENT_FIELDS, "alerts") if clinical else DESK_PATIENT_FIELDS
        record_patient_view(patient=patient, actor=Actor.of(request), fields=shown)
        today = local_day(clinic, self.now)
        age = patient.age_on(today)
        services = Service.objects.filter(pk__in=[s.pk for s in desk_services(clinic, age=age)])
        initial = {"patient": patient.pk, "date": self.day.isoformat(), "by": self.by.value}
        tools.update(
            patient=patient,
            age=age,
            alerts=list(patient.alerts.all()) if clinical else [],
            walk_in=walk_in
            or _booking_form(DeskBookingForm, request, clinic, initial=initial, services=services),
            emergency=emergency or _booking_form(EmergencyForm, request, clinic, initial=initial),
            overbook=overbook or self.overbook_form(patient, initial=initial),
        )
        return tools

    def overbook_form(
        self, patient: Patient, *, data: Any = None, initial: Any = None
    ) -> OverbookForm | None:
        """The overbooking form for an adult patient where the clinic overbooks: the services short enough,
        each dentist with his day's expected no-shows."""
        policy = overbooking_policy(self.clinic)
        age = patient.age_on(self.day)
        if policy is None or age < ADULT_AGE:
            return None
        short = [
            s.pk
            for s in desk_services(self.clinic, age=age)
            if s.duration_minutes <= policy.overbooking_max_minutes
        ]
        outlooks = self.outlooks()

        def label(dentist: StaffMember) -> str:
            outlook = outlooks.get(dentist.pk)
            if outlook is None:
                return dentist.display_name
            return _("%(dentist)s — no-shows expected: %(expected)s, extra visits left: %(left)s") % {
                "dentist": dentist.display_name,
                "expected": f"{outlook.expected:.1f}",
                "left": outlook.left if outlook.planned_end is not None else 0,
            }

        return OverbookForm(
            data,
            initial=initial,
            clinic=self.clinic,
            patients=visible_patients(self.request.user),
            services=Service.objects.filter(pk__in=short).order_by("code"),
            label_dentist=label,
        )


def _booking_form(
    form_class: type[BookingFormT],
    request: HttpRequest,
    clinic: Clinic,
    *,
    data: Any = None,
    initial: dict[str, Any] | None = None,
    services: QuerySet[Service] | None = None,
) -> BookingFormT:
    if services is None:
        urgent = form_class is EmergencyForm
        services = (
            urgent_services(clinic) if urgent else Service.objects.filter(clinic=clinic, is_active=True)
        )
    return form_class(
        data,
        initial=initial,
        clinic=clinic,
        patients=visible_patients(request.user),
        services=services,
    )


def _find(request: HttpRequest, clinic: Clinic, query: str) -> list[Patient] | None:
    if not query:
        return None
    found = search_patients(
        patients=visible_patients(request.user), query=query, region=clinic.phone_region, limit=FIND_LIMIT
    )
    record_search(actor=Actor.of(request), shown=len(found), fields=FOUND_FIELDS)
    return found


def board_page(request: HttpRequest) -> HttpResponse:
    """The clinic's day for its staff (also the home page): dentists' or chairs' columns, with the desk's
    tools for who may book walk-ins, and the free times to move an appointment to when one is chosen."""
    clinic = _staff_clinic(request.user)
    form = BoardForm(request.GET)
    if not form.is_valid():
        return _bad_request(request, form)
    data = form.cleaned_data
    now = timezone.now()
    desk = Desk(request, clinic, data["date"] or local_day(clinic, now), data["by"], now)
    moving = None
    if data["move"]:
        moving = desk_appointment_or_404(request.user, data["move"])
        if "reschedule" not in desk_steps(request.user, moving, now=now):
            messages.error(request, _("This appointment cannot be moved."))
            moving = None
    tools = None
    if can_book_at_desk(request.user):
        patient = patient_or_404(request.user, data["patient"]) if data["patient"] else None
        tools = desk.tools(patient=patient, query=data["q"])
    return desk.page(moving=moving, tools=tools, highlight=data["new"])


@login_required
@never_cache
@require_GET
def board(request: HttpRequest) -> HttpResponse:
    return board_page(request)


@login_required
@never_cache
@require_GET
def find_patient(request: HttpRequest) -> HttpResponse:
    """The patient search of the desk's panel, answered while the registrar types (htmx)."""
    require(can_book_at_desk(request.user))
    clinic = _staff_clinic(request.user)
    form = FindForm(request.GET)
    fields = BoardFields(request.GET)
    if not form.is_valid() or not fields.is_valid():
        bad = form if form.errors else fields
        return render(request, "booking/desk/tools.html#found", {"error": _first_error(bad)}, status=400)
    day = fields.cleaned_data["date"] or local_day(clinic, timezone.now())
    context = {
        "tools": {"query": form.cleaned_data["q"], "found": _find(request, clinic, form.cleaned_data["q"])},
        "day": day,
        "by": fields.cleaned_data["by"],
    }
    return render(request, "booking/desk/tools.html#found", context)


# Walk-ins and emergencies ---------------------------------------------------------------------------------


@login_required
@never_cache
@require_POST
def walk_in(request: HttpRequest) -> HttpResponse:
    """Book the patient at the desk into the first free time today for the service."""
    return _book_now(request, DeskBookingForm)


@login_required
@never_cache
@require_POST
def emergency(request: HttpRequest) -> HttpResponse:
    """Book an urgent patient into the earliest time today across the dentists who can help."""
    return _book_now(request, EmergencyForm)


def _book_now(request: HttpRequest, form_class: type[DeskBookingForm]) -> HttpResponse:
    require(can_book_at_desk(request.user))
    clinic = _staff_clinic(request.user)
    with timezone.override(clinic.tz):
        form = _booking_form(form_class, request, clinic, data=request.POST)
        valid = form.is_valid()
    fields = form.cleaned_data
    now = timezone.now()
    by = fields.get("by", BoardBy.DENTIST)
    desk = Desk(request, clinic, fields.get("date") or local_day(clinic, now), by, now)
    if not valid:
        return _booking_invalid(request, desk, form)
    book = book_emergency if isinstance(form, EmergencyForm) else book_walk_in
    try:
        appointment = book(
            patient=fields["patient"],
            service=fields["service"],
            created_by=_user(request),
            dentist=fields["dentist"],
            starts_at=fields["start"],
            chair=fields["chair"],
            notes=form.notes_text(),
            now=now,
        )
    except DomainError as error:
        messages.error(request, str(error.message))
        tools = None if _htmx(request) else _panel(desk, form)
        return desk.page(tools=tools, status=_status(error), options=_options(request, form, error))
    messages.success(request, _booked_message(appointment))
    return _booked(request, desk, appointment)


def _panel(desk: Desk, form: DeskBookingForm, error: str = "") -> dict[str, Any] | None:
    """The desk's panel again, with the form as it was sent (its values, its errors)."""
    patient = form.cleaned_data.get("patient")
    if isinstance(form, EmergencyForm):
        return desk.tools(patient=patient, emergency=form, error=error)
    return desk.tools(patient=patient, walk_in=form, error=error)


def _booking_invalid(request: HttpRequest, desk: Desk, form: DeskBookingForm) -> HttpResponse:
    """400: the form again with its errors; for htmx, only the panel (the board did not change)."""
    # Without a patient (none sent, or one the user may not see) the panel asks for one again.
    error = "" if form.cleaned_data.get("patient") is not None else _first_error(form)
    tools = _panel(desk, form, error)
    if not _htmx(request):
        return desk.page(tools=tools, status=400)
    context = {"clinic": desk.clinic, "day": desk.day, "by": desk.by, "tools": tools}
    response = render(request, "booking/desk/tools.html#tools", context, status=400)
    return reswap(retarget(response, "#desk-tools"), "outerHTML")


def _booked(request: HttpRequest, desk: Desk, appointment: Appointment) -> HttpResponse:
    """The board of the new appointment's day, the appointment marked, the panel ready for the next one."""
    day = local_day(desk.clinic, appointment.starts_at)
    if not _htmx(request):
        return redirect(board_url(day, desk.by, new=appointment.pk))
    answer = Desk(request, desk.clinic, day, desk.by, desk.now)
    context = answer.context(answer.board(), highlight=appointment.pk, tools=answer.tools(), oob_tools=True)
    return push_url(render(request, MAIN, context), board_url(day, desk.by))


def _when(appointment: Appointment) -> dict[str, str]:
    """The appointment's day and time as the clinic's clock and the reader's language write them."""
    local = timezone.localtime(appointment.starts_at, appointment.clinic.tz)
    return {
        "patient": appointment.patient.short_name,
        "day": formats.date_format(local, "DATE_FORMAT"),
        "time": formats.time_format(local, "H:i"),
        "dentist": appointment.dentist.display_name,
        "chair": appointment.chair.name,
    }


def _booked_message(appointment: Appointment) -> str:
    return _("Booked: %(patient)s, %(day)s at %(time)s, %(dentist)s, %(chair)s.") % _when(appointment)


@dataclass(frozen=True)
class Option:
    start: datetime
    dentist: StaffMember
    chair: Chair


def _options(request: HttpRequest, form: DeskBookingForm, error: DomainError) -> dict[str, Any]:
    """Today is full: the earliest times offered instead, each a button that books it with the same form."""
    if error.code != DeskErrorCode.NO_TIME_TODAY:
        return {}
    raw = error.details.get("options", [])
    dentists = StaffMember.objects.select_related("user").in_bulk([item["dentist"] for item in raw])
    chairs = Chair.objects.in_bulk([item["chair"] for item in raw])
    slots = [
        Option(datetime.fromisoformat(item["start"]), dentists[item["dentist"]], chairs[item["chair"]])
        for item in raw
        if item["dentist"] in dentists and item["chair"] in chairs
    ]
    keep = [(name, value) for name, value in request.POST.lists() if name in _RESENT]
    fields = [(name, value) for name, values in keep for value in values]
    url = reverse("desk:emergency" if isinstance(form, EmergencyForm) else "desk:walk_in")
    return {"url": url, "fields": fields, "slots": slots}


# What an offered time sends again of the form it was offered for (the time, dentist and chair are its own).
_RESENT = frozenset({"patient", "service", "notes", "complaints", "date", "by"})


# Overbooking (issue 6 §5) ---------------------------------------------------------------------------------


@login_required
@never_cache
@require_POST
def overbook(request: HttpRequest) -> HttpResponse:
    """An extra visit in the chosen dentist's overtime on the board's day, when the clinic's policy and the
    day's expected no-shows allow it; refused with the reason otherwise (nothing changes)."""
    require(can_book_at_desk(request.user))
    clinic = _staff_clinic(request.user)
    form = OverbookForm(
        request.POST,
        clinic=clinic,
        patients=visible_patients(request.user),
        services=Service.objects.filter(clinic=clinic, is_active=True),
    )
    valid = form.is_valid()
    data = form.cleaned_data
    now = timezone.now()
    desk = Desk(
        request, clinic, data.get("date") or local_day(clinic, now), data.get("by", BoardBy.DENTIST), now
    )
    patient = data.get("patient")
    # The whole page shows the panel again with the form as sent; htmx gets the board and its message.
    tools = desk.tools(patient=patient, overbook=form) if patient is not None and not _htmx(request) else None
    if not valid:
        messages.error(request, _first_error(form))
        return desk.page(tools=tools, status=400)
    try:
        appointment = overbook_appointment(
            patient=data["patient"],
            service=data["service"],
            dentist=data["dentist"],
            day=desk.day,
            channel=booking_channel(request.user),
            created_by=_user(request),
            notes=form.notes_text(),
            now=now,
        )
    except DomainError as error:
        messages.error(request, str(error.message))
        return desk.page(tools=tools, status=_status(error))
    messages.success(
        request,
        _("Overbooked: %(patient)s, %(day)s at %(time)s, %(dentist)s, %(chair)s.") % _when(appointment),
    )
    return _booked(request, desk, appointment)


# Moving and marking appointments ----------------------------------------------------------------------------


@login_required
@never_cache
@require_POST
def move(request: HttpRequest, pk: int) -> HttpResponse:
    """Move an appointment to a free time: in a dentist's column to that dentist (a chair is found), in a
    chair's column to that chair (the same dentist). A taken time is refused and nothing changes."""
    appointment = desk_appointment_or_404(request.user, pk)
    require(can_take_step(request.user, appointment, "reschedule"))
    clinic = appointment.clinic
    with timezone.override(clinic.tz):
        form = MoveForm(request.POST, clinic=clinic)
        valid = form.is_valid()
    fields = form.cleaned_data
    day = fields.get("date") or local_day(clinic, appointment.starts_at)
    desk = Desk(request, clinic, day, fields.get("by", BoardBy.DENTIST))
    # A refusal leaves the desk choosing a time, if the appointment can still be moved at all.
    still = appointment if "reschedule" in desk_steps(request.user, appointment, now=desk.now) else None
    if not valid:
        messages.error(request, _first_error(form))
        return desk.page(moving=still, status=400)
    chair = fields["chair"]
    # A chair's column keeps the dentist; a dentist's column leaves the chair to be found.
    dentist = fields["dentist"] or appointment.dentist
    try:
        moved = reschedule_appointment(
            appointment=appointment,
            starts_at=fields["start"],
            channel=booking_channel(request.user),
            dentist=dentist,
            chair=chair,
            actor=_user(request),
            now=desk.now,
        )
    except DomainError as error:
        messages.error(request, str(error.message))
        return desk.page(moving=still, status=_status(error))
    messages.success(request, _moved_message(moved))
    new_day = local_day(clinic, moved.starts_at)
    if not _htmx(request):
        return redirect(board_url(new_day, desk.by, new=moved.pk))
    answer = Desk(request, clinic, new_day, desk.by, desk.now)
    return push_url(answer.page(highlight=moved.pk), board_url(new_day, desk.by))


def _moved_message(appointment: Appointment) -> str:
    return _("Moved: %(patient)s, now %(day)s at %(time)s, %(dentist)s, %(chair)s.") % _when(appointment)


def _take_step(request: HttpRequest, pk: int, step: str) -> HttpResponse:
    """Mark arrived, no-show, cancelled (with a reason) or visit done, as the transition table allows."""
    appointment = desk_appointment_or_404(request.user, pk)
    require(can_take_step(request.user, appointment, step))
    clinic = appointment.clinic
    form: BoardFields = (
        ReasonForm(request.POST, step=step)
        if step in ("cancel", "noshow")
        else ArriveForm(request.POST)
        if step == "arrive"
        else StepForm(request.POST)
    )
    valid = form.is_valid()
    by = form.cleaned_data.get("by", BoardBy.DENTIST)
    desk = Desk(request, clinic, local_day(clinic, appointment.starts_at), by)
    if not valid:
        failed = {"pk": appointment.pk, "step": step, "form": form}
        return _step_answer(request, desk, appointment, status=400, failed=failed)
    reason = form.reason_text() if isinstance(form, ReasonForm) else ""
    try:
        if step == "cancel":
            changed = cancel_appointment(appointment=appointment, actor=_user(request), reason=reason)
        elif isinstance(form, ArriveForm):
            changed, matched = arrive_checked(
                appointment=appointment,
                check=IdentityCheck(form.cleaned_data["identity"]),
                actor=Actor.of(request),
            )
            if not matched:
                messages.warning(
                    request,
                    _(
                        "The identity did not match: the patient is flagged for the manager. "
                        "The visit goes on."
                    ),
                )
        else:
            target = DESK_STEP_TARGETS[step]
            changed = change_status(appointment=appointment, to=target, actor=_user(request), reason=reason)
    except DomainError as error:
        messages.error(request, str(error.message))
        return _step_answer(request, desk, appointment, status=_status(error))
    messages.success(
        request,
        _("%(patient)s, %(time)s: %(status)s.") % {**_when(changed), "status": Status(changed.status).label},
    )
    if not _htmx(request):
        return redirect(board_url(desk.day, desk.by))
    return desk.column(appointment, highlight=appointment.pk)


def _step_answer(
    request: HttpRequest, desk: Desk, appointment: Appointment, *, status: int, **extra: Any
) -> HttpResponse:
    if _htmx(request):
        return desk.column(appointment, status=status, **extra)
    return desk.page(status=status, **extra)


@login_required
@never_cache
@require_POST
def arrive(request: HttpRequest, pk: int) -> HttpResponse:
    return _take_step(request, pk, "arrive")


@login_required
@never_cache
@require_POST
def noshow(request: HttpRequest, pk: int) -> HttpResponse:
    return _take_step(request, pk, "noshow")


@login_required
@never_cache
@require_POST
def cancel(request: HttpRequest, pk: int) -> HttpResponse:
    return _take_step(request, pk, "cancel")


@login_required
@never_cache
@require_POST
def fulfil(request: HttpRequest, pk: int) -> HttpResponse:
    return _take_step(request, pk, "fulfil")


@login_required
@never_cache
@require_POST
def transfer(request: HttpRequest, pk: int) -> HttpResponse:
    """Give a booking to another patient, found by his patient number, with a reason (booking.transfer:
    audited). Answers like the other steps: htmx gets the column, the new appointment marked."""
    appointment = desk_appointment_or_404(request.user, pk)
    require(can_transfer(request.user))
    clinic = appointment.clinic
    form = TransferForm(request.POST, clinic=clinic, patients=visible_patients(request.user))
    valid = form.is_valid()
    desk = Desk(
        request,
        clinic,
        local_day(clinic, appointment.starts_at),
        form.cleaned_data.get("by", BoardBy.DENTIST),
    )
    if not valid:
        failed = {"pk": appointment.pk, "step": "transfer", "form": form}
        return _step_answer(request, desk, appointment, status=400, failed=failed)
    try:
        given = transfer_appointment(
            appointment=appointment,
            to_patient=form.cleaned_data["number"],
            actor=Actor.of(request),
            reason=form.reason_text(),
            now=desk.now,
        )
    except DomainError as error:
        messages.error(request, str(error.message))
        failed = {"pk": appointment.pk, "step": "transfer", "form": form}
        return _step_answer(request, desk, appointment, status=_status(error), failed=failed)
    messages.success(
        request,
        _("Transferred: %(patient)s now has %(day)s at %(time)s, %(dentist)s, %(chair)s.") % _when(given),
    )
    if not _htmx(request):
        return redirect(board_url(desk.day, desk.by, new=given.pk))
    return desk.column(given, highlight=given.pk)


# The dentist's own day ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DayRow:
    appointment: Appointment
    age: int
    alerts: list[MedicalAlert]
    clinical: bool
    may_fulfil: bool


def _day_rows(request: HttpRequest, appointments: list[Appointment], day: date) -> list[DayRow]:
    """The rows of the dentist's day; each patient's view is put on the audit log once."""
    user = request.user
    rows, seen = [], set()
    for appointment in appointments:
        patient = appointment.patient
        clinical = can_see_clinical(user, patient)
        if patient.pk not in seen:
            seen.add(patient.pk)
            shown = (*MY_DAY_FIELDS, "alerts") if clinical else MY_DAY_FIELDS
            record_patient_view(patient=patient, actor=Actor.of(request), fields=shown)
        may_fulfil = can_transition(appointment.status, Status.FULFILLED) and can_take_step(
            user, appointment, "fulfil"
        )
        alerts = list(patient.alerts.all()) if clinical else []
        rows.append(DayRow(appointment, patient.age_on(day), alerts, clinical, may_fulfil))
    return rows


@login_required
@never_cache
@require_GET
def my_day(request: HttpRequest) -> HttpResponse:
    """A dentist's patients of the day in order (an assistant's: his department's dentists'), with their
    medical alerts and whether they have come; a visit is marked done here."""
    require(can_open_my_day(request.user))
    clinic = _staff_clinic(request.user)
    form = BoardFields(request.GET)
    if not form.is_valid():
        return _bad_request(request, form)
    return _my_day_page(request, clinic, form.cleaned_data["date"] or local_day(clinic, timezone.now()))


def _my_day_page(request: HttpRequest, clinic: Clinic, day: date, *, status: int = 200) -> HttpResponse:
    dentist_ids = my_day_dentist_ids(request.user)
    appointments = dentist_day(clinic=clinic, dentist_ids=dentist_ids, day=day)
    context = {
        "clinic": clinic,
        "day": day,
        "today": local_day(clinic, timezone.now()),
        "previous_day": day - timedelta(days=1),
        "next_day": day + timedelta(days=1),
        "rows": _day_rows(request, appointments, day),
        "several_dentists": len(dentist_ids) > 1,
    }
    return render(request, "booking/desk/my_day.html", context, status=status)


@login_required
@never_cache
@require_POST
def my_day_fulfil(request: HttpRequest, pk: int) -> HttpResponse:
    """The visit took place (the patient had come): marked done on the dentist's day."""
    appointment = my_day_appointment_or_404(request.user, pk)
    require(can_take_step(request.user, appointment, "fulfil"))
    clinic = appointment.clinic
    day = local_day(clinic, appointment.starts_at)
    status = 200
    try:
        change_status(appointment=appointment, to=Status.FULFILLED, actor=_user(request))
    except DomainError as error:
        messages.error(request, str(error.message))
        status = _status(error)
    if not _htmx(request):
        if status != 200:
            return _my_day_page(request, clinic, day, status=status)
        return redirect(f"{reverse('desk:my_day')}?date={day.isoformat()}")
    reloaded = dentist_day(clinic=clinic, dentist_ids=[appointment.dentist_id], day=day)
    rows = _day_rows(request, [a for a in reloaded if a.pk == appointment.pk], day)
    context = {
        "clinic": clinic,
        "row": rows[0] if rows else None,
        "day": day,
        "several_dentists": len(my_day_dentist_ids(request.user)) > 1,
        "alone": True,
    }
    return render(request, "booking/desk/my_day.html#row", context, status=status)
