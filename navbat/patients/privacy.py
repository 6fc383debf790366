"""Privacy requests: a patient's full record for him to take away, and anonymisation where the law allows.

When may a record be anonymised?
--------------------------------
Both laws (Uzbekistan's ZRU-547 "On personal data", Russia's 152-FZ) let a person withdraw consent and
have his data destroyed, but let a medical organisation go on keeping medical records without consent for
the period the law on medical documentation sets (152-FZ art. 9 part 2 with art. 10 part 2 item 4; the
records' retention period is the clinic's `retention_years`, 25 by default). So:

1. Never while the patient has an appointment that is not over (booked, waiting, proposed, in the chair):
   cancel it first, or the clinic would treat or remind a person it can no longer name.
2. A patient who has been treated (a visit that took place, or a treatment status staff set): only once
   `retention_years` have passed since the last visit. Before that the record is medical documentation.
   After it the clinic must not keep the person's identity any longer, with or without a request.
3. A patient who was never treated: as soon as the withdrawal of the consent to the processing of personal
   data is on record (the card's "record a consent" form). Nothing obliges the clinic to keep him, and the
   withdrawal is the written request the data-protection officer needs to show later.

What stays: the patient number, the year of birth, the appointments with their dates, services, prices
(the service's) and status history, the consents (the proof that processing was lawful), the kinds of
alerts (not their notes) and the dates of complaints (not their text). Everything that names or reaches the
person goes: names, sex, the exact date of birth, phone, e-mail, address, identifiers, free-text notes and
reasons, the links to guardians and children, the sign-in account's names and password, and the same on
every record merged into this one. The audit log keeps its rows (they hold ids, not personal data).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Literal

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Max, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from navbat.accounts.audit import Actor, record
from navbat.accounts.models import AuditAction
from navbat.booking.models import Appointment, AppointmentEvent
from navbat.booking.statuses import Status
from navbat.errors import DomainError
from navbat.patients.models import (
    Complaint,
    Consent,
    ConsentKind,
    Guardianship,
    MedicalAlert,
    Patient,
)
from navbat.patients.services import refresh_search_keys

EXPORT_FORMAT = "navbat-patient-export/1"

# What an anonymised record is called. Stored, so not translated: pages translate them when they show them.
ANONYMISED_SURNAME = "Anonymised"
ANONYMISED_NAME = "Patient"
REMOVED_TEXT = "[removed]"

# A visit took place: the patient came (and was, or is being, treated).
VISIT_STATUSES = frozenset({Status.ARRIVED, Status.CHECKED_IN, Status.FULFILLED})
# Not over yet: the clinic may still see, remind or offer a time to the patient.
OPEN_STATUSES = frozenset(
    {Status.PROPOSED, Status.WAITLIST, Status.PENDING, Status.BOOKED, Status.ARRIVED, Status.CHECKED_IN}
)

# The identity fields anonymisation clears, as the audit log names them.
CLEARED_FIELDS = (
    "surname",
    "name",
    "patronymic",
    "birth_date",
    "sex",
    "phone",
    "email",
    "address",
    "flag_reason",
    "identifiers",
    "guardians",
    "alerts.note",
    "complaints.text",
    "appointments.notes",
    "user",
)


class PrivacyErrorCode(StrEnum):
    OPEN_APPOINTMENTS = "open_appointments"
    RETENTION = "retention_period"
    CONSENT_NOT_WITHDRAWN = "consent_not_withdrawn"
    REASON_REQUIRED = "reason_required"
    ALREADY_ANONYMISED = "already_anonymised"


@dataclass(frozen=True)
class Retention:
    """Whether the record is medical documentation, and until when it must be kept."""

    treated: bool
    last_visit: date | None
    keep_until: date | None


# Export ---------------------------------------------------------------------------------------------------


def export_patient(
    *, patient: Patient, actor: Actor, medium: Literal["json", "html"] = "json"
) -> dict[str, Any]:
    """The patient's whole record: plain data that DjangoJSONEncoder writes as JSON (codes with their labels
    in the active language; dates, and times in the clinic's time zone). Audited as an export."""
    tz = patient.clinic.tz

    def when(moment: datetime | None) -> datetime | None:
        return moment.astimezone(tz) if moment else None

    data: dict[str, Any] = {
        "format": EXPORT_FORMAT,
        "clinic": patient.clinic.name,
        "patient": {
            "number": patient.number,
            "surname": patient.surname,
            "name": patient.name,
            "patronymic": patient.patronymic,
            "birth_date": patient.birth_date,
            "sex": patient.sex,
            "sex_label": str(patient.get_sex_display()) if patient.sex else "",
            "phone": str(patient.phone or ""),
            "email": patient.email,
            "address": patient.address,
            "preferred_language": patient.preferred_language,
            "preferred_channel": patient.preferred_channel,
            "preferred_channel_label": str(patient.get_preferred_channel_display()),
            "treatment_status": patient.treatment_status,
            "treatment_status_label": str(patient.get_treatment_status_display()),
            "flagged": patient.flagged,
            "flag_reason": patient.flag_reason,
            "identity_verified": patient.is_verified,
            "registered_online": patient.self_registered,
            "registered_at": when(patient.created_at),
            "updated_at": when(patient.updated_at),
        },
        "identifiers": [
            {
                "kind": i.kind,
                "kind_label": str(i.get_kind_display()),
                "country": i.country,
                "value": i.value,
                "recorded_at": when(i.created_at),
            }
            for i in patient.identifiers.order_by("kind")
        ],
        "guardians": [
            {
                "relation": link.relation,
                "relation_label": str(link.get_relation_display()),
                "number": link.guardian.number,
                "name": link.guardian.full_name,
            }
            for link in Guardianship.objects.filter(child=patient).select_related("guardian")
        ],
        "children": [
            {
                "relation": link.relation,
                "relation_label": str(link.get_relation_display()),
                "number": link.child.number,
                "name": link.child.full_name,
            }
            for link in Guardianship.objects.filter(guardian=patient).select_related("child")
        ],
        "alerts": [
            {
                "kind": a.kind,
                "kind_label": str(a.get_kind_display()),
                "note": a.note,
                "recorded_at": when(a.created_at),
            }
            for a in MedicalAlert.objects.filter(patient=patient)
        ],
        "consents": [
            {
                "kind": c.kind,
                "kind_label": str(c.get_kind_display()),
                "granted": c.granted,
                "text_version": c.text_version,
                "at": when(c.at),
            }
            for c in Consent.objects.filter(patient=patient)
        ],
        "complaints": [
            {"text": c.text, "at": when(c.at), "resolved": c.resolved}
            for c in Complaint.objects.filter(patient=patient)
        ],
        "appointments": [_appointment(a, when) for a in _appointments(patient)],
        "merged_records": [
            {
                "number": old.number,
                "surname": old.surname,
                "name": old.name,
                "patronymic": old.patronymic,
                "birth_date": old.birth_date,
            }
            for old in _merged_into(patient)
        ],
    }
    record(
        actor,
        AuditAction.EXPORT,
        object_type="patient",
        object_id=patient.pk,
        patient_id=patient.pk,
        fields=[key for key in data if key not in ("format", "clinic")],
        note=medium,
    )
    return data


def _appointments(patient: Patient) -> list[Appointment]:
    return list(
        Appointment.objects.filter(patient=patient)
        .select_related("clinic", "service", "dentist__user", "chair")
        .prefetch_related("events")
        .order_by("starts_at")
    )


def _appointment(
    appointment: Appointment, when: Callable[[datetime | None], datetime | None]
) -> dict[str, Any]:
    service = appointment.service
    return {
        "starts_at": when(appointment.starts_at),
        "ends_at": when(appointment.ends_at),
        "status": appointment.status,
        "status_label": str(appointment.get_status_display()),
        "channel": appointment.channel,
        "channel_label": str(appointment.get_channel_display()),
        "service": {
            "code": service.code,
            "name": service.name,
            "price": str(service.price),
            "currency": appointment.clinic.currency,
        },
        "dentist": appointment.dentist.display_name,
        "chair": appointment.chair.name,
        "notes": appointment.notes,
        "history": [
            {
                "at": when(event.at),
                "from": event.from_status,
                "to": event.to_status,
                "to_label": str(Status(event.to_status).label),
                "reason": event.reason,
            }
            for event in appointment.events.all()
        ],
    }


def _merged_into(patient: Patient) -> list[Patient]:
    """Every record merged into this one, directly or through another merged record."""
    found: list[Patient] = []
    frontier = [patient.pk]
    while frontier:
        older = list(Patient.objects.filter(merged_into_id__in=frontier).exclude(pk=patient.pk))
        found.extend(older)
        frontier = [p.pk for p in older]
    return found


# Anonymisation --------------------------------------------------------------------------------------------


def retention(patient: Patient) -> Retention:
    """The last visit, and the day until which the clinic must keep the record (None if never treated).

    A treatment status set by staff without a visit on record (an imported patient) counts from the day the
    patient was registered here: the clinic cannot know the real last visit, so it keeps the longer."""
    last = Appointment.objects.filter(patient=patient, status__in=VISIT_STATUSES).aggregate(
        last=Max("starts_at")
    )["last"]
    if last is None and not patient.treatment_status:
        return Retention(treated=False, last_visit=None, keep_until=None)
    since = (last or patient.created_at).astimezone(patient.clinic.tz).date()
    return Retention(
        treated=True,
        last_visit=since if last is not None else None,
        keep_until=_add_years(since, patient.clinic.retention_years),
    )


def anonymisation_refusal(*, patient: Patient, now: datetime) -> DomainError | None:
    """Why this record may not be anonymised now (see the module's docstring), or None if it may."""
    if patient.anonymised_at is not None:
        return DomainError(PrivacyErrorCode.ALREADY_ANONYMISED, _("This record is already anonymised."))
    open_appointments = Appointment.objects.filter(patient=patient, status__in=OPEN_STATUSES, ends_at__gt=now)
    if open_appointments.exists():
        return DomainError(
            PrivacyErrorCode.OPEN_APPOINTMENTS,
            _("The patient has appointments that are not over. Cancel them first."),
        )
    kept = retention(patient)
    today = now.astimezone(patient.clinic.tz).date()
    if kept.keep_until is not None and today < kept.keep_until:
        return DomainError(
            PrivacyErrorCode.RETENTION,
            ngettext(
                "The clinic must keep the medical record for %(years)d year after the last visit.",
                "The clinic must keep the medical record for %(years)d years after the last visit.",
                patient.clinic.retention_years,
            )
            % {"years": patient.clinic.retention_years},
            keep_until=kept.keep_until.isoformat(),
        )
    if not kept.treated and not _consent_withdrawn(patient):
        return DomainError(
            PrivacyErrorCode.CONSENT_NOT_WITHDRAWN,
            _(
                "Record the patient's withdrawal of consent to the processing of personal data first: "
                "it is the request the law asks you to keep."
            ),
        )
    return None


def anonymise_patient(*, patient: Patient, actor: Actor, reason: str, now: datetime) -> Patient:
    """Remove everything that names or reaches the person, keep what accounting needs (see above)."""
    if not reason.strip():
        raise DomainError(
            PrivacyErrorCode.REASON_REQUIRED, _("Say on what request the record is anonymised.")
        )
    with transaction.atomic():
        current = Patient.objects.select_for_update().select_related("clinic").get(pk=patient.pk)
        refusal = anonymisation_refusal(patient=current, now=now)
        if refusal is not None:
            raise refusal
        older = _merged_into(current)
        for record_ in [current, *older]:
            _clear_identity(record_, now)
        MedicalAlert.objects.filter(patient=current).update(note="")
        Complaint.objects.filter(patient=current).update(text=REMOVED_TEXT)
        appointments = Appointment.objects.filter(patient=current)
        appointments.exclude(notes="").update(notes=REMOVED_TEXT)
        AppointmentEvent.objects.filter(appointment__in=appointments).exclude(reason="").update(
            reason=REMOVED_TEXT
        )
        record(
            actor,
            AuditAction.ANONYMISE,
            object_type="patient",
            object_id=current.pk,
            patient_id=current.pk,
            fields=CLEARED_FIELDS,
            note=reason.strip(),
        )
    return current


def _clear_identity(patient: Patient, now: datetime) -> None:
    patient.identifiers.all().delete()
    Guardianship.objects.filter(Q(guardian=patient) | Q(child=patient)).delete()
    if patient.user_id is not None:
        _close_account(patient.user_id, patient.pk)
    patient.surname = ANONYMISED_SURNAME
    patient.name = ANONYMISED_NAME
    patient.patronymic = ""
    patient.birth_date = date(patient.birth_date.year, 1, 1)
    patient.sex = ""
    patient.phone = ""
    patient.email = ""
    patient.address = ""
    patient.flagged = False
    patient.flag_reason = ""
    patient.user = None
    patient.anonymised_at = now
    refresh_search_keys(patient)
    patient.save()


def _close_account(user_id: int, patient_id: int) -> None:
    """The patient's sign-in account may carry his phone as its user name: it goes too."""
    user = User.objects.get(pk=user_id)
    user.username = f"anonymised-patient-{patient_id}"
    user.first_name = user.last_name = user.email = ""
    user.is_active = False
    user.set_unusable_password()
    user.save()


def _consent_withdrawn(patient: Patient) -> bool:
    latest = (
        Consent.objects.filter(patient=patient, kind=ConsentKind.PERSONAL_DATA).order_by("-at", "-pk").first()
    )
    return latest is not None and not latest.granted


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a year that has none
        return day.replace(year=day.year + years, day=28)
