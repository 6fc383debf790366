"""The registry services: registration, identity rules, family phones, duplicates, merge, the audit log."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import DatabaseError, transaction
from django.utils import translation

from navbat.accounts.audit import Actor
from navbat.accounts.models import AuditAction, AuditEntry
from navbat.booking.models import Appointment
from navbat.booking.services import book_appointment
from navbat.booking.statuses import Channel
from navbat.clinic.models import Clinic
from navbat.errors import DomainError
from navbat.patients.errors import PatientErrorCode
from navbat.patients.identifiers import IdentifierKind, compute_check_digits
from navbat.patients.models import Guardianship, NationalIdentifier, Patient
from navbat.patients.selectors import patient_category, search_patients
from navbat.patients.services import (
    PatientData,
    luhn_digit,
    merge_patients,
    register_patient,
    update_patient,
)
from tests import factories
from tests.small_clinic import MONDAY, NOW, SmallClinic, at

pytestmark = pytest.mark.django_db


@pytest.fixture
def clinic() -> Clinic:
    return factories.ClinicFactory(patient_prefix="YT", max_patients_per_phone=3)


@pytest.fixture
def registrar() -> Actor:
    return Actor(user=factories.UserFactory(), ip="10.1.2.3", path="/patients/new/")


def pinfl(birth: date, *, male: bool = True) -> str:
    century = {18: 1, 19: 3, 20: 5}[birth.year // 100] + (0 if male else 1)
    body = f"{century}{birth:%d%m%y}263001"
    return body + compute_check_digits(IdentifierKind.PINFL, body)


def data(**changes: object) -> PatientData:
    fields: dict[str, object] = {
        "surname": "Yuldashev",
        "name": "Aziz",
        "birth_date": date(1990, 5, 17),
        "sex": "male",
        "phone": "90 123 45 67",
    }
    fields.update(changes)
    return PatientData(**fields)  # type: ignore[arg-type]


def refused(code: PatientErrorCode, **kwargs: object) -> DomainError:
    with pytest.raises(DomainError) as caught:
        register_patient(**kwargs)  # type: ignore[arg-type]
    assert caught.value.code == code
    return caught.value


def test_registration_stores_e164_a_checked_number_and_an_audit_entry(
    clinic: Clinic, registrar: Actor
) -> None:
    patient = register_patient(clinic=clinic, data=data(), actor=registrar)

    assert str(patient.phone) == "+998901234567"
    assert patient.number is not None
    prefix, sequence, check = patient.number.split("-")
    assert (prefix, sequence) == ("YT", "000001")
    assert int(check) == luhn_digit(sequence)
    entry = AuditEntry.objects.get(patient_id=patient.pk)
    assert (entry.action, entry.actor, entry.ip_address) == (AuditAction.CREATE, registrar.user, "10.1.2.3")
    assert "phone" in entry.fields and "surname" in entry.fields
    assert "Yuldashev" not in str(entry.__dict__) and "4567" not in str(entry.__dict__)


def test_patient_numbers_follow_one_another(clinic: Clinic, registrar: Actor) -> None:
    first = register_patient(clinic=clinic, data=data(), actor=registrar)
    second = register_patient(clinic=clinic, data=data(surname="Karimova", name="Dilnoza"), actor=registrar)

    assert first.number is not None and second.number is not None
    assert second.number.split("-")[1] == "000002"


@pytest.mark.parametrize("phone", ["12345", "+7 999", "phone"])
def test_a_bad_phone_is_refused_and_nothing_is_written(clinic: Clinic, registrar: Actor, phone: str) -> None:
    refused(PatientErrorCode.BAD_PHONE, clinic=clinic, data=data(phone=phone), actor=registrar)

    assert not Patient.objects.exists()
    assert not AuditEntry.objects.exists()


def test_a_child_without_a_phone_needs_a_guardian(clinic: Clinic, registrar: Actor) -> None:
    child = data(surname="Yuldasheva", name="Malika", birth_date=date(2019, 3, 2), sex="female", phone="")
    refused(PatientErrorCode.PHONE_REQUIRED, clinic=clinic, data=child, actor=registrar)

    parent = register_patient(clinic=clinic, data=data(), actor=registrar)
    registered = register_patient(clinic=clinic, data=child, actor=registrar, guardian=parent)

    assert Guardianship.objects.filter(guardian=parent, child=registered).exists()


def test_one_phone_serves_at_most_the_family_limit(clinic: Clinic, registrar: Actor) -> None:
    names = ["Aziz", "Malika", "Sardor"]
    for index, name in enumerate(names):
        register_patient(
            clinic=clinic, data=data(name=name, birth_date=date(1980 + index * 7, 1, 1)), actor=registrar
        )

    error = refused(
        PatientErrorCode.PHONE_LIMIT,
        clinic=clinic,
        data=data(name="Timur", birth_date=date(2001, 1, 1)),
        actor=registrar,
    )

    assert error.details == {"limit": 3}


def test_a_pinfl_is_checked_against_sex_and_date_of_birth(clinic: Clinic, registrar: Actor) -> None:
    good = pinfl(date(1990, 5, 17))
    with translation.override("en"):
        wrong_sex = refused(
            PatientErrorCode.BAD_IDENTIFIER,
            clinic=clinic,
            data=data(sex="female", identifiers={"pinfl": good}),
            actor=registrar,
        )
    wrong_date = refused(
        PatientErrorCode.BAD_IDENTIFIER,
        clinic=clinic,
        data=data(birth_date=date(1990, 5, 18), identifiers={"pinfl": good}),
        actor=registrar,
    )

    assert wrong_sex.details["rule"] == "sex_mismatch"
    assert "sex" in str(wrong_sex.message) and good not in str(wrong_sex.message)
    assert wrong_date.details["rule"] == "birth_date_mismatch"
    patient = register_patient(clinic=clinic, data=data(identifiers={"pinfl": good}), actor=registrar)
    assert NationalIdentifier.objects.get(patient=patient).value == good


def test_a_bad_check_digit_message_speaks_the_users_language(clinic: Clinic, registrar: Actor) -> None:
    good = pinfl(date(1990, 5, 17))
    typo = good[:-1] + str((int(good[-1]) + 1) % 10)

    with translation.override("ru"):
        error = refused(
            PatientErrorCode.BAD_IDENTIFIER,
            clinic=clinic,
            data=data(identifiers={"pinfl": typo}),
            actor=registrar,
        )
        russian = str(error.message)

    assert error.details["rule"] == "bad_check_digit"
    assert not russian.isascii(), "the message should be in Russian"


def test_an_identifier_belongs_to_one_patient_in_its_country(clinic: Clinic, registrar: Actor) -> None:
    number = pinfl(date(1990, 5, 17))
    register_patient(clinic=clinic, data=data(identifiers={"pinfl": number}), actor=registrar)
    elsewhere = factories.ClinicFactory()

    error = refused(
        PatientErrorCode.IDENTIFIER_TAKEN,
        clinic=elsewhere,
        data=data(phone="90 765 43 21", identifiers={"pinfl": number}),
        actor=registrar,
    )

    assert number not in str(error.message)
    assert Patient.objects.count() == 1


@pytest.mark.parametrize(
    ("surname", "name", "birth", "phone"),
    [
        pytest.param("Юлдашев", "Азиз", date(1990, 5, 17), "93 000 00 01", id="same birth, name in Cyrillic"),
        pytest.param("Yuldashev", "Aziz", date(1991, 1, 1), "+998 90 123 45 67", id="same phone, same name"),
    ],
)
def test_a_probable_duplicate_is_shown_before_saving(
    clinic: Clinic, registrar: Actor, surname: str, name: str, birth: date, phone: str
) -> None:
    first = register_patient(clinic=clinic, data=data(), actor=registrar)
    twin = data(surname=surname, name=name, birth_date=birth, phone=phone)

    error = refused(PatientErrorCode.POSSIBLE_DUPLICATE, clinic=clinic, data=twin, actor=registrar)

    assert error.details == {"candidates": [first.pk]}
    second = register_patient(clinic=clinic, data=twin, actor=registrar, allow_duplicates=True)
    assert second.pk != first.pk


def test_different_people_on_one_family_phone_are_not_duplicates(clinic: Clinic, registrar: Actor) -> None:
    register_patient(clinic=clinic, data=data(), actor=registrar)

    sister = register_patient(
        clinic=clinic, data=data(name="Nodira", sex="female", birth_date=date(1994, 2, 3)), actor=registrar
    )

    assert sister.pk


def test_update_records_which_fields_changed_and_keeps_search_keys(clinic: Clinic, registrar: Actor) -> None:
    patient = register_patient(clinic=clinic, data=data(), actor=registrar)

    update_patient(patient=patient, actor=registrar, changes={"surname": "Юсупов", "email": "a@example.uz"})

    entry = AuditEntry.objects.filter(action=AuditAction.UPDATE).get()
    assert entry.fields == ["email", "surname"]
    found = search_patients(patients=Patient.objects.all(), query="Yusup", region="UZ")
    assert [p.pk for p in found] == [patient.pk]


def test_flagging_needs_a_reason(clinic: Clinic, registrar: Actor) -> None:
    patient = register_patient(clinic=clinic, data=data(), actor=registrar)

    with pytest.raises(DomainError) as caught:
        update_patient(patient=patient, actor=registrar, changes={"flagged": True})

    assert caught.value.code == PatientErrorCode.FLAG_NEEDS_REASON
    update_patient(
        patient=patient, actor=registrar, changes={"flagged": True, "flag_reason": "resold a booking"}
    )
    patient.refresh_from_db()
    assert patient_category(patient) == "flagged"


def test_merging_moves_appointments_and_leaves_a_pointer(small_clinic: SmallClinic, registrar: Actor) -> None:
    c = small_clinic
    book_appointment(
        patient=c.other_patient, service=c.therapy, starts_at=at(MONDAY, 10), channel=Channel.PHONE, now=NOW
    )

    merge_patients(keep=c.patient, duplicate=c.other_patient, actor=registrar, reason="same person, typo")

    c.other_patient.refresh_from_db()
    assert c.other_patient.merged_into == c.patient
    assert Appointment.objects.get().patient == c.patient
    merges = AuditEntry.objects.filter(action=AuditAction.MERGE)
    assert {e.patient_id for e in merges} == {c.patient.pk, c.other_patient.pk}


def test_a_merge_needs_a_reason_and_two_records(small_clinic: SmallClinic, registrar: Actor) -> None:
    c = small_clinic
    for keep, duplicate, reason, code in [
        (c.patient, c.patient, "x", PatientErrorCode.MERGE_SAME),
        (c.patient, c.other_patient, " ", PatientErrorCode.REASON_REQUIRED),
    ]:
        with pytest.raises(DomainError) as caught:
            merge_patients(keep=keep, duplicate=duplicate, actor=registrar, reason=reason)
        assert caught.value.code == code


def test_category_is_new_then_returning_after_a_fulfilled_visit(small_clinic: SmallClinic) -> None:
    from navbat.booking.services import change_status
    from navbat.booking.statuses import Status

    c = small_clinic
    assert patient_category(c.patient) == "new"
    visit = book_appointment(
        patient=c.patient, service=c.therapy, starts_at=at(MONDAY, 10), channel=Channel.PHONE, now=NOW
    )
    for status in (Status.ARRIVED, Status.FULFILLED):
        change_status(appointment=visit, to=status)

    assert patient_category(c.patient) == "returning"


def test_the_audit_log_refuses_changes_and_deletion(clinic: Clinic, registrar: Actor) -> None:
    register_patient(clinic=clinic, data=data(), actor=registrar)
    entry = AuditEntry.objects.get()

    for attempt in (
        lambda: AuditEntry.objects.filter(pk=entry.pk).update(note="rewritten"),
        lambda: AuditEntry.objects.filter(pk=entry.pk).delete(),
    ):
        with pytest.raises(DatabaseError), transaction.atomic():
            attempt()

    entry.refresh_from_db()
    assert entry.note == ""


def test_age_is_computed_not_stored(clinic: Clinic, registrar: Actor) -> None:
    patient = register_patient(clinic=clinic, data=data(birth_date=date(2000, 2, 29)), actor=registrar)

    assert patient.age_on(date(2026, 2, 28)) == 25
    assert patient.age_on(date(2026, 3, 1)) == 26
    assert not any(f.name == "age" for f in Patient._meta.get_fields())


def test_a_date_of_birth_in_the_future_is_refused(clinic: Clinic, registrar: Actor) -> None:
    refused(
        PatientErrorCode.BIRTH_DATE_IN_FUTURE,
        clinic=clinic,
        data=data(birth_date=date.today().replace(year=date.today().year + 1)),
        actor=registrar,
    )

    assert not Patient.objects.exists()


def test_changing_the_sex_must_still_agree_with_the_pinfl(clinic: Clinic, registrar: Actor) -> None:
    patient = register_patient(
        clinic=clinic, data=data(identifiers={"pinfl": pinfl(date(1990, 5, 17))}), actor=registrar
    )

    with pytest.raises(DomainError) as caught:
        update_patient(patient=patient, actor=registrar, changes={"sex": "female"})

    assert caught.value.details["rule"] == "sex_mismatch"
    patient.refresh_from_db()
    assert patient.sex == "male"


def test_the_last_way_to_reach_a_patient_cannot_be_removed(clinic: Clinic, registrar: Actor) -> None:
    patient = register_patient(clinic=clinic, data=data(), actor=registrar)

    with pytest.raises(DomainError) as caught:
        update_patient(patient=patient, actor=registrar, changes={"phone": ""})

    assert caught.value.code == PatientErrorCode.PHONE_REQUIRED
