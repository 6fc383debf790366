"""REST API of the booking app: free slots, booking, and every change of an appointment.

Thin: parse, authorise, call a selector or a service, answer. A user may book for the patients he may see
(access.visible_patients: a patient for himself and his children) and sees the appointments of those
patients, and staff those of their clinic too; an appointment he may not see is 404. POST /appointments and
POST /appointments/{id}/reschedule honour an Idempotency-Key header: a retry with the same key and the same
body gets the first answer again, and nothing is booked twice.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Annotated, Any

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from ninja import Field, HeaderEx, P, PathEx, Query, Router, Schema
from pydantic import AfterValidator, model_validator

from navbat.accounts import ratelimits
from navbat.accounts.access import (
    appointment_or_404,
    booking_channel,
    can_take_step,
    can_transfer,
    clinic_of,
    patient_or_404,
    require,
)
from navbat.accounts.audit import Actor
from navbat.accounts.models import IdempotencyRecord
from navbat.api import (
    MAX_ID,
    MESSAGES,
    ApiErrorCode,
    Id,
    Input,
    Text,
    answer,
    api,
    domain_error_answer,
    errors,
)
from navbat.booking.models import Appointment
from navbat.booking.reserve import RESERVE_HIDDEN_CHANNELS
from navbat.booking.selectors import find_free_slots
from navbat.booking.services import (
    book_appointment,
    cancel_appointment,
    change_notes,
    change_status,
    reschedule_appointment,
)
from navbat.booking.statuses import Channel, Status
from navbat.booking.transfer import transfer_appointment
from navbat.clinic.api import clinic_for, service_of
from navbat.clinic.models import Chair, Clinic, StaffMember, StaffRole
from navbat.errors import DomainError

router = Router()

# Searches look this far ahead unless told otherwise, and never further than a year in one request.
DEFAULT_SPAN_DAYS = 30
MAX_SPAN_DAYS = 366
# Times and dates outside these years are typing errors (or probes), refused before any arithmetic.
FIRST_YEAR, LAST_YEAR = 2000, 2100


def caller(request: HttpRequest) -> User:
    """The signed-in user (the API's authentication let nobody else through)."""
    user = request.user
    if not isinstance(user, User):
        raise PermissionDenied(MESSAGES[ApiErrorCode.FORBIDDEN])
    return user


# --- Schemas ---------------------------------------------------------------------------------------------


def _sensible_day(value: date) -> date:
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValueError(f"must be between {FIRST_YEAR} and {LAST_YEAR}")
    return value


def _sensible_time(value: datetime) -> datetime:
    _sensible_day(value.date())
    return value


Day = Annotated[date, AfterValidator(_sensible_day)]
Moment = Annotated[datetime, AfterValidator(_sensible_time)]
ServiceCode = Annotated[str, Field(pattern=r"^[-a-zA-Z0-9_]{1,40}$")]
Reason = Annotated[Text, Field(max_length=200)]
Notes = Annotated[Text, Field(max_length=2000)]


class RefOut(Schema):
    id: int
    name: str


class ServiceRefOut(Schema):
    code: str
    name: str


class SlotOut(Schema):
    start: datetime
    end: datetime
    dentist: RefOut
    chair: RefOut


class SlotQuery(Schema):
    service: ServiceCode = Field(description="The service's code.")
    dentist: Annotated[str, Field(pattern=r"^(any|[1-9][0-9]{0,17})$")] = Field(
        "any", description="A dentist's id, or `any`."
    )
    date_from: Day | None = Field(None, description="First day (the clinic's calendar); today by default.")
    date_to: Day | None = Field(None, description=f"Last day; {DEFAULT_SPAN_DAYS} days on by default.")
    limit: Annotated[int, Field(ge=1, le=50)] = 10
    clinic: Id | None = Field(None, description="The clinic; by default the caller's own.")
    patient: Id | None = Field(None, description="Leave out the times this patient is already booked.")

    @model_validator(mode="after")
    def _dates_in_order(self) -> SlotQuery:
        if self.date_from is not None and self.date_to is not None:
            if self.date_to < self.date_from:
                raise ValueError("date_to is before date_from")
            if (self.date_to - self.date_from).days > MAX_SPAN_DAYS:
                raise ValueError(f"at most {MAX_SPAN_DAYS} days in one search")
        return self


STATUS_VALUES = [str(status) for status in Status]
CHANNEL_VALUES = [str(channel) for channel in Channel]


class AppointmentOut(Schema):
    id: int
    status: Annotated[str, Field(json_schema_extra={"enum": STATUS_VALUES})]
    channel: Annotated[str, Field(json_schema_extra={"enum": CHANNEL_VALUES})]
    clinic_id: int
    patient_id: int
    service: ServiceRefOut
    dentist: RefOut
    chair: RefOut
    start: datetime
    end: datetime
    notes: str
    created_at: datetime
    updated_at: datetime


class AppointmentIn(Input):
    patient: Id
    service: ServiceCode
    start: Moment = Field(description="With its time zone, e.g. 2027-03-01T09:30:00+05:00.")
    dentist: Id | None = Field(None, description="A dentist's id; the first who fits if left out.")
    chair: Id | None = Field(None, description="A chair's id; the first that fits if left out.")
    clinic: Id | None = Field(None, description="The clinic; by default the caller's own, or the patient's.")
    notes: Notes = ""


class AppointmentPatchIn(Input):
    notes: Notes | None = None


class RescheduleIn(Input):
    start: Moment = Field(description="The new time, with its time zone.")
    dentist: Id | None = Field(None, description="A dentist's id; the same dentist if left out.")
    chair: Id | None = Field(None, description="A chair's id; the first that fits if left out.")
    reason: Reason = ""


class StepIn(Input):
    reason: Reason = ""


class TransferIn(Input):
    patient: Id = Field(description="The new patient's id.")
    reason: Reason = Field(description="Why the booking is given to another patient (required).")


IdempotencyKey = HeaderEx[
    str | None,
    P(
        alias="Idempotency-Key",
        pattern=r"^[!-~]{1,255}$",
        description="Any unique string (a UUID): a retry with the same key and body gets the first answer.",
    ),
]
AppointmentId = PathEx[int, P(ge=1, le=MAX_ID)]


def appointment_out(appointment: Appointment) -> AppointmentOut:
    tz = appointment.clinic.tz
    return AppointmentOut(
        id=appointment.pk,
        status=appointment.status,
        channel=appointment.channel,
        clinic_id=appointment.clinic_id,
        patient_id=appointment.patient_id,
        service=ServiceRefOut(code=appointment.service.code, name=appointment.service.name),
        dentist=RefOut(id=appointment.dentist_id, name=appointment.dentist.display_name),
        chair=RefOut(id=appointment.chair_id, name=appointment.chair.name),
        start=appointment.starts_at.astimezone(tz),
        end=appointment.ends_at.astimezone(tz),
        notes=appointment.notes,
        created_at=appointment.created_at.astimezone(tz),
        updated_at=appointment.updated_at.astimezone(tz),
    )


def _reloaded(appointment: Appointment) -> AppointmentOut:
    fresh = Appointment.objects.select_related("clinic", "service", "dentist__user", "chair").get(
        pk=appointment.pk
    )
    return appointment_out(fresh)


def _dentist(clinic: Clinic, pk: int | None) -> StaffMember | None:
    if pk is None:
        return None
    dentist = StaffMember.objects.filter(pk=pk, clinic=clinic, role=StaffRole.DENTIST).first()
    if dentist is None:
        raise Http404(_("No such dentist."))
    return dentist


def _chair(clinic: Clinic, pk: int | None) -> Chair | None:
    if pk is None:
        return None
    # With its department: the booking service checks the chair's clinic through it.
    chair = Chair.objects.filter(pk=pk, department__clinic=clinic).select_related("department").first()
    if chair is None:
        raise Http404(_("No such chair."))
    return chair


# --- Idempotency -----------------------------------------------------------------------------------------


def idempotent(
    request: HttpRequest, key: str | None, payload: Schema, work: Callable[[], tuple[int, Any]]
) -> HttpResponse:
    """Do `work` once per (user, key): its answer — success or refusal — is kept with a hash of the request,
    and a retry of the same request gets it back byte for byte. The same key on a different request is
    refused (422 idempotency_key_reused). Two concurrent requests with one key: one does the work; the
    other's transaction is rolled back on the unique key and it answers with the winner's answer."""
    if key is None:
        status, data = work()
        return answer(request, status, data)
    user = caller(request)
    request_line = f"{request.method} {request.path}"[:300]
    digest = hashlib.sha256(
        json.dumps([request_line, payload.model_dump(mode="json")], sort_keys=True).encode()
    ).hexdigest()
    try:
        with transaction.atomic():
            earlier = IdempotencyRecord.objects.filter(user=user, key=key).first()
            if earlier is None:
                try:
                    status, data = work()
                except DomainError as error:
                    status, data = domain_error_answer(error)
                response = answer(request, status, data)
                IdempotencyRecord.objects.create(
                    user=user,
                    key=key,
                    method_path=request_line,
                    request_hash=digest,
                    response_status=status,
                    response_body=response.content.decode(),
                )
                return response
    except IntegrityError:
        earlier = IdempotencyRecord.objects.filter(user=user, key=key).first()
        if earlier is None:
            raise
    if earlier.request_hash != digest:
        raise DomainError(
            ApiErrorCode.IDEMPOTENCY_KEY_REUSED,
            _("This Idempotency-Key was already used for a different request. Use a new key."),
        )
    replay = HttpResponse(
        earlier.response_body, status=earlier.response_status, content_type=api.get_content_type()
    )
    replay["Idempotent-Replayed"] = "true"
    return replay


# --- Endpoints -------------------------------------------------------------------------------------------


@router.get(
    "/slots",
    response={200: list[SlotOut], **errors(404, 429)},
    operation_id="slots_list",
    url_name="slots_list",
    summary="Free slots for a service, earliest first",
)
def slots_list(request: HttpRequest, filters: Query[SlotQuery]) -> list[SlotOut]:
    ratelimits.take_search(request)  # 429 rate_limited with Retry-After (navbat.api)
    user = request.user
    patient = patient_or_404(user, filters.patient) if filters.patient is not None else None
    clinic = clinic_for(user, filters.clinic if filters.clinic or patient is None else patient.clinic_id)
    service = service_of(clinic, filters.service)
    dentist = None if filters.dentist == "any" else _dentist(clinic, int(filters.dentist))
    now = timezone.now()
    today = now.astimezone(clinic.tz).date()
    first = max(filters.date_from or today, today)
    last = filters.date_to or first + timedelta(days=DEFAULT_SPAN_DAYS)
    if last < first:
        return []
    slots = find_free_slots(
        clinic=clinic,
        service=service,
        first_day=first,
        last_day=last,
        now=now,
        dentist=dentist,
        patient_id=patient.pk if patient is not None else None,
        limit=filters.limit,
        online=booking_channel(user) == Channel.WEB,
        hide_reserve=booking_channel(user) in RESERVE_HIDDEN_CHANNELS,
    )
    dentists = {
        d.pk: d.display_name
        for d in StaffMember.objects.filter(pk__in={s.dentist_id for s in slots}).select_related("user")
    }
    chairs = dict(Chair.objects.filter(pk__in={s.chair_id for s in slots}).values_list("pk", "name"))
    return [
        SlotOut(
            start=slot.start.astimezone(clinic.tz),
            end=slot.end.astimezone(clinic.tz),
            dentist=RefOut(id=slot.dentist_id, name=dentists.get(slot.dentist_id, "")),
            chair=RefOut(id=slot.chair_id, name=chairs.get(slot.chair_id, "")),
        )
        for slot in slots
    ]


@router.post(
    "/appointments",
    response={201: AppointmentOut, **errors(400, 404, 409)},
    operation_id="appointment_create",
    url_name="appointment_create",
    summary="Book an appointment",
)
def appointment_create(
    request: HttpRequest, payload: AppointmentIn, idempotency_key: IdempotencyKey = None
) -> HttpResponse:
    user = request.user
    patient = patient_or_404(user, payload.patient)

    def book() -> tuple[int, Any]:
        clinic = clinic_for(user, payload.clinic or (None if clinic_of(user) else patient.clinic_id))
        appointment = book_appointment(
            patient=patient,
            service=service_of(clinic, payload.service),
            starts_at=payload.start,
            channel=booking_channel(user),
            dentist=_dentist(clinic, payload.dentist),
            chair=_chair(clinic, payload.chair),
            created_by=caller(request),
            notes=payload.notes.strip(),
        )
        return 201, _reloaded(appointment).model_dump()

    return idempotent(request, idempotency_key, payload, book)


@router.get(
    "/appointments/{id}",
    response={200: AppointmentOut, **errors(404)},
    operation_id="appointment_detail",
    url_name="appointment",
    summary="One appointment",
)
def appointment_detail(request: HttpRequest, id: AppointmentId) -> AppointmentOut:
    return appointment_out(appointment_or_404(request.user, id))


@router.patch(
    "/appointments/{id}",
    response={200: AppointmentOut, **errors(400, 404)},
    operation_id="appointment_update",
    url_name="appointment",
    summary="Change an appointment's notes (to move it, reschedule)",
)
def appointment_update(
    request: HttpRequest, id: AppointmentId, payload: AppointmentPatchIn
) -> AppointmentOut:
    appointment = appointment_or_404(request.user, id)
    require(can_take_step(request.user, appointment, "notes"))
    if payload.notes is not None:
        appointment = change_notes(appointment=appointment, notes=payload.notes)
    return _reloaded(appointment)


@router.post(
    "/appointments/{id}/reschedule",
    response={201: AppointmentOut, **errors(400, 404, 409)},
    operation_id="appointment_reschedule",
    url_name="appointment_reschedule",
    summary="Move an appointment: book the new time and cancel the old one, both or neither",
)
def appointment_reschedule(
    request: HttpRequest, id: AppointmentId, payload: RescheduleIn, idempotency_key: IdempotencyKey = None
) -> HttpResponse:
    user = request.user
    appointment = appointment_or_404(user, id)
    require(can_take_step(user, appointment, "reschedule"))

    def move() -> tuple[int, Any]:
        clinic = appointment.clinic
        dentist = _dentist(clinic, payload.dentist) if payload.dentist is not None else appointment.dentist
        moved = reschedule_appointment(
            appointment=appointment,
            starts_at=payload.start,
            channel=booking_channel(user),
            dentist=dentist,
            chair=_chair(clinic, payload.chair),
            actor=caller(request),
            reason=payload.reason,
        )
        return 201, _reloaded(moved).model_dump()

    return idempotent(request, idempotency_key, payload, move)


@router.post(
    "/appointments/{id}/transfer",
    response={201: AppointmentOut, **errors(400, 404, 409)},
    operation_id="appointment_transfer",
    url_name="appointment_transfer",
    summary="Give a booking to another patient (staff at the desk; audited): the old appointment is "
    "cancelled and the new patient booked at the same time",
)
def appointment_transfer(
    request: HttpRequest, id: AppointmentId, payload: TransferIn, idempotency_key: IdempotencyKey = None
) -> HttpResponse:
    user = request.user
    appointment = appointment_or_404(user, id)
    require(can_transfer(user))
    to_patient = patient_or_404(user, payload.patient)

    def give() -> tuple[int, Any]:
        given = transfer_appointment(
            appointment=appointment, to_patient=to_patient, actor=Actor.of(request), reason=payload.reason
        )
        return 201, _reloaded(given).model_dump()

    return idempotent(request, idempotency_key, payload, give)


def _step(request: HttpRequest, id: int, payload: StepIn | None, step: str, to: Status) -> AppointmentOut:
    appointment = appointment_or_404(request.user, id)
    require(can_take_step(request.user, appointment, step))
    reason = payload.reason.strip() if payload is not None else ""
    changed = change_status(appointment=appointment, to=to, actor=caller(request), reason=reason)
    return _reloaded(changed)


STEP_RESPONSES = {200: AppointmentOut, **errors(400, 404, 409)}


@router.post(
    "/appointments/{id}/cancel",
    response=STEP_RESPONSES,
    operation_id="appointment_cancel",
    url_name="appointment_cancel",
    summary="Cancel: the time is free again at once",
)
def appointment_cancel(
    request: HttpRequest, id: AppointmentId, payload: StepIn | None = None
) -> AppointmentOut:
    appointment = appointment_or_404(request.user, id)
    require(can_take_step(request.user, appointment, "cancel"))
    reason = payload.reason.strip() if payload is not None else ""
    cancelled = cancel_appointment(appointment=appointment, actor=caller(request), reason=reason)
    return _reloaded(cancelled)


@router.post(
    "/appointments/{id}/arrive",
    response=STEP_RESPONSES,
    operation_id="appointment_arrive",
    url_name="appointment_arrive",
    summary="The patient has come",
)
def appointment_arrive(
    request: HttpRequest, id: AppointmentId, payload: StepIn | None = None
) -> AppointmentOut:
    return _step(request, id, payload, "arrive", Status.ARRIVED)


@router.post(
    "/appointments/{id}/noshow",
    response=STEP_RESPONSES,
    operation_id="appointment_noshow",
    url_name="appointment_noshow",
    summary="The patient did not come",
)
def appointment_noshow(
    request: HttpRequest, id: AppointmentId, payload: StepIn | None = None
) -> AppointmentOut:
    return _step(request, id, payload, "noshow", Status.NOSHOW)


@router.post(
    "/appointments/{id}/fulfil",
    response=STEP_RESPONSES,
    operation_id="appointment_fulfil",
    url_name="appointment_fulfil",
    summary="The visit took place",
)
def appointment_fulfil(
    request: HttpRequest, id: AppointmentId, payload: StepIn | None = None
) -> AppointmentOut:
    return _step(request, id, payload, "fulfil", Status.FULFILLED)
