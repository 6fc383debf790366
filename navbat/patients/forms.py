"""Forms of the registry pages: they parse what was typed; the services decide what is allowed.

A DomainError from a service comes back to the form through `show_domain_error`, which puts its message
next to the field it concerns, so a registrar sees "this PINFL fails its check digit" where he typed it.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from navbat.clinic.models import Clinic
from navbat.errors import DomainError
from navbat.patients.errors import PatientErrorCode
from navbat.patients.identifiers import COUNTRY_OF
from navbat.patients.models import (
    AlertKind,
    ConsentKind,
    ContactChannel,
    Guardianship,
    IdentifierKind,
    Language,
    Patient,
    Sex,
    TreatmentStatus,
)
from navbat.patients.selectors import patient_by_number
from navbat.patients.services import PatientData

# The version of the consent text the clinic asks patients to sign, unless the registrar types another.
CONSENT_TEXT_VERSION = "1"

# Which field a service's refusal is about.
FIELD_OF_CODE: dict[str, str] = {
    PatientErrorCode.BAD_PHONE: "phone",
    PatientErrorCode.PHONE_REQUIRED: "phone",
    PatientErrorCode.PHONE_LIMIT: "phone",
    PatientErrorCode.FLAG_NEEDS_REASON: "flag_reason",
    PatientErrorCode.GUARDIAN_SELF: "guardian",
    PatientErrorCode.REASON_REQUIRED: "reason",
}
IDENTIFIER_CODES = frozenset({PatientErrorCode.BAD_IDENTIFIER, PatientErrorCode.IDENTIFIER_TAKEN})


def date_input() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class SearchForm(forms.Form):
    q = forms.CharField(label=_("Number, phone or name"), max_length=100, required=False, strip=True)
    # Inside another form (a guardian, the duplicate to merge), results are choices, not links.
    pick = forms.ChoiceField(
        choices=[("", ""), ("guardian_pick", "guardian_pick"), ("duplicate_pick", "duplicate_pick")],
        required=False,
    )


class PatientFieldsForm(forms.Form):
    """The identity and contact fields both registration and editing have."""

    surname = forms.CharField(label=_("Surname"), max_length=100)
    name = forms.CharField(label=_("First name"), max_length=100)
    patronymic = forms.CharField(label=_("Patronymic"), max_length=100, required=False)
    birth_date = forms.DateField(label=_("Date of birth"), widget=date_input())
    sex = forms.ChoiceField(label=_("Sex"), choices=[("", "—"), *Sex.choices], required=False)
    phone = forms.CharField(
        label=_("Phone"),
        max_length=40,
        required=False,
        help_text=_("Any format: 90 123 45 67, +998 90 123-45-67. A child may go without one."),
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}),
    )
    email = forms.EmailField(label=_("E-mail"), required=False)
    address = forms.CharField(label=_("Address"), max_length=300, required=False)
    preferred_language = forms.ChoiceField(
        label=_("Preferred language"), choices=Language.choices, initial=Language.UZBEK
    )
    preferred_channel = forms.ChoiceField(
        label=_("Preferred contact channel"), choices=ContactChannel.choices, initial=ContactChannel.SMS
    )

    def __init__(self, *args: Any, today: date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.today = today

    def clean_birth_date(self) -> date:
        born: date = self.cleaned_data["birth_date"]
        if born > self.today:
            raise forms.ValidationError(_("The date of birth cannot be in the future."))
        if born.year < 1900:
            raise forms.ValidationError(_("Please check the year of birth."))
        return born

    def show_domain_error(self, error: DomainError) -> None:
        """Put a service's refusal next to the field it is about, or above the form."""
        if error.code == PatientErrorCode.INVALID and isinstance(error.details.get("fields"), dict):
            for name, messages in error.details["fields"].items():
                for message in messages:
                    self.add_error(name if name in self.fields else None, message)
            return
        field = FIELD_OF_CODE.get(str(error.code))
        if error.code in IDENTIFIER_CODES:
            field = f"id_{error.details.get('kind', '')}"
        self.add_error(field if field in self.fields else None, str(error.message))


class RegisterForm(PatientFieldsForm):
    guardian = forms.CharField(
        label=_("Guardian's patient number"),
        max_length=24,
        required=False,
        help_text=_("For a child: the parent's or guardian's number, or find him below."),
    )
    relation = forms.ChoiceField(
        label=_("Relation"), choices=Guardianship.Relation.choices, initial=Guardianship.Relation.MOTHER
    )
    consent = forms.BooleanField(
        label=_("The patient has signed the consent to the processing of personal data"), required=False
    )
    consent_version = forms.CharField(
        label=_("Version of the consent text"), max_length=20, required=False, initial=CONSENT_TEXT_VERSION
    )
    allow_duplicates = forms.BooleanField(
        label=_("These are different people — register anyway"), required=False
    )

    def __init__(
        self, *args: Any, clinic: Clinic, patients: QuerySet[Patient], today: date, **kwargs: Any
    ) -> None:
        if args:
            args = (_with_pick(args[0], pick="guardian_pick", into="guardian"), *args[1:])
        super().__init__(*args, today=today, **kwargs)
        self.patients = patients
        for kind in identifier_kinds(clinic):
            self.fields[f"id_{kind}"] = forms.CharField(
                label=IdentifierKind(kind).label,
                max_length=40,
                required=False,
                widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
            )

    @property
    def identifier_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.fields if name.startswith("id_")]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        number = cleaned.get("guardian") or ""
        cleaned["guardian_patient"] = None
        if number:
            guardian = patient_by_number(self.patients, number)
            if guardian is None:
                self.add_error("guardian", _("No patient has this number."))
            cleaned["guardian_patient"] = guardian
        if cleaned.get("consent") and not cleaned.get("consent_version", "").strip():
            self.add_error("consent_version", _("Which version of the text did the patient sign?"))
        return cleaned

    def patient_data(self) -> PatientData:
        data = self.cleaned_data
        return PatientData(
            surname=data["surname"],
            name=data["name"],
            patronymic=data["patronymic"],
            birth_date=data["birth_date"],
            sex=data["sex"],
            phone=data["phone"],
            email=data["email"],
            address=data["address"],
            preferred_language=data["preferred_language"],
            preferred_channel=data["preferred_channel"],
            identifiers={
                name.removeprefix("id_"): data[name] for name in self.fields if name.startswith("id_")
            },
        )


class EditForm(PatientFieldsForm):
    treatment_status = forms.ChoiceField(
        label=_("Treatment status"), choices=TreatmentStatus.choices, required=False
    )
    flagged = forms.BooleanField(label=_("Flagged"), required=False)
    flag_reason = forms.CharField(label=_("Reason for the flag"), max_length=300, required=False)

    @classmethod
    def initial_of(cls, patient: Patient) -> dict[str, object]:
        return {name: getattr(patient, name) for name in cls.base_fields} | {
            "phone": str(patient.phone or "")
        }


class VerifyForm(forms.Form):
    document = forms.CharField(
        label=_("Document checked"),
        max_length=40,
        help_text=_("The kind of document, not its number: passport, ID card, birth certificate."),
    )

    def clean_document(self) -> str:
        document: str = self.cleaned_data["document"]
        # The note goes to the audit log, which holds no personal data: a document number does not belong.
        if sum(ch.isdigit() for ch in document) >= 3:
            raise forms.ValidationError(_("Write the kind of document, without its number."))
        return document


class AlertForm(forms.Form):
    kind = forms.ChoiceField(label=_("Alert"), choices=AlertKind.choices)
    note = forms.CharField(label=_("Note"), max_length=300, required=False)


class ComplaintForm(forms.Form):
    text = forms.CharField(label=_("Complaint"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))


class ConsentForm(forms.Form):
    kind = forms.ChoiceField(label=_("Consent"), choices=ConsentKind.choices)
    granted = forms.TypedChoiceField(
        label=_("Decision"),
        choices=[("yes", _("Given")), ("no", _("Withdrawn"))],
        coerce=lambda value: value == "yes",
    )
    text_version = forms.CharField(
        label=_("Version of the consent text"), max_length=20, initial=CONSENT_TEXT_VERSION
    )


class MergeForm(forms.Form):
    number = forms.CharField(label=_("Number of the duplicate record"), max_length=24)
    reason = forms.CharField(
        label=_("Why are these one person?"),
        max_length=200,
        required=False,
        help_text=_("It is kept in the audit log: no names, phone or document numbers."),
    )
    confirm = forms.BooleanField(label=_("Merge: the duplicate's data move to this record"), required=False)

    def __init__(self, *args: Any, patients: QuerySet[Patient], keep: Patient, **kwargs: Any) -> None:
        if args:
            args = (_with_pick(args[0], pick="duplicate_pick", into="number"), *args[1:])
        super().__init__(*args, **kwargs)
        self.patients = patients
        self.keep = keep

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        number = cleaned.get("number") or ""
        duplicate = patient_by_number(self.patients, number) if number else None
        if number and duplicate is None:
            self.add_error("number", _("No patient has this number."))
        elif duplicate is not None and duplicate.pk == self.keep.pk:
            self.add_error("number", _("This is the same record."))
        cleaned["duplicate"] = duplicate
        return cleaned


class AnonymiseForm(forms.Form):
    reason = forms.CharField(
        label=_("Request"),
        max_length=200,
        help_text=_("The request's reference (a letter's number and date). No names or phone numbers."),
    )
    confirm = forms.BooleanField(label=_("I understand that this cannot be undone"), required=False)


def identifier_kinds(clinic: Clinic) -> list[str]:
    """The national identifiers of the clinic's country, in the order of the IdentifierKind choices."""
    return [kind.value for kind, country in COUNTRY_OF.items() if country == clinic.country]


def _with_pick(data: Any, *, pick: str, into: str) -> Any:
    """A patient chosen among search results (radio buttons named `pick`) fills the number field `into`,
    so that a form shown again keeps the choice."""
    if data is None or not data.get(pick):
        return data
    data = data.copy()
    data[into] = data[pick]
    return data
