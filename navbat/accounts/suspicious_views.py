"""The suspicious-activity report page for managers and administrators (accounts.suspicious)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from navbat.accounts.access import can_view_suspicious_activity, clinic_of, require
from navbat.accounts.suspicious import suspicious_activity

REPORT_DAYS = 30


@login_required
@never_cache
@require_GET
def report(request: HttpRequest) -> HttpResponse:
    require(can_view_suspicious_activity(request.user))
    clinic = clinic_of(request.user)
    if clinic is None:  # can_view_suspicious_activity said there is one
        raise PermissionDenied
    findings = suspicious_activity(clinic=clinic, days=REPORT_DAYS)
    return render(request, "accounts/suspicious.html", {"findings": findings, "days": REPORT_DAYS})
