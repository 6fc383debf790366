"""Forms of the patients' pages: sign in with a phone, type the code, choose who, register oneself.

Forms check the shape of what was typed and give field errors in the user's language; the rules (limits,
codes, who may sign in, registration) are in otp.py and patients/services.py.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from django import forms
from django.db import models
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from navbat.accounts import otp
from navbat.clinic.models import Clinic
from navbat.errors import DomainError
from navbat.patients.models import Language, Patient, Sex
from navbat.patients.services import PatientData, normalize_phone

# The consent a self-registering patient gives. Changing the text means a new version: the registry
# records which version each patient agreed to.
CONSENT_TEXT_VERSION = "pd-online-1"
CONSENT_TEXT = _(
    "I agree that the clinic I have chosen processes my personal data — my name, date of birth, sex and "
    "phone number, and the records of my appointments and treatment — to register me as a patient, to "
    "book and manage my appointments and to contact me about them. The clinic keeps and protects these "
    "data as the law on personal data requires. I may withdraw this consent at any time at the clinic's "
    "registry; records that the law obliges the clinic to keep are kept for the period the law sets."
)
EARLIEST_BIRTH_DATE = date(1900, 1, 1)


def _label(field: str) -> Any:
    """A form label from the patient model's own (translated) field name."""
    model_field = Patient._meta.get_field(field)
    assert isinstance(model_field, models.Field)
    return capfirst(model_field.verbose_name)


class PhoneForm(forms.Form):
    """A phone number and, where the site hosts several clinics, the clinic."""

    clinic = forms.ModelChoiceField(queryset=Clinic.objects.none(), label=_("Clinic"), empty_label=None)
    phone = forms.CharField(
        label=_label("phone"),
        max_length=32,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel", "inputmode": "tel"}),
        help_text=_("For example: +998 90 123 45 67"),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        clinics = Clinic.objects.order_by("name")
        field = self.fields["clinic"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = clinics
        if len(clinics) == 1:
            field.initial = clinics[0].pk
            field.widget = forms.HiddenInput()

    @property
    def single_clinic(self) -> Clinic | None:
        """The only clinic, when there is no choice to show."""
        field = self.fields["clinic"]
        assert isinstance(field, forms.ModelChoiceField)
        clinics = list(field.queryset) if field.queryset is not None else []
        return clinics[0] if len(clinics) == 1 else None

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        clinic, phone = cleaned.get("clinic"), cleaned.get("phone")
        if clinic is not None and phone:
            try:
                cleaned["phone"] = normalize_phone(phone, clinic=clinic)
            except DomainError as error:
                self.add_error("phone", str(error.message))
        return cleaned


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code from the SMS"),
        max_length=20,
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "autofocus": True}
        ),
    )

    def clean_code(self) -> str:
        # "123 456" or "123-456" is what people copy from an SMS.
        code = "".join(str(self.cleaned_data["code"]).split()).replace("-", "")
        if not re.fullmatch(rf"\d{{{otp.CODE_DIGITS}}}", code):
            raise forms.ValidationError(_("The code has 6 digits."))
        return code


class WhoForm(forms.Form):
    """Several adults share the verified phone: which of them signs in."""

    patient = forms.TypedChoiceField(label=_("Who is signing in?"), coerce=int, widget=forms.RadioSelect)

    def __init__(self, *args: Any, choices: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["patient"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = choices


class RegistrationForm(PhoneForm):
    surname = forms.CharField(label=_label("surname"), max_length=100)
    name = forms.CharField(label=_label("name"), max_length=100)
    patronymic = forms.CharField(label=_label("patronymic"), max_length=100, required=False)
    birth_date = forms.DateField(
        label=_label("birth_date"),
        input_formats=["%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y"],
        widget=forms.DateInput(attrs={"type": "date", "autocomplete": "bday"}, format="%Y-%m-%d"),
    )
    sex = forms.ChoiceField(label=_label("sex"), choices=Sex.choices, widget=forms.RadioSelect)
    preferred_language = forms.ChoiceField(label=_label("preferred_language"), choices=Language.choices)
    consent = forms.BooleanField(
        label=_("I have read the text above and agree to the processing of my personal data."),
        error_messages={"required": _("Registration needs your consent to the processing of personal data.")},
    )

    field_order = [
        "clinic",
        "surname",
        "name",
        "patronymic",
        "birth_date",
        "sex",
        "phone",
        "preferred_language",
        "consent",
    ]

    def __init__(self, *args: Any, now: datetime | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.now = now or timezone.now()
        language = (get_language() or "uz")[:2]
        if language in Language.values:
            self.fields["preferred_language"].initial = language

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        clinic, birth_date = cleaned.get("clinic"), cleaned.get("birth_date")
        if clinic is not None and birth_date is not None:
            today = self.now.astimezone(clinic.tz).date()
            if birth_date > today:
                self.add_error("birth_date", _("The date of birth cannot be in the future."))
            elif birth_date < EARLIEST_BIRTH_DATE:
                self.add_error("birth_date", _("Please check the year of birth."))
            else:
                try:
                    otp.check_adult(birth_date=birth_date, clinic=clinic, now=self.now)
                except DomainError as error:
                    self.add_error("birth_date", str(error.message))
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
            preferred_language=data["preferred_language"],
        )


def pending_registration(form: RegistrationForm) -> dict[str, str]:
    """What the session keeps between the form and the code (JSON): the registration, not yet saved."""
    data = form.patient_data()
    return {
        "surname": data.surname,
        "name": data.name,
        "patronymic": data.patronymic,
        "birth_date": data.birth_date.isoformat(),
        "sex": data.sex,
        "phone": data.phone,
        "preferred_language": data.preferred_language,
    }


def patient_data_from(pending: dict[str, str]) -> PatientData:
    return PatientData(
        surname=pending["surname"],
        name=pending["name"],
        patronymic=pending["patronymic"],
        birth_date=date.fromisoformat(pending["birth_date"]),
        sex=pending["sex"],
        phone=pending["phone"],
        preferred_language=pending["preferred_language"],
    )
