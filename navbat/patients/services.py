"""Every change to the registry. Each validates, owns its transaction and writes the audit log."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date

import phonenumbers
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Model
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from navbat.accounts.audit import Actor, record
from navbat.accounts.models import AuditAction
from navbat.booking.models import Appointment
from navbat.clinic.models import Clinic
from navbat.errors import DomainError
from navbat.patients import identifiers
from navbat.patients.errors import IDENTIFIER_MESSAGES, PatientErrorCode
from navbat.patients.models import (
    Complaint,
    Consent,
    ConsentKind,
    Guardianship,
    IdentifierKind,
    Language,
    MedicalAlert,
    NationalIdentifier,
    Patient,
    PatientCounter,
)
from navbat.patients.selectors import find_duplicates, patients_on_phone
from navbat.patients.translit import search_key

# The fields a registrar may change with update_patient (identity fields are re-validated).
EDITABLE_FIELDS = frozenset(
    [
        "surname",
        "name",
        "patronymic",
        "birth_date",
        "sex",
        "phone",
        "email",
        "address",
        "preferred_language",
        "preferred_channel",
        "treatment_status",
        "flagged",
        "flag_reason",
    ]
)


@dataclass(frozen=True)
class PatientData:
    """What a registration form or an import row gives: raw text, validated by the services."""

    surname: str
    name: str
    birth_date: date
    patronymic: str = ""
    sex: str = ""
    phone: str = ""
    email: str = ""
    address: str = ""
    preferred_language: str = "uz"
    preferred_channel: str = "sms"
    identifiers: Mapping[str, str] = field(default_factory=dict)


def normalize_phone(raw: str, *, clinic: Clinic) -> str:
    """E.164 from whatever a person typed ("90 123-45-67", "+998 90…", "8 (912) …"); '' stays ''."""
    if not raw.strip():
        return ""
    try:
        number = phonenumbers.parse(raw, clinic.phone_region)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise DomainError(PatientErrorCode.BAD_PHONE, _("This is not a valid phone number."))
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def register_patient(
    *,
    clinic: Clinic,
    data: PatientData,
    actor: Actor,
    guardian: Patient | None = None,
    relation: str = Guardianship.Relation.GUARDIAN,
    self_registered: bool = False,
    allow_duplicates: bool = False,
    consent_version: str = "",
) -> Patient:
    """Register a patient. Refuses bad identity data, a taken identifier, a full family phone and — unless
    the registrar has looked and said so — a probable duplicate (code possible_duplicate, with candidates)."""
    _check_birth_date(data.birth_date)
    phone = normalize_phone(data.phone, clinic=clinic)
    if not phone and guardian is None:
        raise DomainError(
            PatientErrorCode.PHONE_REQUIRED, _("A phone number is needed, or a guardian who can be reached.")
        )
    checked = _checked_identifiers(data)
    with transaction.atomic():
        _check_phone_limit(clinic, phone)
        if not allow_duplicates:
            candidates = find_duplicates(
                clinic=clinic,
                surname=data.surname,
                name=data.name,
                birth_date=data.birth_date,
                phone=phone,
                identifiers=checked,
            )
            if candidates:
                raise DomainError(
                    PatientErrorCode.POSSIBLE_DUPLICATE,
                    _("This patient may already be registered. Check the matches before saving."),
                    candidates=[p.pk for p in candidates],
                )
        patient = Patient(
            clinic=clinic,
            surname=data.surname.strip(),
            name=data.name.strip(),
            patronymic=data.patronymic.strip(),
            birth_date=data.birth_date,
            sex=data.sex,
            phone=phone,
            email=data.email.strip(),
            address=data.address.strip(),
            preferred_language=data.preferred_language,
            preferred_channel=data.preferred_channel,
            self_registered=self_registered,
        )
        refresh_search_keys(patient)
        _validate(patient)
        patient.number = _next_number(clinic)
        patient.save()
        _save_identifiers(patient, checked)
        if guardian is not None:
            Guardianship.objects.create(guardian=guardian, child=patient, relation=relation)
        if consent_version:
            Consent.objects.create(
                patient=patient,
                kind=ConsentKind.PERSONAL_DATA,
                granted=True,
                text_version=consent_version,
                recorded_by=actor.user,
            )
        record(
            actor,
            AuditAction.CREATE,
            object_type="patient",
            object_id=patient.pk,
            patient_id=patient.pk,
            fields=[f for f in EDITABLE_FIELDS if getattr(patient, f)] + list(checked),
        )
    return patient


def update_patient(*, patient: Patient, actor: Actor, changes: Mapping[str, object]) -> Patient:
    """Change registry fields; the audit log gets the names of the fields that really changed."""
    unknown = set(changes) - EDITABLE_FIELDS
    if unknown:
        raise DomainError(
            PatientErrorCode.NOT_EDITABLE, _("These fields cannot be changed here."), fields=sorted(unknown)
        )
    with transaction.atomic():
        current = Patient.objects.select_for_update().get(pk=patient.pk)
        changed = []
        for name, value in changes.items():
            if name == "phone":
                value = normalize_phone(str(value or ""), clinic=current.clinic)
                if value and value != str(current.phone or ""):
                    _check_phone_limit(current.clinic, value)
            if _differs(getattr(current, name), value):
                setattr(current, name, value)
                changed.append(name)
        if not changed:
            return current
        if "flagged" in changed and current.flagged and not current.flag_reason.strip():
            raise DomainError(PatientErrorCode.FLAG_NEEDS_REASON, _("Say why the patient is flagged."))
        if "phone" in changed and not current.phone and not current.guardians.exists():
            raise DomainError(
                PatientErrorCode.PHONE_REQUIRED,
                _("A phone number is needed, or a guardian who can be reached."),
            )
        if {"birth_date", "sex"} & set(changed):
            _check_birth_date(current.birth_date)
            # A PINFL encodes both: the record must still agree with it.
            stored = dict(current.identifiers.values_list("kind", "value"))
            data = PatientData(surname="", name="", birth_date=current.birth_date, sex=current.sex)
            _validated(data, stored)
        refresh_search_keys(current)
        _validate(current)
        current.save()
        record(
            actor,
            AuditAction.UPDATE,
            object_type="patient",
            object_id=current.pk,
            patient_id=current.pk,
            fields=changed,
        )
    return current


def verify_identity(*, patient: Patient, actor: Actor, document: str) -> Patient:
    """A registrar has seen a document: the patient is no longer 'unverified'."""
    with transaction.atomic():
        Patient.objects.filter(pk=patient.pk).update(is_verified=True, updated_at=timezone.now())
        record(
            actor,
            AuditAction.VERIFY,
            object_type="patient",
            object_id=patient.pk,
            patient_id=patient.pk,
            note=document[:60],
        )
    patient.is_verified = True
    return patient


def merge_patients(*, keep: Patient, duplicate: Patient, actor: Actor, reason: str) -> Patient:
    """Move the duplicate's appointments, identifiers, guardians, alerts, consents and complaints to `keep`;
    the duplicate stays as a pointer (merged_into) so old numbers still lead somewhere."""
    if keep.pk == duplicate.pk:
        raise DomainError(PatientErrorCode.MERGE_SAME, _("A patient cannot be merged with himself."))
    if not reason.strip():
        raise DomainError(PatientErrorCode.REASON_REQUIRED, _("Say why the records are merged."))
    with transaction.atomic():
        keep = Patient.objects.select_for_update().get(pk=keep.pk)
        duplicate = Patient.objects.select_for_update().get(pk=duplicate.pk)
        if not (keep.is_active_record and duplicate.is_active_record):
            raise DomainError(PatientErrorCode.MERGE_INACTIVE, _("Only current records can be merged."))
        moved = Appointment.objects.filter(patient=duplicate).update(patient=keep)
        kinds = set(keep.identifiers.values_list("kind", flat=True))
        duplicate.identifiers.exclude(kind__in=kinds).update(patient=keep)
        duplicate.identifiers.all().delete()  # the same kinds the kept record already has
        for relation in ("alerts", "consents", "complaints"):
            getattr(duplicate, relation).update(patient=keep)
        _move_guardianships(duplicate, keep)
        duplicate.merged_into = keep
        duplicate.phone = ""
        duplicate.save(update_fields=["merged_into", "phone", "updated_at"])
        record(
            actor,
            AuditAction.MERGE,
            object_type="patient",
            object_id=keep.pk,
            patient_id=keep.pk,
            note=f"merged #{duplicate.pk} ({moved} appointments): {reason}",
        )
        record(
            actor,
            AuditAction.MERGE,
            object_type="patient",
            object_id=duplicate.pk,
            patient_id=duplicate.pk,
            note=f"merged into #{keep.pk}",
        )
    return keep


def record_consent(
    *, patient: Patient, kind: ConsentKind, granted: bool, text_version: str, actor: Actor
) -> Consent:
    with transaction.atomic():
        consent = Consent.objects.create(
            patient=patient, kind=kind, granted=granted, text_version=text_version, recorded_by=actor.user
        )
        record(
            actor,
            AuditAction.UPDATE,
            object_type="consent",
            object_id=consent.pk,
            patient_id=patient.pk,
            fields=[f"consent:{kind}"],
        )
    return consent


def link_guardian(*, guardian: Patient, child: Patient, relation: str, actor: Actor) -> Guardianship:
    if guardian.pk == child.pk:
        raise DomainError(PatientErrorCode.GUARDIAN_SELF, _("A patient cannot be his own guardian."))
    with transaction.atomic():
        link, _created = Guardianship.objects.get_or_create(
            guardian=guardian, child=child, defaults={"relation": relation}
        )
        record(
            actor,
            AuditAction.UPDATE,
            object_type="guardianship",
            object_id=link.pk,
            patient_id=child.pk,
            fields=["guardian"],
        )
    return link


# Helpers ------------------------------------------------------------------------------------------------


def _check_birth_date(birth_date: date) -> None:
    if birth_date > timezone.localdate():
        raise DomainError(
            PatientErrorCode.BIRTH_DATE_IN_FUTURE, _("The date of birth cannot be in the future.")
        )


def _checked_identifiers(data: PatientData) -> dict[str, str]:
    """Validated, normalised identifiers, not yet held by another patient (the number is never echoed)."""
    checked = _validated(data, data.identifiers)
    for kind, value in checked.items():
        country = identifiers.COUNTRY_OF[identifiers.IdentifierKind(kind)]
        if NationalIdentifier.objects.filter(country=country, kind=kind, value=value).exists():
            raise DomainError(
                PatientErrorCode.IDENTIFIER_TAKEN,
                _("Another patient is already registered with this %(kind)s.")
                % {"kind": IdentifierKind(kind).label},
                kind=kind,
            )
    return checked


def _validated(data: PatientData, raw_identifiers: Mapping[str, str]) -> dict[str, str]:
    """Each identifier checked by its rules and against the date of birth and sex; refused with the rule."""
    sex = identifiers.Sex(data.sex) if data.sex else None
    checked: dict[str, str] = {}
    for kind, raw in raw_identifiers.items():
        if not raw.strip():
            continue
        try:
            checked[kind] = identifiers.validate(
                identifiers.IdentifierKind(kind), raw, birth_date=data.birth_date, sex=sex
            )
        except identifiers.IdentifierError as error:
            raise DomainError(
                PatientErrorCode.BAD_IDENTIFIER,
                identifier_message(error),
                kind=kind,
                rule=error.code,
            ) from None
        except ValueError:
            raise DomainError(
                PatientErrorCode.BAD_IDENTIFIER, _("Unknown kind of identifier."), kind=kind
            ) from None
    return checked


def identifier_message(error: identifiers.IdentifierError) -> str:
    """The rule an identifier breaks, in the user's language (the messages are msgids in identifiers.py)."""
    template = IDENTIFIER_MESSAGES.get(error.code, IDENTIFIER_MESSAGES["invalid"])
    return str(template) % {**error.params, "name": IdentifierKind(error.kind).label}


def _save_identifiers(patient: Patient, checked: Mapping[str, str]) -> None:
    for kind, value in checked.items():
        country = identifiers.COUNTRY_OF[identifiers.IdentifierKind(kind)]
        try:
            with transaction.atomic():
                NationalIdentifier.objects.create(patient=patient, kind=kind, country=country, value=value)
        except IntegrityError:
            # A concurrent registration took it between the check and the insert.
            raise DomainError(
                PatientErrorCode.IDENTIFIER_TAKEN,
                _("Another patient is already registered with this %(kind)s.")
                % {"kind": IdentifierKind(kind).label},
                kind=kind,
            ) from None


def _check_phone_limit(clinic: Clinic, phone: str) -> None:
    if phone and patients_on_phone(clinic=clinic, phone=phone) >= clinic.max_patients_per_phone:
        raise DomainError(
            PatientErrorCode.PHONE_LIMIT,
            ngettext(
                "This phone number already serves %(limit)d patient, the most one family may have.",
                "This phone number already serves %(limit)d patients, the most one family may have.",
                clinic.max_patients_per_phone,
            )
            % {"limit": clinic.max_patients_per_phone},
            limit=clinic.max_patients_per_phone,
        )


def _next_number(clinic: Clinic) -> str:
    """Clinic prefix + sequence + a Luhn check digit: NB-000123-7. Mistyped numbers are caught."""
    counter, _created = PatientCounter.objects.select_for_update().get_or_create(clinic=clinic)
    counter.last += 1
    counter.save(update_fields=["last"])
    return patient_number(clinic.patient_prefix, counter.last)


def patient_number(prefix: str, sequence: int) -> str:
    digits = f"{sequence:06d}"
    return f"{prefix}-{digits}-{luhn_digit(digits)}"


def luhn_digit(digits: str) -> int:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char) * (2 if index % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return (10 - total % 10) % 10


def refresh_search_keys(patient: Patient) -> None:
    """The cross-script keys the search uses; kept in step with the names by every service that writes."""
    patient.search_surname = search_key(patient.surname)[:100]
    patient.search_name = search_key(f"{patient.name} {patient.patronymic}")[:100]


def _validate(patient: Model) -> None:
    try:
        patient.full_clean(exclude=["number", "user", "merged_into"])
    except ValidationError as error:
        raise DomainError(
            PatientErrorCode.INVALID,
            _("Some fields are not filled in correctly."),
            fields={name: [str(m) for m in messages] for name, messages in error.message_dict.items()},
        ) from None


def _differs(current: object, new: object) -> bool:
    return str(current or "") != str(new or "")


def _move_guardianships(duplicate: Patient, keep: Patient) -> None:
    for link in Guardianship.objects.filter(guardian=duplicate):
        if link.child_id != keep.pk:
            Guardianship.objects.get_or_create(
                guardian=keep, child_id=link.child_id, defaults={"relation": link.relation}
            )
    for link in Guardianship.objects.filter(child=duplicate):
        if link.guardian_id != keep.pk:
            Guardianship.objects.get_or_create(
                guardian_id=link.guardian_id, child=keep, defaults={"relation": link.relation}
            )
    Guardianship.objects.filter(guardian=duplicate).delete()
    Guardianship.objects.filter(child=duplicate).delete()


# Alerts, complaints, and the reads the registry pages put on record -------------------------------------


def add_alert(*, patient: Patient, kind: str, note: str, actor: Actor) -> MedicalAlert:
    """A medical alert every dentist will see. The audit log says that alerts changed, not which: the kind
    of an alert is health data."""
    alert = MedicalAlert(patient=patient, kind=kind, note=note.strip())
    _validate(alert)
    with transaction.atomic():
        alert.save()
        record(
            actor,
            AuditAction.CREATE,
            object_type="medical_alert",
            object_id=alert.pk,
            patient_id=patient.pk,
            fields=["alerts"],
        )
    return alert


def remove_alert(*, alert: MedicalAlert, actor: Actor) -> None:
    with transaction.atomic():
        alert_id, patient_id = alert.pk, alert.patient_id
        alert.delete()
        record(
            actor,
            AuditAction.UPDATE,
            object_type="medical_alert",
            object_id=alert_id,
            patient_id=patient_id,
            fields=["alerts"],
            note="removed",
        )


def add_complaint(*, patient: Patient, text: str, actor: Actor) -> Complaint:
    if not text.strip():
        raise DomainError(
            PatientErrorCode.INVALID,
            _("Some fields are not filled in correctly."),
            fields={"text": [str(_("Write what the patient complains about."))]},
        )
    complaint = Complaint(patient=patient, text=text.strip(), recorded_by=actor.user)
    _validate(complaint)
    with transaction.atomic():
        complaint.save()
        record(
            actor,
            AuditAction.CREATE,
            object_type="complaint",
            object_id=complaint.pk,
            patient_id=patient.pk,
            fields=["complaints"],
        )
    return complaint


def record_patient_view(*, patient: Patient, actor: Actor, fields: Iterable[str]) -> None:
    """A staff member opened a page with this patient's data (DESIGN.md invariant 3)."""
    record(
        actor,
        AuditAction.VIEW,
        object_type="patient",
        object_id=patient.pk,
        patient_id=patient.pk,
        fields=fields,
    )


def record_search(*, actor: Actor, shown: int, fields: Iterable[str]) -> None:
    """One entry per search: how many patients it showed, never what was typed (a phone, a name)."""
    record(
        actor,
        AuditAction.SEARCH,
        object_type="patient_search",
        fields=fields,
        note=f"{shown} results",
    )


def set_preferred_language(*, patient: Patient, language: str, actor: Actor) -> Patient:
    """The patient chose a language on the site: his pages (from his next sign-in, on any device) and the
    clinic's messages to him speak it. A change of his record, so audited like update_patient's."""
    if language not in Language.values:
        raise DomainError(PatientErrorCode.INVALID, _("Unknown language."), field="preferred_language")
    if patient.preferred_language == language:
        return patient
    with transaction.atomic():
        Patient.objects.filter(pk=patient.pk).update(preferred_language=language, updated_at=timezone.now())
        record(
            actor,
            AuditAction.UPDATE,
            object_type="patient",
            object_id=patient.pk,
            patient_id=patient.pk,
            fields=["preferred_language"],
        )
    patient.preferred_language = language
    return patient
