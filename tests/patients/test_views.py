"""The registry pages, through HTTP as staff use them: search, the card, registration, edits, merging."""

from __future__ import annotations

from datetime import date

import pytest
from django.http import HttpResponse
from django.http.response import HttpResponseBase
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape

from navbat.accounts.audit import SYSTEM
from navbat.accounts.models import AuditAction, AuditEntry
from navbat.booking.models import Appointment
from navbat.booking.services import book_appointment
from navbat.booking.statuses import Channel
from navbat.clinic.models import Clinic, StaffMember, StaffRole
from navbat.patients.errors import IDENTIFIER_MESSAGES
from navbat.patients.models import (
    Consent,
    Guardianship,
    IdentifierKind,
    MedicalAlert,
    NationalIdentifier,
    Patient,
)
from navbat.patients.services import PatientData, add_alert, register_patient
from tests import factories
from tests.small_clinic import MONDAY, NOW, SmallClinic, at

pytestmark = pytest.mark.django_db

PINFL_MAN_1990 = "31501902680016"  # a man born on 15 January 1990; check digit 6
PINFL_BAD_CHECK = "31501902680017"


def registered(clinic: Clinic, surname: str, name: str, **fields: object) -> Patient:
    """A patient registered the way a registrar would (number, search keys), without the duplicate check."""
    data = PatientData(
        surname=surname,
        name=name,
        birth_date=fields.pop("birth_date", date(1990, 1, 15)),  # type: ignore[arg-type]
        phone=str(fields.pop("phone", "")),
        **fields,  # type: ignore[arg-type]
    )
    guardian = None
    if not data.phone:
        guardian = registered(clinic, "Guardian", "Of" + name, phone="+998901110000")
    return register_patient(clinic=clinic, data=data, actor=SYSTEM, guardian=guardian, allow_duplicates=True)


def signed_in(client: Client, clinic: Clinic, role: StaffRole) -> StaffMember:
    member = factories.StaffFactory(clinic=clinic, role=role)
    client.force_login(member.user)
    return member


def html_of(response: HttpResponseBase) -> str:
    assert isinstance(response, HttpResponse)
    return response.content.decode()


def number_of(patient: Patient) -> str:
    assert patient.number is not None
    return patient.number


@pytest.fixture
def clinic() -> Clinic:
    return factories.ClinicFactory(country="UZ", patient_prefix="NB")


@pytest.fixture
def yuldashev(clinic: Clinic) -> Patient:
    return registered(clinic, "Yuldashev", "Aziz", phone="+998901234567")


def search(client: Client, query: str, *, htmx: bool = False) -> HttpResponseBase:
    headers = {"HX-Request": "true"} if htmx else {}
    return client.get(reverse("patients:search"), {"q": query}, headers={"Accept-Language": "en", **headers})


# Search ---------------------------------------------------------------------------------------------------


def test_a_registrar_finds_a_patient_by_his_number_however_typed(
    client: Client, clinic: Clinic, yuldashev: Patient
) -> None:
    signed_in(client, clinic, StaffRole.REGISTRAR)
    assert yuldashev.number is not None

    exact = html_of(search(client, yuldashev.number))
    loose = html_of(search(client, yuldashev.number.replace("-", " ").lower()))

    assert "Yuldashev Aziz" in exact
    assert "Yuldashev Aziz" in loose


@pytest.mark.parametrize("typed", ["90 123 45 67", "+998901234567", "4567", "(90) 123-45-67"])
def test_an_operator_finds_a_patient_by_phone_in_any_format(
    client: Client, clinic: Clinic, yuldashev: Patient, typed: str
) -> None:
    registered(clinic, "Karimova", "Dilnoza", phone="+998935550000")
    signed_in(client, clinic, StaffRole.OPERATOR)

    html = html_of(search(client, typed))

    assert "Yuldashev Aziz" in html
    assert "Karimova" not in html
    assert "+998 90 123 45 67" in html  # operators see contact data


def test_a_surname_typed_in_cyrillic_finds_the_latin_spelling(
    client: Client, clinic: Clinic, yuldashev: Patient
) -> None:
    registered(clinic, "Yoqubov", "Sardor", phone="+998901239999")
    signed_in(client, clinic, StaffRole.REGISTRAR)

    assert "Yuldashev Aziz" in html_of(search(client, "Юлдашев"))
    assert "Yuldashev Aziz" in html_of(search(client, "юлдашев аз"))
    assert "Yoqubov Sardor" in html_of(search(client, "Ёкубов"))
    assert "Yuldashev" not in html_of(search(client, "Ёкубов"))


def test_while_typing_htmx_gets_only_the_results_and_without_it_the_whole_page(
    client: Client, clinic: Clinic, yuldashev: Patient
) -> None:
    signed_in(client, clinic, StaffRole.REGISTRAR)

    partial = search(client, "Yuld", htmx=True)
    page = search(client, "Yuld")

    assert partial.status_code == page.status_code == 200
    assert "<html" not in html_of(partial)
    assert '<table class="reg-table">' in html_of(partial)
    assert "Yuldashev Aziz" in html_of(partial)
    assert "<html" in html_of(page) and "Yuldashev Aziz" in html_of(page)
    assert "HX-Request" in partial["Vary"]
    assert "no-store" in partial["Cache-Control"]


def test_each_search_is_one_audit_entry_with_the_count_and_without_what_was_typed(
    client: Client, clinic: Clinic, yuldashev: Patient
) -> None:
    registered(clinic, "Yuldasheva", "Malika", phone="+998901234568")
    registrar = signed_in(client, clinic, StaffRole.REGISTRAR)

    search(client, "Yuldashev")
    search(client, "")  # an empty box reads nobody

    entries = AuditEntry.objects.filter(action=AuditAction.SEARCH)
    assert entries.count() == 1
    entry = entries.get()
    assert entry.actor == registrar.user
    assert entry.object_type == "patient_search"
    assert entry.note == "2 results"
    assert "Yuldashev" not in f"{entry.note} {entry.object_id} {entry.fields} {entry.path}"


def test_the_search_shows_category_and_unverified_badges(
    client: Client, clinic: Clinic, yuldashev: Patient
) -> None:
    signed_in(client, clinic, StaffRole.REGISTRAR)

    html = html_of(search(client, "Yuldashev"))

    assert "reg-cat-new" in html and ">New<" in html
    assert "unverified" in html


def test_another_clinics_patients_are_not_found(client: Client, clinic: Clinic, yuldashev: Patient) -> None:
    signed_in(client, factories.ClinicFactory(), StaffRole.REGISTRAR)

    results = html_of(search(client, "Yuldashev", htmx=True))

    assert "Nobody found." in results
    assert number_of(yuldashev) not in results


def test_dentists_do_not_search_the_registry_and_visitors_are_sent_to_sign_in(
    client: Client, clinic: Clinic
) -> None:
    anonymous = client.get(reverse("patients:search"))
    signed_in(client, clinic, StaffRole.DENTIST)
    dentist = client.get(reverse("patients:search"))

    assert anonymous.status_code == 302 and reverse("login") in anonymous["Location"]
    assert dentist.status_code == 403


# The card -------------------------------------------------------------------------------------------------


def card(client: Client, patient: Patient) -> HttpResponseBase:
    return client.get(reverse("patients:card", args=[patient.pk]), HTTP_ACCEPT_LANGUAGE="en")


def test_the_card_shows_the_record_and_every_view_is_audited(
    client: Client, clinic: Clinic, yuldashev: Patient
) -> None:
    registrar = signed_in(client, clinic, StaffRole.REGISTRAR)
    NationalIdentifier.objects.create(patient=yuldashev, kind="pinfl", country="UZ", value=PINFL_MAN_1990)

    page = card(client, yuldashev)
    card(client, yuldashev)

    html = html_of(page)
    assert page.status_code == 200
    assert number_of(yuldashev) in html
    assert "Yuldashev Aziz" in html
    assert "+998 90 123 45 67" in html
    assert PINFL_MAN_1990 in html  # a registrar may edit, so he sees the whole identifier
    views = AuditEntry.objects.filter(action=AuditAction.VIEW, patient_id=yuldashev.pk, actor=registrar.user)
    assert views.count() == 2
    assert "alerts" in views.first().fields  # type: ignore[union-attr]


def test_an_operator_sees_that_there_are_alerts_but_not_what_they_are(
    client: Client, clinic: Clinic, yuldashev: Patient
) -> None:
    add_alert(patient=yuldashev, kind="allergy", note="Lidocaine", actor=SYSTEM)
    NationalIdentifier.objects.create(patient=yuldashev, kind="pinfl", country="UZ", value=PINFL_MAN_1990)
    signed_in(client, clinic, StaffRole.OPERATOR)

    html = html_of(card(client, yuldashev))
    alerts_page = client.get(reverse("patients:alerts", args=[yuldashev.pk]))

    assert "Has alerts" in html and "yes" in html
    assert "Lidocaine" not in html
    assert "Allergy" not in html
    assert PINFL_MAN_1990 not in html and "•••• 0016" in html
    assert "Edit" not in html
    assert alerts_page.status_code == 403
    entry = AuditEntry.objects.get(action=AuditAction.VIEW, patient_id=yuldashev.pk)
    assert "alerts" not in entry.fields


def test_a_dentist_sees_the_alerts_of_his_patient_and_nobody_elses(
    client: Client, small_clinic: SmallClinic
) -> None:
    c = small_clinic
    book_appointment(
        patient=c.patient, service=c.therapy, starts_at=at(MONDAY, 10), dentist=c.first,
        channel=Channel.PHONE, now=NOW,
    )  # fmt: skip
    add_alert(patient=c.patient, kind="anticoagulants", note="Warfarin 5 mg", actor=SYSTEM)
    client.force_login(c.first.user)

    own = card(client, c.patient)
    other = card(client, c.other_patient)

    assert own.status_code == 200
    assert "Warfarin 5 mg" in html_of(own)
    assert other.status_code == 404


def test_a_registrar_of_another_clinic_gets_404(client: Client, clinic: Clinic, yuldashev: Patient) -> None:
    signed_in(client, factories.ClinicFactory(), StaffRole.REGISTRAR)

    for name in ("card", "edit", "verify", "merge", "complaint", "consent"):
        assert client.get(reverse(f"patients:{name}", args=[yuldashev.pk])).status_code == 404, name
    assert not AuditEntry.objects.filter(patient_id=yuldashev.pk, action=AuditAction.VIEW).exists()


def test_the_card_shows_a_child_s_guardian_and_the_guardian_s_children(
    client: Client, clinic: Clinic
) -> None:
    mother = registered(clinic, "Karimova", "Dilnoza", phone="+998935550000")
    child = register_patient(
        clinic=clinic,
        data=PatientData(surname="Karimov", name="Timur", birth_date=date(2019, 4, 2)),
        actor=SYSTEM,
        guardian=mother,
        relation=Guardianship.Relation.MOTHER,
    )
    signed_in(client, clinic, StaffRole.REGISTRAR)

    assert "Karimova Dilnoza" in html_of(card(client, child))
    assert "Mother" in html_of(card(client, child))
    assert "Karimov Timur" in html_of(card(client, mother))


def test_a_signed_in_patient_cannot_open_the_staff_card_even_his_own(client: Client, clinic: Clinic) -> None:
    me = registered(clinic, "Yuldashev", "Aziz", phone="+998901234567")
    user = factories.UserFactory()
    Patient.objects.filter(pk=me.pk).update(user=user)
    client.force_login(user)

    assert card(client, me).status_code == 403


# Registration ---------------------------------------------------------------------------------------------


def registration(**overrides: str) -> dict[str, str]:
    form = {
        "surname": "Rahimov",
        "name": "Jasur",
        "patronymic": "Olimovich",
        "birth_date": "1990-01-15",
        "sex": "male",
        "phone": "90 765 43 21",
        "email": "",
        "address": "",
        "preferred_language": "uz",
        "preferred_channel": "sms",
        "id_pinfl": "",
        "guardian": "",
        "relation": "mother",
        "consent": "on",
        "consent_version": "2025-1",
    }
    return form | overrides


def register(client: Client, language: str = "en", **overrides: str) -> HttpResponseBase:
    return client.post(reverse("patients:register"), registration(**overrides), HTTP_ACCEPT_LANGUAGE=language)


def test_a_registrar_registers_a_patient_and_lands_on_his_card(client: Client, clinic: Clinic) -> None:
    registrar = signed_in(client, clinic, StaffRole.REGISTRAR)

    form = client.get(reverse("patients:register"), HTTP_ACCEPT_LANGUAGE="en")
    response = register(client, id_pinfl="3 150190 268 001 6")

    assert form.status_code == 200 and "PINFL" in html_of(form)
    patient = Patient.objects.get(surname="Rahimov")
    assert response.status_code == 302
    assert response["Location"] == reverse("patients:card", args=[patient.pk])
    assert patient.phone == "+998907654321"
    assert patient.number and patient.number.startswith("NB-")
    assert patient.identifiers.get().value == PINFL_MAN_1990
    consent = Consent.objects.get(patient=patient)
    assert consent.granted and consent.text_version == "2025-1" and consent.recorded_by == registrar.user
    assert AuditEntry.objects.filter(action=AuditAction.CREATE, patient_id=patient.pk).exists()


def test_a_possible_duplicate_is_shown_side_by_side_and_can_be_registered_anyway(
    client: Client, clinic: Clinic
) -> None:
    existing = registered(clinic, "Rakhimov", "Jasur", birth_date=date(1990, 1, 15), phone="+998901112233")
    signed_in(client, clinic, StaffRole.REGISTRAR)

    first = register(client)
    second = register(client, allow_duplicates="on")

    html = html_of(first)
    assert first.status_code == 409
    assert "This patient may already be registered" in html
    assert number_of(existing) in html
    assert "Rakhimov Jasur" in html
    assert "…2233" in html  # the phone's last digits, enough to tell
    assert reverse("patients:card", args=[existing.pk]) in html
    assert 'name="allow_duplicates"' in html
    assert second.status_code == 302
    assert Patient.objects.filter(birth_date=date(1990, 1, 15)).count() == 2


def test_a_bad_pinfl_is_a_400_in_the_users_language_and_creates_nothing(
    client: Client, clinic: Clinic
) -> None:
    signed_in(client, clinic, StaffRole.REGISTRAR)
    before = Patient.objects.count()

    response = register(client, language="ru", id_pinfl=PINFL_BAD_CHECK)

    with translation.override("ru"):
        name = str(IdentifierKind.PINFL.label)
        expected = str(IDENTIFIER_MESSAGES["bad_check_digit"]) % {"name": name}
    html = html_of(response)
    assert response.status_code == 400
    assert escape(expected) in html
    assert "fails its check-digit test" not in html  # Russian, not the English msgid
    assert html.count(PINFL_BAD_CHECK) == 1  # in the field the registrar corrects, not in the message
    assert Patient.objects.count() == before
    assert not NationalIdentifier.objects.exists()


def test_a_child_without_a_phone_needs_a_guardian_found_by_number(client: Client, clinic: Clinic) -> None:
    mother = registered(clinic, "Karimova", "Dilnoza", phone="+998935550000")
    signed_in(client, clinic, StaffRole.REGISTRAR)
    child = {"surname": "Karimov", "name": "Timur", "birth_date": "2019-04-02", "phone": ""}

    alone = register(client, **child)
    picked = register(client, **child, guardian_pick=str(mother.number), relation="mother")

    assert alone.status_code == 400
    assert "guardian who can be reached" in html_of(alone)
    assert picked.status_code == 302
    link = Guardianship.objects.get(child__surname="Karimov")
    assert link.guardian == mother and link.relation == "mother"


def test_an_unknown_guardian_number_is_refused_next_to_the_field(client: Client, clinic: Clinic) -> None:
    signed_in(client, clinic, StaffRole.REGISTRAR)

    response = register(client, phone="", guardian="NB-999999-0")

    assert response.status_code == 400
    assert "No patient has this number." in html_of(response)
    assert not Patient.objects.exists()


def test_the_guardian_search_offers_patients_to_choose(
    client: Client, clinic: Clinic, yuldashev: Patient
) -> None:
    signed_in(client, clinic, StaffRole.REGISTRAR)

    partial = client.get(
        reverse("patients:search"), {"q": "Yuld", "pick": "guardian_pick"}, HTTP_HX_REQUEST="true"
    )

    assert f'name="guardian_pick" value="{yuldashev.number}"' in html_of(partial)


def test_an_operator_may_register_but_a_dentist_may_not(client: Client, clinic: Clinic) -> None:
    signed_in(client, clinic, StaffRole.DENTIST)
    assert client.get(reverse("patients:register")).status_code == 403
    signed_in(client, clinic, StaffRole.OPERATOR)
    assert client.get(reverse("patients:register")).status_code == 200


# Changes --------------------------------------------------------------------------------------------------


def test_an_edit_is_audited_with_the_names_of_the_changed_fields(
    client: Client, clinic: Clinic, yuldashev: Patient
) -> None:
    signed_in(client, clinic, StaffRole.REGISTRAR)
    page = client.get(reverse("patients:edit", args=[yuldashev.pk]))
    form = {
        "surname": "Yuldashev",
        "name": "Aziz",
        "patronymic": "",
        "birth_date": "1990-01-15",
        "sex": "",
        "phone": "+998 90 123 45 67",  # the same number, typed differently: not a change
        "email": "aziz@example.uz",
        "address": "Toshkent, Chilonzor 5",
        "preferred_language": "ru",
        "preferred_channel": "sms",
        "treatment_status": "",
        "flag_reason": "",
    }

    response = client.post(reverse("patients:edit", args=[yuldashev.pk]), form)

    assert page.status_code == 200 and 'value="Yuldashev"' in html_of(page)
    assert response.status_code == 302
    yuldashev.refresh_from_db()
    assert yuldashev.email == "aziz@example.uz" and yuldashev.preferred_language == "ru"
    entry = AuditEntry.objects.get(action=AuditAction.UPDATE, patient_id=yuldashev.pk)
    assert entry.fields == ["address", "email", "preferred_language"]
    assert "aziz@example.uz" not in str(entry.fields) + entry.note


def test_a_flag_without_a_reason_is_refused_next_to_the_reason(
    client: Client, clinic: Clinic, yuldashev: Patient
) -> None:
    signed_in(client, clinic, StaffRole.REGISTRAR)
    form = {
        "surname": "Yuldashev", "name": "Aziz", "birth_date": "1990-01-15", "phone": "+998901234567",
        "preferred_language": "uz", "preferred_channel": "sms", "flagged": "on", "flag_reason": "",
    }  # fmt: skip

    response = client.post(reverse("patients:edit", args=[yuldashev.pk]), form, HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 400
    assert "Say why the patient is flagged." in html_of(response)
    yuldashev.refresh_from_db()
    assert not yuldashev.flagged


def test_an_operator_may_not_edit(client: Client, clinic: Clinic, yuldashev: Patient) -> None:
    signed_in(client, clinic, StaffRole.OPERATOR)

    assert client.get(reverse("patients:edit", args=[yuldashev.pk])).status_code == 403


def test_verifying_identity_takes_the_kind_of_document_never_its_number(
    client: Client, clinic: Clinic, yuldashev: Patient
) -> None:
    signed_in(client, clinic, StaffRole.REGISTRAR)
    url = reverse("patients:verify", args=[yuldashev.pk])

    with_number = client.post(url, {"document": "passport AA1234567"}, HTTP_ACCEPT_LANGUAGE="en")
    plain = client.post(url, {"document": "passport"})

    assert with_number.status_code == 400
    assert "without its number" in html_of(with_number)
    assert plain.status_code == 302
    yuldashev.refresh_from_db()
    assert yuldashev.is_verified
    assert AuditEntry.objects.get(action=AuditAction.VERIFY, patient_id=yuldashev.pk).note == "passport"


def test_a_dentist_adds_and_removes_an_alert_of_his_patient(
    client: Client, small_clinic: SmallClinic
) -> None:
    c = small_clinic
    book_appointment(
        patient=c.patient, service=c.therapy, starts_at=at(MONDAY, 10), dentist=c.first,
        channel=Channel.PHONE, now=NOW,
    )  # fmt: skip
    client.force_login(c.first.user)
    url = reverse("patients:alerts", args=[c.patient.pk])

    added = client.post(url, {"kind": "allergy", "note": "Penicillin"})
    alert = MedicalAlert.objects.get(patient=c.patient)
    removed = client.post(reverse("patients:alert_remove", args=[c.patient.pk, alert.pk]))

    assert added.status_code == removed.status_code == 302
    assert not MedicalAlert.objects.exists()
    entries = AuditEntry.objects.filter(object_type="medical_alert", patient_id=c.patient.pk)
    assert entries.count() == 2
    assert all("Penicillin" not in e.note and "allergy" not in str(e.fields) for e in entries)


def test_a_complaint_and_a_consent_withdrawal_are_recorded(
    client: Client, clinic: Clinic, yuldashev: Patient
) -> None:
    signed_in(client, clinic, StaffRole.REGISTRAR)

    complaint = client.post(
        reverse("patients:complaint", args=[yuldashev.pk]), {"text": "Waited 40 minutes past the time."}
    )
    consent = client.post(
        reverse("patients:consent", args=[yuldashev.pk]),
        {"kind": "personal_data", "granted": "no", "text_version": "2025-1"},
    )

    assert complaint.status_code == consent.status_code == 302
    assert yuldashev.complaints.get().text == "Waited 40 minutes past the time."
    withdrawal = yuldashev.consents.get()
    assert not withdrawal.granted and withdrawal.text_version == "2025-1"
    html = html_of(card(client, yuldashev))
    assert "Waited 40 minutes" in html and "withdrawn" in html


# Merging --------------------------------------------------------------------------------------------------


def test_merging_shows_both_records_then_moves_the_duplicates_appointments(
    client: Client, small_clinic: SmallClinic
) -> None:
    c = small_clinic
    keep = registered(c.clinic, "Yuldashev", "Aziz", phone="+998901234567")
    duplicate = registered(c.clinic, "Юлдашев", "Азиз", phone="+998901234568")
    appointment = book_appointment(
        patient=duplicate, service=c.therapy, starts_at=at(MONDAY, 10), dentist=c.first,
        channel=Channel.PHONE, now=NOW,
    )  # fmt: skip
    signed_in(client, c.clinic, StaffRole.REGISTRAR)
    url = reverse("patients:merge", args=[keep.pk])

    choose = client.get(url)
    compare = client.get(url, {"number": number_of(duplicate)}, HTTP_ACCEPT_LANGUAGE="en")
    unconfirmed = client.post(url, {"number": number_of(duplicate), "reason": "Same passport"})
    merged = client.post(url, {"number": number_of(duplicate), "reason": "Same passport", "confirm": "on"})

    assert choose.status_code == 200
    assert compare.status_code == 200
    assert "Yuldashev Aziz" in html_of(compare) and "Юлдашев Азиз" in html_of(compare)
    assert unconfirmed.status_code == 400
    assert merged.status_code == 302
    appointment.refresh_from_db()
    duplicate.refresh_from_db()
    assert appointment.patient == keep
    assert duplicate.merged_into == keep
    assert AuditEntry.objects.filter(action=AuditAction.MERGE, patient_id=keep.pk).exists()


def test_merging_needs_a_reason_and_a_real_other_record(
    client: Client, clinic: Clinic, yuldashev: Patient
) -> None:
    other = registered(clinic, "Yuldashev", "Aziz", phone="+998901234568")
    signed_in(client, clinic, StaffRole.REGISTRAR)
    url = reverse("patients:merge", args=[yuldashev.pk])

    no_reason = client.post(url, {"number": number_of(other), "confirm": "on"}, HTTP_ACCEPT_LANGUAGE="en")
    itself = client.get(url, {"number": number_of(yuldashev)}, HTTP_ACCEPT_LANGUAGE="en")
    unknown = client.get(url, {"number": "NB-999999-0"}, HTTP_ACCEPT_LANGUAGE="en")

    assert no_reason.status_code == 400 and "Say why the records are merged." in html_of(no_reason)
    assert itself.status_code == 400 and "This is the same record." in html_of(itself)
    assert unknown.status_code == 400 and "No patient has this number." in html_of(unknown)
    assert not Patient.objects.filter(merged_into__isnull=False).exists()


def test_operators_may_not_merge(client: Client, clinic: Clinic, yuldashev: Patient) -> None:
    signed_in(client, clinic, StaffRole.OPERATOR)

    assert client.get(reverse("patients:merge", args=[yuldashev.pk])).status_code == 403
    assert Appointment.objects.count() == 0
