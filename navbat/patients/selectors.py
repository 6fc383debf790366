"""Reads of the registry: duplicates, family phones, categories, the registry a clinic's staff may use."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from difflib import SequenceMatcher

import phonenumbers
from django.db.models import Q, QuerySet

from navbat.booking.models import Appointment
from navbat.booking.statuses import Status
from navbat.clinic.models import Clinic
from navbat.patients.identifiers import COUNTRY_OF, IdentifierKind
from navbat.patients.models import Category, Patient, TreatmentStatus
from navbat.patients.translit import search_key, search_tokens

WHOLE_NUMBER = re.compile(r"[A-Z]+-\d{6}-\d")
# Two names are "similar" when their cross-script keys are this alike (difflib ratio).
SIMILAR_NAME_RATIO = 0.8


def registry_clinics(clinic: Clinic) -> QuerySet[Clinic]:
    """The clinics whose patients this clinic's staff may see: its network's, if the network shares."""
    if clinic.network_id is not None and clinic.network is not None and clinic.network.shares_registry:
        return Clinic.objects.filter(network_id=clinic.network_id)
    return Clinic.objects.filter(pk=clinic.pk)


def registry(clinic: Clinic) -> QuerySet[Patient]:
    """Current patient records of the clinic's registry (merged and anonymised records left out)."""
    return Patient.objects.filter(
        clinic__in=registry_clinics(clinic), merged_into__isnull=True, anonymised_at__isnull=True
    )


def patients_on_phone(*, clinic: Clinic, phone: str) -> int:
    return registry(clinic).filter(phone=phone).count()


def similar_names(surname_a: str, name_a: str, surname_b: str, name_b: str) -> bool:
    """Surnames alike AND first names alike, across scripts: "Юлдашев Азиз" ~ "Yuldashev Aziz", but a
    brother ("Yuldashev Sardor") on the same family phone is not a duplicate."""
    return _alike(surname_a, surname_b) and _alike(name_a, name_b)


def _alike(a: str, b: str) -> bool:
    key_a, key_b = search_key(a), search_key(b)
    return bool(key_a and key_b) and SequenceMatcher(None, key_a, key_b).ratio() >= SIMILAR_NAME_RATIO


def find_duplicates(
    *,
    clinic: Clinic,
    surname: str,
    name: str,
    birth_date: date,
    phone: str,
    identifiers: Mapping[str, str],
    exclude_id: int | None = None,
) -> list[Patient]:
    """Patients who may be this one: the same identifier; or the same date of birth with a similar name;
    or the same phone with a similar name. At most three queries, whatever the registry's size."""
    found: dict[int, Patient] = {}
    same_identifier = Q()
    for kind, value in identifiers.items():
        country = COUNTRY_OF[IdentifierKind(kind)]
        same_identifier |= Q(identifiers__kind=kind, identifiers__country=country, identifiers__value=value)
    candidates = registry(clinic)
    if exclude_id is not None:
        candidates = candidates.exclude(pk=exclude_id)
    if identifiers:
        found.update((p.pk, p) for p in candidates.filter(same_identifier))
    for patient in candidates.filter(birth_date=birth_date):
        if similar_names(surname, name, patient.surname, patient.name):
            found.setdefault(patient.pk, patient)
    if phone:
        for patient in candidates.filter(phone=phone):
            if similar_names(surname, name, patient.surname, patient.name):
                found.setdefault(patient.pk, patient)
    return sorted(found.values(), key=lambda p: p.pk)


def patient_category(patient: Patient, *, fulfilled_visits: int | None = None) -> Category:
    """Flagged first (staff said so), then the treatment status staff set, else new or returning."""
    if patient.flagged:
        return Category.FLAGGED
    if patient.treatment_status == TreatmentStatus.IN_TREATMENT:
        return Category.IN_TREATMENT
    if patient.treatment_status == TreatmentStatus.COMPLETED:
        return Category.COMPLETED
    if fulfilled_visits is None:
        fulfilled_visits = Appointment.objects.filter(patient=patient, status=Status.FULFILLED).count()
    return Category.RETURNING if fulfilled_visits > 0 else Category.NEW


def children_of(patient: Patient) -> QuerySet[Patient]:
    return Patient.objects.filter(
        guardians__guardian=patient, merged_into__isnull=True, anonymised_at__isnull=True
    )


def search_patients(
    *, patients: QuerySet[Patient], query: str, region: str, limit: int = 20
) -> list[Patient]:
    """What a registrar or operator types, answered while he types: a patient number, a phone in any
    format, or names in any script ("Юлдашев" finds "Yuldashev"). `patients` is what the user may see."""
    text = query.strip()
    if not text:
        return []
    number = _number_query(text)
    if number is not None:
        # A whole number is an indexed equality; a beginning ("NB-0012") a prefix match.
        whole = WHOLE_NUMBER.fullmatch(number)
        found = patients.filter(number=number) if whole else patients.filter(number__startswith=number)
        return list(found.order_by("number")[:limit])
    phone = _phone_query(text, region)
    if phone is not None:
        found = (
            patients.filter(phone=phone) if phone.startswith("+") else patients.filter(phone__endswith=phone)
        )
        return list(found.order_by("surname", "name")[:limit])
    tokens = search_tokens(text, prefix=True)
    if not tokens:
        return []
    first, rest = tokens[0], tokens[1:]
    found = patients.filter(Q(search_surname__startswith=first) | Q(search_name__startswith=first))
    for token in rest:
        found = found.filter(
            Q(search_surname__startswith=token)
            | Q(search_name__startswith=token)
            | Q(search_name__contains=f" {token}")
        )
    return list(found.order_by("search_surname", "search_name", "pk")[:limit])


def whole_number(text: str) -> str | None:
    """A whole patient number as typed ("nb 000123 7", "NB-000123-7") in its stored form, or None."""
    number = _number_query(text)
    return number if number is not None and WHOLE_NUMBER.fullmatch(number) else None


def _number_query(text: str) -> str | None:
    """ "NB-000123-7", "nb000123" → the number's beginning as stored, or None if it is not one."""
    compact = text.replace(" ", "").upper()
    letters = compact.rstrip("0123456789-")
    digits = compact[len(letters) :].replace("-", "")
    if not letters.isalpha() or not digits:
        return None
    stored = f"{letters}-{digits[:6]}"
    return stored + (f"-{digits[6:]}" if len(digits) > 6 else "")


def _phone_query(text: str, region: str) -> str | None:
    """The digits to match the end of stored E.164 numbers with, if `text` looks like a phone."""
    digits = "".join(ch for ch in text if ch.isdigit())
    if len(digits) < 4 or any(ch.isalpha() for ch in text):
        return None
    try:
        parsed = phonenumbers.parse(text, region)
        if phonenumbers.is_valid_number(parsed):
            return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    except phonenumbers.NumberParseException:
        pass
    # A fragment: "45 67", "123-45-67". Russian "8 912 …" trunk prefixes are handled by the parse above.
    return digits


# For the registry pages ---------------------------------------------------------------------------------


def patient_by_number(patients: QuerySet[Patient], number: str) -> Patient | None:
    """The patient with this whole number, typed any way ("nb 000123 7", "NB-000123-7"), among `patients`."""
    stored = _number_query(number.strip())
    if stored is None or stored.count("-") != 2:
        return None
    return patients.filter(number=stored).first()


def categories_of(patients: list[Patient]) -> dict[int, Category]:
    """patient_category for a page of search results, with one query for all their visits."""
    visits: dict[int, int] = {}
    fulfilled = Appointment.objects.filter(patient__in=[p.pk for p in patients], status=Status.FULFILLED)
    for patient_id in fulfilled.values_list("patient_id", flat=True):
        visits[patient_id] = visits.get(patient_id, 0) + 1
    return {p.pk: patient_category(p, fulfilled_visits=visits.get(p.pk, 0)) for p in patients}


def card_appointments(patient: Patient, *, now: datetime) -> tuple[list[Appointment], list[Appointment]]:
    """The patient's coming appointments (soonest first) and past ones (latest first)."""
    appointments = Appointment.objects.filter(patient=patient).select_related(
        "service", "dentist__user", "chair"
    )
    upcoming = list(appointments.filter(starts_at__gte=now).order_by("starts_at"))
    past = list(appointments.filter(starts_at__lt=now).order_by("-starts_at"))
    return upcoming, past
