"""What a patient may choose on the booking pages, and the forms that carry his choices.

The flow's state lives in the query string (p = the person, s = the service, d = the dentist or "any", day,
and the triage answers), so the back button and a reload never lose it; FlowForm reads it back. The reads
below are the rules for the choices: which services suit the person's age, which is the clinic's urgent one,
which dentists do a service, which days the date strip shows.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django import forms
from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import override

from navbat.booking.models import Appointment
from navbat.booking.selectors import last_online_day
from navbat.booking.statuses import Status
from navbat.clinic.models import Clinic, Service, StaffMember, StaffRole
from navbat.clinic.selectors import urgent_codes
from navbat.patients.models import Patient

# The date strip shows the clinic's online horizon, at most this many days.
STRIP_DAYS = 31
# My appointments shows past visits this far back.
RECENT_DAYS = 90
MAX_ID = 2**53  # larger ids are typing errors or probes: refused before any query
NOTE_LENGTH = 500

YES, NO = "yes", "no"
YES_NO = [(YES, _("Yes")), (NO, _("No"))]
# The triage questions of "I am in pain", in the order asked. The answers go into the appointment's notes.
TRIAGE = {
    "swelling": _("Is the face or the gum swollen?"),
    "fever": _("Is there a fever?"),
    "injury": _("Was the tooth or the jaw hurt by a blow or a fall?"),
    "night": _("Does the pain keep you awake at night?"),
}
DENTIST_CHOICE = r"^(any|[1-9][0-9]{0,17})$"
ANY = "any"


# --- The choices -------------------------------------------------------------------------------------------


def bookable_services(patient: Patient, *, today: date) -> list[Service]:
    """The clinic's active services for the person's age, but the urgent one ("I am in pain" leads there)."""
    age = patient.age_on(today)
    services = Service.objects.filter(clinic_id=patient.clinic_id, is_active=True).exclude(
        code__in=urgent_codes()
    )
    return sorted((s for s in services if s.accepts_age(age)), key=lambda s: s.name)


def bookable_service(patient: Patient, code: str, *, today: date) -> Service | None:
    return next((s for s in bookable_services(patient, today=today) if s.code == code), None)


def urgent_service(patient: Patient, *, today: date) -> Service | None:
    """The clinic's urgent service for the person's age: the first of urgent_codes() it offers."""
    age = patient.age_on(today)
    found = {
        s.code: s
        for s in Service.objects.filter(clinic_id=patient.clinic_id, is_active=True, code__in=urgent_codes())
    }
    return next(
        (found[code] for code in urgent_codes() if code in found and found[code].accepts_age(age)), None
    )


def dentists_for(service: Service) -> QuerySet[StaffMember]:
    return (
        StaffMember.objects.filter(
            clinic_id=service.clinic_id,
            role=StaffRole.DENTIST,
            is_active=True,
            specialties=service.specialty_id,
        )
        .select_related("user")
        .prefetch_related("specialties")
        .distinct()
    )


def strip_days(clinic: Clinic, *, now: datetime) -> list[date]:
    """The days a patient may book online, in the clinic's calendar: today to the end of the horizon."""
    today = now.astimezone(clinic.tz).date()
    last = last_online_day(clinic, now)
    return [today + timedelta(days=n) for n in range(min((last - today).days + 1, STRIP_DAYS))]


def family_appointments(
    family: QuerySet[Patient], *, now: datetime
) -> tuple[list[Appointment], list[Appointment]]:
    """Upcoming appointments (still to come or under way) and those of the last RECENT_DAYS, of the family."""
    rows = (
        Appointment.objects.filter(patient__in=family, ends_at__gt=now - timedelta(days=RECENT_DAYS))
        .exclude(status=Status.ENTERED_IN_ERROR)
        .select_related("clinic", "patient", "service", "dentist__user", "chair")
        .order_by("starts_at")
    )
    upcoming = [a for a in rows if a.ends_at > now and a.is_active]
    past = [a for a in rows if not (a.ends_at > now and a.is_active)]
    return upcoming, past[::-1]


# --- The forms ---------------------------------------------------------------------------------------------


class TriageForm(forms.Form):
    """ "I am in pain": a yes or no for each question, all required."""

    swelling = forms.ChoiceField(label=TRIAGE["swelling"], choices=YES_NO, widget=forms.RadioSelect)
    fever = forms.ChoiceField(label=TRIAGE["fever"], choices=YES_NO, widget=forms.RadioSelect)
    injury = forms.ChoiceField(label=TRIAGE["injury"], choices=YES_NO, widget=forms.RadioSelect)
    night = forms.ChoiceField(label=TRIAGE["night"], choices=YES_NO, widget=forms.RadioSelect)


def triage_notes(answers: dict[str, str]) -> str:
    """The answers as the dentist reads them in the notes, in the clinic's working language (the site's)."""
    with override(settings.LANGUAGE_CODE):
        lines = [str(_("Urgent: the patient is in pain."))]
        lines += [f"{TRIAGE[key]} {YES_NO[0][1] if answers[key] == YES else YES_NO[1][1]}" for key in TRIAGE]
        return "\n".join(lines)


class FlowForm(forms.Form):
    """The choices so far, from the query string (or the hidden fields of a POST)."""

    p = forms.IntegerField(min_value=1, max_value=MAX_ID)
    s = forms.SlugField(max_length=40, required=False)
    d = forms.RegexField(DENTIST_CHOICE, max_length=20, required=False)
    day = forms.DateField(input_formats=["%Y-%m-%d"], required=False)
    swelling = forms.ChoiceField(choices=YES_NO, required=False)
    fever = forms.ChoiceField(choices=YES_NO, required=False)
    injury = forms.ChoiceField(choices=YES_NO, required=False)
    night = forms.ChoiceField(choices=YES_NO, required=False)

    def triage(self) -> dict[str, str] | None:
        """The triage answers when all were given ("I am in pain"), else None."""
        answers = {key: self.cleaned_data.get(key) or "" for key in TRIAGE}
        return answers if all(answers.values()) else None


class DayForm(forms.Form):
    """The day of the date strip on the move pages."""

    day = forms.DateField(input_formats=["%Y-%m-%d"], required=False)
    d = forms.RegexField(DENTIST_CHOICE, max_length=20, required=False)


class TimeForm(forms.Form):
    """The time chosen: an ISO moment with its offset, as the times list sends it."""

    start = forms.CharField(max_length=40)

    def clean_start(self) -> datetime:
        raw = self.cleaned_data["start"]
        try:
            moment = datetime.fromisoformat(raw)
        except ValueError:
            raise forms.ValidationError(_("Please choose a time from the list.")) from None
        if timezone.is_naive(moment):
            raise forms.ValidationError(_("Please choose a time from the list."))
        return moment


class ConfirmForm(forms.Form):
    note = forms.CharField(
        label=_("Anything the dentist should know (optional)"),
        max_length=NOTE_LENGTH,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
