"""Forms of the call-centre console: they parse what the operator typed; the services decide what is allowed.

Dates are typed as people in the clinics write them (31.12.2027; ISO works too): a browser's date field
orders its parts by the computer's language, not the page's, and an operator types without looking.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from navbat.clinic.models import Chair, Clinic, Service, StaffMember, StaffRole, Weekday
from navbat.patients.forms import PatientFieldsForm
from navbat.patients.models import Guardianship
from navbat.patients.services import PatientData
from navbat.scheduling import TimeWindow, Wishes

DATE_FORMATS = ["%d.%m.%Y", "%d/%m/%Y", "%Y-%m-%d"]
# Parts of the day a caller names, as local wall-clock windows a whole visit must fit in.
DAY_PARTS: dict[str, tuple[time, time]] = {
    "morning": (time(0), time(12)),
    "afternoon": (time(12), time(17)),
    "evening": (time(17), time.max),
}
# A caller's earliest date further ahead than this is a typing error.
FURTHEST_DAYS = 366


def typed_date(label: Any, *, required: bool = True, help_text: Any = "") -> forms.DateField:
    return forms.DateField(
        label=label,
        required=required,
        help_text=help_text,
        input_formats=DATE_FORMATS,
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "autocomplete": "off", "placeholder": _("DD.MM.YYYY")}
        ),
    )


class SearchForm(forms.Form):
    q = forms.CharField(label=_("Phone, name or patient number"), max_length=100, required=False, strip=True)


class CallerForm(PatientFieldsForm):
    """A new caller, registered while he is on the line: the fields the phone gives, the rest later."""

    birth_date = typed_date(_("Date of birth"))
    # Asked for later, not on the phone (Django drops a parent's field that a subclass sets to None).
    email = None  # type: ignore[assignment]
    address = None  # type: ignore[assignment]
    preferred_channel = None  # type: ignore[assignment]
    # The parent whose card is open, when a child is registered from it.
    guardian = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    relation = forms.ChoiceField(
        label=_("Relation"),
        choices=Guardianship.Relation.choices,
        initial=Guardianship.Relation.MOTHER,
        required=False,
    )
    allow_duplicates = forms.BooleanField(
        label=_("These are different people — register anyway"), required=False
    )

    field_order = [
        "surname",
        "name",
        "birth_date",
        "phone",
        "patronymic",
        "sex",
        "preferred_language",
        "relation",
        "guardian",
        "allow_duplicates",
    ]

    def autofocus(self) -> CallerForm:
        """Put the cursor where the operator types next: the first field in error, else the first empty
        required one (the phone typed in the search box is already in its place)."""
        visible = [name for name in self.fields if not self.fields[name].widget.is_hidden]
        wrong = [name for name in visible if name in self.errors]
        empty = [name for name in visible if self.fields[name].required and not self[name].value()]
        first = (wrong or empty or visible)[0]
        self.fields[first].widget.attrs["autofocus"] = True
        return self

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


class ServiceChoice(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        return str(_("%(name)s · %(minutes)s min")) % {"name": obj.name, "minutes": obj.duration_minutes}


class DentistChoice(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        specialties = ", ".join(str(s.name) for s in obj.specialties.all())
        return f"{obj.display_name} ({specialties})" if specialties else obj.display_name


class OptionsForm(forms.Form):
    """The caller's wishes: the service, a dentist or any, weekdays, a part of the day or a from–to window,
    the earliest date."""

    service = ServiceChoice(label=_("Service"), queryset=Service.objects.none(), empty_label=None)
    dentist = DentistChoice(
        label=_("Dentist"), queryset=StaffMember.objects.none(), required=False, empty_label=_("Any dentist")
    )
    weekdays = forms.TypedMultipleChoiceField(
        label=_("Days of the week"),
        choices=Weekday.choices,
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    day_part = forms.ChoiceField(
        label=_("Time of day"),
        choices=[
            ("", _("Any time")),
            ("morning", _("Morning (until 12:00)")),
            ("afternoon", _("Afternoon (12:00–17:00)")),
            ("evening", _("Evening (after 17:00)")),
        ],
        required=False,
        widget=forms.RadioSelect,
    )
    time_from = forms.TimeField(
        label=_("From"), required=False, widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )
    time_to = forms.TimeField(
        label=_("To"), required=False, widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )
    earliest = typed_date(_("Not before"), required=False)
    # The visit being moved, when the options are for moving one.
    move = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def __init__(
        self,
        *args: Any,
        services: QuerySet[Service],
        dentists: QuerySet[StaffMember],
        today: date,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.today = today
        service_field = self.fields["service"]
        dentist_field = self.fields["dentist"]
        assert isinstance(service_field, forms.ModelChoiceField)
        assert isinstance(dentist_field, forms.ModelChoiceField)
        service_field.queryset = services
        dentist_field.queryset = dentists
        service_field.widget.attrs.update({"autofocus": True, "aria-keyshortcuts": "Alt+O"})

    def clean_earliest(self) -> date | None:
        earliest: date | None = self.cleaned_data["earliest"]
        if earliest is not None and earliest > self.today + timedelta(days=FURTHEST_DAYS):
            raise forms.ValidationError(_("That is more than a year ahead. Please check the date."))
        return earliest

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("time_from"), cleaned.get("time_to")
        if start is not None and end is not None and start >= end:
            self.add_error("time_to", _("The end of the window must be after its start."))
        return cleaned

    def wishes(self) -> Wishes:
        data = self.cleaned_data
        return Wishes(
            earliest=self.first_day(),
            weekdays=frozenset(data["weekdays"]),
            windows=self._windows(),
        )

    def first_day(self) -> date:
        earliest: date | None = self.cleaned_data["earliest"]
        return max(earliest, self.today) if earliest else self.today

    def _windows(self) -> tuple[TimeWindow, ...]:
        data = self.cleaned_data
        start, end = data["time_from"], data["time_to"]
        if start is not None or end is not None:
            return (TimeWindow(start or time(0), end or time.max),)
        part = data["day_part"]
        return (TimeWindow(*DAY_PARTS[part]),) if part else ()


class SlotForm(OptionsForm):
    """One option chosen: its start, dentist and chair, with the wishes that found it (to look again when
    somebody took the time meanwhile)."""

    slot_start = forms.DateTimeField(label=_("Time"), widget=forms.HiddenInput)
    slot_dentist = forms.ModelChoiceField(
        label=_("Dentist"), queryset=StaffMember.objects.none(), widget=forms.HiddenInput
    )
    slot_chair = forms.ModelChoiceField(
        label=_("Chair"), queryset=Chair.objects.none(), widget=forms.HiddenInput
    )

    def __init__(self, *args: Any, clinic: Clinic, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        dentist_field = self.fields["slot_dentist"]
        chair_field = self.fields["slot_chair"]
        assert isinstance(dentist_field, forms.ModelChoiceField)
        assert isinstance(chair_field, forms.ModelChoiceField)
        dentist_field.queryset = StaffMember.objects.filter(clinic=clinic, role=StaffRole.DENTIST)
        chair_field.queryset = Chair.objects.filter(department__clinic=clinic)

    def clean_slot_start(self) -> datetime:
        start: datetime = self.cleaned_data["slot_start"]
        if not self.today - timedelta(days=1) <= start.date() <= self.today + timedelta(days=FURTHEST_DAYS):
            raise forms.ValidationError(_("This time is outside the dates the console books."))
        return start


class CancelForm(forms.Form):
    reason = forms.CharField(
        label=_("Why is the visit cancelled?"),
        max_length=200,
        help_text=_("For the visit's history, e.g. “the patient is ill”. No phone numbers."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "autofocus": True}),
    )
