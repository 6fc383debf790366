"""Patients' own pages: sign in with phone + code, register oneself online, "my page", sign out.

Thin: parse the form, call otp.py, remember where the visitor is in the flow (his session), render.
Bad input is answered 400 with the form and its errors, too many requests 429 with Retry-After; nothing is
changed by either. No page says whether a phone number is registered.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from navbat.accounts import otp
from navbat.accounts.access import own_patient, require
from navbat.accounts.audit import Actor
from navbat.accounts.language import SITE_LANGUAGES, remember_language
from navbat.accounts.middleware import client_ip as proxied_client_ip
from navbat.accounts.models import OtpPurpose
from navbat.accounts.otp_forms import (
    CONSENT_TEXT,
    CONSENT_TEXT_VERSION,
    CodeForm,
    PhoneForm,
    RegistrationForm,
    WhoForm,
    patient_data_from,
    pending_registration,
)
from navbat.booking.models import Appointment
from navbat.clinic.models import Clinic
from navbat.errors import DomainError
from navbat.patients.errors import PatientErrorCode
from navbat.patients.models import Patient
from navbat.patients.selectors import children_of
from navbat.patients.services import set_preferred_language

# Where a visitor is in the flow, in his (server-side) session.
CHALLENGE = "navbat_otp"  # the code asked for: id, purpose, phone, clinic, language
PENDING = "navbat_otp_registration"  # the registration form, until the phone is verified
VERIFIED = "navbat_otp_verified"  # a verified sign-in challenge, while he chooses who he is
NEXT = "navbat_otp_next"  # the page that sent him to sign in (?next=), where he goes once signed in
SIGN_IN_BACKEND = "django.contrib.auth.backends.ModelBackend"


@require_http_methods(["GET", "POST"])
def sign_in_page(request: HttpRequest) -> HttpResponse:
    if own_patient(request.user) is not None:
        return redirect(_next_page(request) or "me:home")
    _keep_next_page(request)
    form = PhoneForm(request.POST or None)
    if request.method != "POST":
        return render(request, "accounts/otp/login.html", {"form": form})
    if not form.is_valid():
        return render(request, "accounts/otp/login.html", {"form": form}, status=400)
    return _ask_for_code(
        request,
        form,
        "accounts/otp/login.html",
        purpose=OtpPurpose.LOGIN,
        clinic=form.cleaned_data["clinic"],
        phone=form.cleaned_data["phone"],
        language=_page_language(),
    )


@require_http_methods(["GET", "POST"])
def register_page(request: HttpRequest) -> HttpResponse:
    if own_patient(request.user) is not None:
        return redirect("me:home")
    _keep_next_page(request)
    form = RegistrationForm(request.POST or None)
    context = {"form": form, "consent_text": CONSENT_TEXT}
    if request.method != "POST":
        return render(request, "accounts/otp/register.html", context)
    if not form.is_valid():
        return render(request, "accounts/otp/register.html", context, status=400)
    response = _ask_for_code(
        request,
        form,
        "accounts/otp/register.html",
        purpose=OtpPurpose.REGISTER,
        clinic=form.cleaned_data["clinic"],
        phone=form.cleaned_data["phone"],
        language=form.cleaned_data["preferred_language"],
        context=context,
    )
    if response.status_code == 302:
        request.session[PENDING] = pending_registration(form)
    return response


@require_http_methods(["GET", "POST"])
def code_page(request: HttpRequest) -> HttpResponse:
    state: dict[str, Any] | None = request.session.get(CHALLENGE)
    if not state:
        return redirect("me:login")
    if request.method == "POST" and "resend" in request.POST:
        return _resend(request, state)
    form = CodeForm(request.POST or None)
    context = _code_context(form, state)
    if request.method != "POST":
        return render(request, "accounts/otp/code.html", context)
    if not form.is_valid():
        return render(request, "accounts/otp/code.html", context, status=400)
    try:
        verified = otp.verify_code(
            challenge_id=state["id"], code=form.cleaned_data["code"], ip=client_ip(request)
        )
    except DomainError as error:
        form.add_error("code", str(error.message))
        context["can_resend"] = error.code != otp.OtpErrorCode.WRONG or not error.details.get("tries_left")
        return render(request, "accounts/otp/code.html", context, status=400)
    del request.session[CHALLENGE]
    if verified.purpose == OtpPurpose.REGISTER:
        return _finish_registration(request, verified)
    return _finish_sign_in(request, verified)


@require_http_methods(["GET", "POST"])
def who_page(request: HttpRequest) -> HttpResponse:
    """Several adults share the verified phone: the holder says which of them he is."""
    try:
        verified = otp.verified_phone(challenge_id=request.session.get(VERIFIED, ""))
        choices = otp.sign_in_choices(verified=verified)
    except DomainError as error:
        request.session.pop(VERIFIED, None)
        messages.error(request, str(error.message))
        return redirect("me:login")
    form = WhoForm(request.POST or None, choices=initials(choices))
    if request.method != "POST":
        return render(request, "accounts/otp/who.html", {"form": form})
    if not form.is_valid():
        return render(request, "accounts/otp/who.html", {"form": form}, status=400)
    try:
        user = otp.sign_in(verified=verified, patient_id=form.cleaned_data["patient"], actor=actor(request))
    except DomainError as error:
        form.add_error(None, str(error.message))
        return render(request, "accounts/otp/who.html", {"form": form}, status=400)
    return _signed_in(request, user)


@require_http_methods(["GET", "HEAD"])
def my_page(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect("me:login")
    patient = own_patient(request.user)
    require(patient is not None)
    assert patient is not None
    children = list(children_of(patient).order_by("birth_date"))
    upcoming = (
        Appointment.objects.active()
        .filter(patient__in=[patient, *children], ends_at__gt=timezone.now())
        .select_related("clinic", "patient", "service", "dentist")
        .order_by("starts_at")
    )
    context = {"patient": patient, "children": children, "appointments": upcoming}
    return render(request, "accounts/otp/home.html", context)


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("me:login")


# Steps of the flow ---------------------------------------------------------------------------------------


def _ask_for_code(
    request: HttpRequest,
    form: PhoneForm,
    template: str,
    *,
    purpose: OtpPurpose,
    clinic: Clinic,
    phone: str,
    language: str,
    context: dict[str, Any] | None = None,
) -> HttpResponse:
    try:
        challenge = otp.request_code(
            phone=phone, purpose=purpose, ip=client_ip(request), clinic=clinic, language=language
        )
    except DomainError as error:
        form.add_error(None, str(error.message))
        return _refused(request, template, context or {"form": form}, error)
    request.session.pop(VERIFIED, None)
    request.session[CHALLENGE] = {
        "id": str(challenge.id),
        "purpose": str(purpose),
        "phone": challenge.phone,
        "clinic": clinic.pk,
        "language": language,
    }
    return redirect("me:code")


def _resend(request: HttpRequest, state: dict[str, Any]) -> HttpResponse:
    clinic = Clinic.objects.filter(pk=state["clinic"]).first()
    if clinic is None:
        request.session.pop(CHALLENGE, None)
        return redirect("me:login")
    try:
        challenge = otp.request_code(
            phone=state["phone"],
            purpose=state["purpose"],
            ip=client_ip(request),
            clinic=clinic,
            language=state["language"],
        )
    except DomainError as error:
        form = CodeForm()
        form.add_error(None, str(error.message))
        context = _code_context(form, state) | {"can_resend": True}
        return _refused(request, "accounts/otp/code.html", context, error)
    request.session[CHALLENGE] = {**state, "id": str(challenge.id)}
    messages.info(request, _("A new code has been asked for. The earlier one no longer works."))
    return redirect("me:code")


def _finish_sign_in(request: HttpRequest, verified: otp.VerifiedPhone) -> HttpResponse:
    choices = otp.sign_in_choices(verified=verified)
    if len(choices) == 1:
        return _signed_in(
            request, otp.sign_in(verified=verified, patient_id=choices[0].pk, actor=actor(request))
        )
    if not choices:  # the record changed since the code was sent
        messages.error(
            request,
            _("Nobody can sign in with this phone number online. Please contact the clinic's registry."),
        )
        return redirect("me:login")
    request.session[VERIFIED] = str(verified.challenge_id)
    return redirect("me:who")


def _finish_registration(request: HttpRequest, verified: otp.VerifiedPhone) -> HttpResponse:
    pending = request.session.pop(PENDING, None)
    if not pending:
        return redirect("me:register")
    try:
        _patient, user = otp.register_self(
            verified=verified,
            data=patient_data_from(pending),
            consent_version=CONSENT_TEXT_VERSION,
            actor=actor(request),
        )
    except DomainError as error:
        # A possible duplicate is not shown to the public: that would tell who is registered.
        reason = "" if error.code == PatientErrorCode.POSSIBLE_DUPLICATE else str(error.message)
        return render(request, "accounts/otp/not_registered.html", {"reason": reason}, status=409)
    messages.success(request, _("You are registered. Welcome!"))
    return _signed_in(request, user)


def _code_context(form: CodeForm, state: dict[str, Any]) -> dict[str, Any]:
    minutes = max(1, settings.NAVBAT_OTP_TTL_SECONDS // 60)
    return {"form": form, "state": state, "phone": masked(state["phone"]), "minutes": minutes}


def _signed_in(request: HttpRequest, user: User) -> HttpResponse:
    target = request.session.get(NEXT) or "me:home"
    login(request, user, backend=SIGN_IN_BACKEND)
    for key in (CHALLENGE, PENDING, VERIFIED, NEXT):
        request.session.pop(key, None)
    patient = own_patient(user)
    if patient is None:
        return redirect(target)
    # A language chosen on this device (the switcher's cookie) is his latest choice: remember it. Else his
    # pages speak the language he chose before, on whatever device, whatever this browser spoke.
    chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
    if chosen in SITE_LANGUAGES:
        set_preferred_language(patient=patient, language=chosen, actor=Actor.of(request))
    translation.activate(patient.preferred_language)
    return remember_language(redirect(target), patient.preferred_language)


def _keep_next_page(request: HttpRequest) -> None:
    """Remember where the visitor was going (?next=, a page of this site only) until he has signed in."""
    if target := _next_page(request):
        request.session[NEXT] = target


def _next_page(request: HttpRequest) -> str | None:
    target = request.GET.get("next", "")
    safe = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return target if target and safe else None


def _refused(
    request: HttpRequest, template: str, context: dict[str, Any], error: DomainError
) -> HttpResponse:
    """A refused request for a code: 429 with Retry-After when it is the rate limit, else 400."""
    if error.code == otp.OtpErrorCode.RATE_LIMITED:
        response = render(request, template, context, status=429)
        response["Retry-After"] = str(error.details["retry_after"])
        return response
    return render(request, template, context, status=400)


# Helpers -------------------------------------------------------------------------------------------------


def _page_language() -> str:
    return (get_language() or settings.LANGUAGE_CODE)[:2]


def actor(request: HttpRequest) -> Actor:
    user = request.user if request.user.is_authenticated else None
    return Actor(user=user, ip=client_ip(request), path=request.path[:200])


def client_ip(request: HttpRequest) -> str | None:
    """The client's address as the sign-in security reads it (NAVBAT_TRUSTED_PROXIES), if it is one."""
    try:
        return str(ipaddress.ip_address(proxied_client_ip(request) or ""))
    except ValueError:
        return None


def masked(phone: str) -> str:
    """Enough of a number for its holder to recognise it: +998 … 67."""
    return f"{phone[:4]} … {phone[-2:]}" if len(phone) > 6 else "…"


def initials(patients: list[Patient]) -> list[tuple[int, str]]:
    """Choices that tell the members of one family apart without spelling out their names: the initials of
    surname and first name, and the year of birth where initials repeat."""
    labels = [f"{p.surname[:1]}. {p.name[:1]}." for p in patients]
    return [
        (p.pk, f"{label} ({p.birth_date.year})" if labels.count(label) > 1 else label)
        for p, label in zip(patients, labels, strict=True)
    ]
