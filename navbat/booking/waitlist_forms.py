"""The form a patient (or an operator for a caller) fills in to join the waitlist: what, with whom, when."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from navbat.booking.models import Urgency
from navbat.clinic.models import Service, StaffMember
from navbat.patients.models import Patient

WEEKDAYS = [
    (1, _("Monday")),
    (2, _("Tuesday")),
    (3, _("Wednesday")),
    (4, _("Thursday")),
    (5, _("Friday")),
    (6, _("Saturday")),
    (7, _("Sunday")),
]
# How far ahead a wish may reach.
LONGEST_WAIT = timedelta(days=120)


class JoinForm(forms.Form):
    patient = forms.ModelChoiceField(queryset=Patient.objects.none(), label=_("Patient"))
    service = forms.ModelChoiceField(queryset=Service.objects.none(), label=_("Service"))
    dentists = forms.ModelMultipleChoiceField(
        queryset=StaffMember.objects.none(),
        required=False,
        label=_("Dentists"),
        help_text=_("None chosen: any dentist who does the service."),
        widget=forms.CheckboxSelectMultiple,
    )
    date_from = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("Until"), widget=forms.DateInput(attrs={"type": "date"}))
    weekdays = forms.TypedMultipleChoiceField(
        choices=WEEKDAYS,
        coerce=int,
        required=False,
        label=_("Days"),
        help_text=_("None chosen: any day."),
        widget=forms.CheckboxSelectMultiple,
    )
    time_from = forms.TimeField(
        required=False, label=_("Not before"), widget=forms.TimeInput(attrs={"type": "time"})
    )
    time_to = forms.TimeField(
        required=False, label=_("Not after"), widget=forms.TimeInput(attrs={"type": "time"})
    )
    urgency = forms.TypedChoiceField(
        choices=Urgency.choices, coerce=int, initial=Urgency.ROUTINE, label=_("Urgency")
    )

    def __init__(
        self,
        *args: Any,
        patients: QuerySet[Patient],
        services: QuerySet[Service],
        dentists: QuerySet[StaffMember],
        staff: bool,
        today: date,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["patient"].queryset = patients  # type: ignore[attr-defined]
        self.fields["service"].queryset = services  # type: ignore[attr-defined]
        self.fields["dentists"].queryset = dentists  # type: ignore[attr-defined]
        self.today = today
        if not staff:  # how urgent it is, the clinic judges (an operator, the triage of "I am in pain")
            del self.fields["urgency"]
        self.fields["date_from"].initial = today
        self.fields["date_to"].initial = today + timedelta(days=14)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        first, last = data.get("date_from"), data.get("date_to")
        if first and last and (first < self.today or last < first or last > self.today + LONGEST_WAIT):
            raise forms.ValidationError(_("Please choose dates from today on, in order, within four months."))
        return data
