"""The overtime report for managers (booking.overbooking): per dentist and day, the extra visits booked on
days expected to lose visits, what became of them, and the overtime minutes they caused. No patient data."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from navbat.accounts.access import can_view_overtime_report, clinic_of, require
from navbat.booking.boards import local_day
from navbat.booking.desk_forms import FIRST_YEAR, LAST_YEAR
from navbat.booking.overbooking import REPORT_MAX_DAYS, overbooking_policy, overtime_report

DEFAULT_DAYS = 30


class OvertimeForm(forms.Form):
    date_from = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("Until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean(self) -> dict[str, Any] | None:
        cleaned = super().clean()
        first, last = self.cleaned_data.get("date_from"), self.cleaned_data.get("date_to")
        for day in (first, last):
            if day is not None and not FIRST_YEAR <= day.year <= LAST_YEAR:
                raise forms.ValidationError(
                    _("Choose a date between %(first)s and %(last)s.")
                    % {"first": FIRST_YEAR, "last": LAST_YEAR}
                )
        if first is not None and last is not None:
            if last < first:
                raise forms.ValidationError(_("The range must end on or after its first day."))
            if (last - first).days >= REPORT_MAX_DAYS:
                raise forms.ValidationError(
                    _("Choose at most %(days)s days at once.") % {"days": REPORT_MAX_DAYS}
                )
        return cleaned

    def days(self, today: dt.date) -> tuple[dt.date, dt.date]:
        """The range asked for; by default the last DEFAULT_DAYS days up to today (at most REPORT_MAX_DAYS,
        the latest ones, when only the first day was given)."""
        last = self.cleaned_data.get("date_to") or max(today, self.cleaned_data.get("date_from") or today)
        first = self.cleaned_data.get("date_from") or last - dt.timedelta(days=DEFAULT_DAYS - 1)
        first = max(first, last - dt.timedelta(days=REPORT_MAX_DAYS - 1))
        return first, last


@login_required
@never_cache
@require_GET
def report(request: HttpRequest) -> HttpResponse:
    require(can_view_overtime_report(request.user))
    clinic = clinic_of(request.user)
    assert clinic is not None  # can_view_overtime_report said there is one
    form = OvertimeForm(request.GET)
    status = 200
    if form.is_valid():
        first, last = form.days(local_day(clinic, timezone.now()))
        found = overtime_report(clinic=clinic, first_day=first, last_day=last)
    else:
        status, found = 400, None
    context = {
        "form": form,
        "report": found,
        "policy": overbooking_policy(clinic),
        "clinic": clinic,
    }
    return render(request, "booking/overtime.html", context, status=status)
