"""Forms of the reception desk and the dentist's day: they parse what was sent; the services decide what is
allowed. Every form also carries the board the person was looking at (`date`, `by`), to answer with it."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from navbat.booking.boards import BoardBy
from navbat.clinic.models import Chair, Clinic, Service, StaffMember, StaffRole
from navbat.patients.arrival import IdentityCheck
from navbat.patients.models import Patient
from navbat.patients.selectors import whole_number

# Dates and times outside these years are typing errors (or probes), refused before any arithmetic.
FIRST_YEAR, LAST_YEAR = 2000, 2100
MAX_ID = 2**63 - 1
NOTE_LENGTH = 200

CANCEL_REASONS = [
    ("patient", _("The patient asked to cancel")),
    ("ill", _("The patient is ill")),
    ("dentist", _("The dentist cannot see the patient")),
    ("other", _("Another reason")),
]
NOSHOW_REASONS = [
    ("absent", _("Did not come and did not call")),
    ("late", _("Came too late to be seen")),
    ("other", _("Another reason")),
]
COMPLAINTS = [
    ("pain", _("Severe pain")),
    ("swelling", _("Swelling")),
    ("trauma", _("Injury to the teeth or jaw")),
    ("bleeding", _("Bleeding")),
    ("fever", _("Fever")),
]


def _sensible(day: dt.date) -> None:
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise forms.ValidationError(
            _("Choose a date between %(first)s and %(last)s.") % {"first": FIRST_YEAR, "last": LAST_YEAR}
        )


class BoardFields(forms.Form):
    """The board being looked at: its date and whether its columns are dentists or chairs."""

    date = forms.CharField(required=False, max_length=20, widget=forms.HiddenInput)
    by = forms.ChoiceField(
        choices=[("", ""), *((by.value, by.value) for by in BoardBy)],
        required=False,
        widget=forms.HiddenInput,
        error_messages={"invalid_choice": _("Show the board by dentist or by chair.")},
    )

    def clean_date(self) -> dt.date | None:
        raw: str = self.cleaned_data["date"].strip()
        if not raw:
            return None
        try:
            day = dt.date.fromisoformat(raw)
        except ValueError:
            raise forms.ValidationError(
                _("“%(value)s” is not a date. Use the form YYYY-MM-DD.") % {"value": raw[:20]}
            ) from None
        _sensible(day)
        return day

    def clean_by(self) -> BoardBy:
        return BoardBy(self.cleaned_data["by"] or BoardBy.DENTIST)


class BoardForm(BoardFields):
    """The board page's address: the day, the columns, the appointment being moved, the patient at the desk,
    and what was typed to find him."""

    move = forms.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    patient = forms.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    new = forms.IntegerField(required=False, min_value=1, max_value=MAX_ID)  # just booked: highlighted
    q = forms.CharField(required=False, max_length=100, strip=True)


class FindForm(forms.Form):
    q = forms.CharField(label=_("Find the patient"), required=False, max_length=100, strip=True)


class DeskBookingForm(BoardFields):
    """A walk-in: the patient, the service, a dentist or any. `start` (with `dentist` and `chair`) books one
    of the times offered when today is full."""

    id_prefix = "walk-in"

    patient = forms.ModelChoiceField(queryset=Patient.objects.none(), widget=forms.HiddenInput)
    service = forms.ModelChoiceField(queryset=Service.objects.none(), label=_("Service"), empty_label=None)
    dentist = forms.ModelChoiceField(
        queryset=StaffMember.objects.none(), label=_("Dentist"), required=False, empty_label=_("Any dentist")
    )
    start = forms.DateTimeField(required=False, widget=forms.HiddenInput)
    chair = forms.ModelChoiceField(queryset=Chair.objects.none(), required=False, widget=forms.HiddenInput)
    notes = forms.CharField(
        label=_("Note for the dentist"), required=False, max_length=NOTE_LENGTH, widget=forms.TextInput
    )

    def __init__(
        self,
        *args: Any,
        clinic: Clinic,
        patients: QuerySet[Patient],
        services: QuerySet[Service],
        **kwargs: Any,
    ) -> None:
        # Both forms are on one page: their fields' ids must differ.
        kwargs.setdefault("auto_id", f"{self.id_prefix}-%s")
        super().__init__(*args, **kwargs)
        self.fields["patient"].queryset = patients  # type: ignore[attr-defined]
        self.fields["service"].queryset = services  # type: ignore[attr-defined]
        self.fields["service"].label_from_instance = lambda service: service.name  # type: ignore[attr-defined]
        self.fields["dentist"].queryset = (  # type: ignore[attr-defined]
            StaffMember.objects.filter(clinic=clinic, role=StaffRole.DENTIST, is_active=True)
            .select_related("user")
            .order_by("user__last_name", "user__first_name", "pk")
        )
        self.fields["chair"].queryset = Chair.objects.filter(  # type: ignore[attr-defined]
            department__clinic=clinic, is_active=True
        )

    def clean_start(self) -> dt.datetime | None:
        start: dt.datetime | None = self.cleaned_data["start"]
        if start is not None:
            _sensible(start.date())
        return start

    def notes_text(self) -> str:
        return str(self.cleaned_data["notes"]).strip()


class EmergencyForm(DeskBookingForm):
    """An urgent patient: what is wrong (for the dentist, in the notes) and the urgent service."""

    id_prefix = "emergency"

    complaints = forms.MultipleChoiceField(
        label=_("What is wrong"),
        choices=COMPLAINTS,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Tick what is wrong with the patient.")},
    )

    def notes_text(self) -> str:
        labels = dict(COMPLAINTS)
        said = ", ".join(str(labels[code]) for code in self.cleaned_data["complaints"])
        note = super().notes_text()
        text = str(_("Emergency: %(complaints)s.")) % {"complaints": said}
        return f"{text} {note}" if note else text


class MoveForm(BoardFields):
    """Where to: a time in a dentist's column (that dentist, a chair found for him) or in a chair's column
    (that chair, the same dentist)."""

    start = forms.DateTimeField()
    dentist = forms.ModelChoiceField(queryset=StaffMember.objects.none(), required=False)
    chair = forms.ModelChoiceField(queryset=Chair.objects.none(), required=False)

    def __init__(self, *args: Any, clinic: Clinic, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["dentist"].queryset = StaffMember.objects.filter(  # type: ignore[attr-defined]
            clinic=clinic, role=StaffRole.DENTIST, is_active=True
        )
        self.fields["chair"].queryset = Chair.objects.filter(  # type: ignore[attr-defined]
            department__clinic=clinic, is_active=True
        )

    def clean_start(self) -> dt.datetime:
        start: dt.datetime = self.cleaned_data["start"]
        _sensible(start.date())
        return start


class ReasonForm(BoardFields):
    """Why an appointment is cancelled or missed: a choice, and details (required for another reason)."""

    reason = forms.ChoiceField(label=_("Reason"), choices=[])
    note = forms.CharField(label=_("Details"), required=False, max_length=NOTE_LENGTH)

    def __init__(self, *args: Any, step: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.reasons = CANCEL_REASONS if step == "cancel" else NOSHOW_REASONS
        self.fields["reason"].choices = [("", "—"), *self.reasons]  # type: ignore[attr-defined]
        self.fields["reason"].error_messages["required"] = _("Choose a reason.")

    def clean(self) -> dict[str, Any] | None:
        cleaned = super().clean()
        if self.cleaned_data.get("reason") == "other" and not str(self.cleaned_data.get("note", "")).strip():
            self.add_error("note", _("Say what the other reason is."))
        return cleaned

    def reason_text(self) -> str:
        label = str(dict(self.reasons)[self.cleaned_data["reason"]])
        note = str(self.cleaned_data["note"]).strip()
        return f"{label}: {note}" if note else label


class TransferForm(BoardFields):
    """Give the appointment to another patient (booking.transfer): his patient number, and why."""

    number = forms.CharField(
        label=_("Patient number of the new patient"),
        max_length=40,
        error_messages={"required": _("Enter the new patient's number.")},
    )
    reason = forms.CharField(
        label=_("Reason"),
        max_length=NOTE_LENGTH,
        error_messages={"required": _("Say why the visit is transferred to another patient.")},
    )

    def __init__(self, *args: Any, clinic: Clinic, patients: QuerySet[Patient], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.clinic = clinic
        self.patients = patients

    def clean_number(self) -> Patient:
        typed = str(self.cleaned_data["number"])
        number = whole_number(typed)
        found = list(self.patients.filter(number=number)[:3]) if number is not None else []
        # Numbers are unique within a clinic; in a network sharing its registry, the clinic's own comes first.
        own = [patient for patient in found if patient.clinic_id == self.clinic.pk]
        if own or len(found) == 1:
            return (own or found)[0]
        if found:
            raise forms.ValidationError(
                _("Several patients have this number. Transfer the visit at their clinic.")
            )
        raise forms.ValidationError(
            _("No patient has the number “%(value)s”.") % {"value": typed.strip()[:40]}
        )

    def reason_text(self) -> str:
        return str(self.cleaned_data["reason"]).strip()


class StepForm(BoardFields):
    """A step that needs no more than the board to answer with (arrived, visit done)."""


class ArriveForm(BoardFields):
    """Arrived, with what the registrar found when he compared the patient with the registry."""

    identity = forms.ChoiceField(label=_("Identity"), choices=IdentityCheck.choices)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["identity"].error_messages["required"] = _(
            "Check the patient's name and date of birth, or a document, and choose what you found."
        )


class OverbookForm(BoardFields):
    """An extra visit in a dentist's overtime on the board's day (booking.overbooking): the patient at the
    desk, a short service, the dentist. Each dentist is shown with his day's expected no-shows."""

    patient = forms.ModelChoiceField(queryset=Patient.objects.none(), widget=forms.HiddenInput)
    service = forms.ModelChoiceField(queryset=Service.objects.none(), label=_("Service"), empty_label=None)
    dentist = forms.ModelChoiceField(
        queryset=StaffMember.objects.none(), label=_("Dentist"), empty_label=None
    )
    notes = forms.CharField(
        label=_("Note for the dentist"), required=False, max_length=NOTE_LENGTH, widget=forms.TextInput
    )

    def __init__(
        self,
        *args: Any,
        clinic: Clinic,
        patients: QuerySet[Patient],
        services: QuerySet[Service],
        label_dentist: Any = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("auto_id", "overbook-%s")
        super().__init__(*args, **kwargs)
        self.fields["patient"].queryset = patients  # type: ignore[attr-defined]
        self.fields["service"].queryset = services  # type: ignore[attr-defined]
        self.fields["service"].label_from_instance = lambda service: service.name  # type: ignore[attr-defined]
        self.fields["dentist"].queryset = (  # type: ignore[attr-defined]
            StaffMember.objects.filter(clinic=clinic, role=StaffRole.DENTIST, is_active=True)
            .select_related("user")
            .order_by("user__last_name", "user__first_name", "pk")
        )
        if label_dentist is not None:
            self.fields["dentist"].label_from_instance = label_dentist  # type: ignore[attr-defined]

    def notes_text(self) -> str:
        return str(self.cleaned_data["notes"]).strip()
