"""The language switcher (base.html posts to it): Django's set_language, and a signed-in patient's choice is
also remembered as his preferred language — the language of his pages at his next sign-in, on any device,
and of the messages the clinic sends him. Staff and visitors keep the cookie (or the browser's language).
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.i18n import LANGUAGE_QUERY_PARAMETER, set_language

from navbat.accounts.access import own_patient
from navbat.accounts.audit import Actor
from navbat.patients.services import set_preferred_language

SITE_LANGUAGES = frozenset(code for code, _name in settings.LANGUAGES)


def switch_language(request: HttpRequest) -> HttpResponseBase:
    """POST language (+ next): Django's answer — back to `next`, with the language cookie. A code that is not
    one of the site's languages is a 400 (Django would take any it has a catalogue for: de, fr, …)."""
    code = request.POST.get(LANGUAGE_QUERY_PARAMETER, "")
    if request.method == "POST" and code not in SITE_LANGUAGES:
        message = _("This site speaks Uzbek, Russian and English; “%(value)s” is none of them.")
        return render(
            request, "booking/bad_request.html", {"message": message % {"value": code[:20]}}, status=400
        )
    response = set_language(request)
    if settings.LANGUAGE_COOKIE_NAME in response.cookies:  # Django took the choice: so do we
        patient = own_patient(request.user)
        if patient is not None:
            set_preferred_language(patient=patient, language=code, actor=Actor.of(request))
    return response


def remember_language(response: HttpResponse, code: str) -> HttpResponse:
    """Set the language cookie as Django's set_language does: the pages that follow speak `code`."""
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        code,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )
    return response
